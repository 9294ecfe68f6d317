package linux

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// In NetworkProxy mode the sandbox's only way out is two listening sockets
// the init opens inside the sandbox's network namespace, on 127.0.0.1 at
// the proxy ports. The init does not relay bytes: it accepts each
// connection and passes the connected socket itself to the parent over a
// unix socket (SCM_RIGHTS), where the proxy then speaks on it directly.
// So no helper binary runs, no port is opened on the host, and the proxy
// sees exactly the connection the command made.

// fdRelay is the init's end of the socket that carries connections out.
const fdRelay = 5

// Protocol bytes sent with each connection.
const (
	relayHTTP   = 'h'
	relaySOCKS5 = 's'
)

// startProxyListeners opens the proxy ports inside the namespace (loopback
// must be up) and passes every connection to the parent. The accept loops
// run on threads the init never restricts, for as long as the init lives.
func startProxyListeners() error {
	for _, l := range []struct {
		port  int
		proto byte
	}{{3128, relayHTTP}, {1080, relaySOCKS5}} {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("proxy socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: l.port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return fmt.Errorf("bind 127.0.0.1:%d: %w", l.port, err)
		}
		if err := unix.Listen(fd, 128); err != nil {
			return fmt.Errorf("listen on 127.0.0.1:%d: %w", l.port, err)
		}
		go acceptLoop(fd, l.proto)
	}
	return nil
}

func acceptLoop(lfd int, proto byte) {
	for {
		nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNABORTED {
			continue
		}
		if err != nil {
			return
		}
		err = unix.Sendmsg(fdRelay, []byte{proto}, unix.UnixRights(nfd), nil, 0)
		unix.Close(nfd)
		if err != nil {
			return // the parent is gone; the run is ending
		}
	}
}

// newRelay makes the socket pair that carries connections out of the
// sandbox: the init gets child as fdRelay.
func newRelay() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("relay socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "relay"), os.NewFile(uintptr(fds[1]), "relay-init"), nil
}

// receiveConns hands each connection the init passes out to connect, until
// the init's end closes.
func receiveConns(relay *os.File, connect func(proto string, c net.Conn)) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	fd := int(relay.Fd())
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			continue
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			for _, f := range fds {
				unix.Close(f)
			}
			continue
		}
		f := os.NewFile(uintptr(fds[0]), "sandbox-conn")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			continue
		}
		proto := "http"
		if buf[0] == relaySOCKS5 {
			proto = "socks5"
		}
		go connect(proto, c)
	}
}
