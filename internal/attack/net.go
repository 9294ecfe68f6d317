package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

var netAttacks = map[string]attack{
	"tcp-connect":   {"HOST:PORT", attackTCPConnect, 1},
	"udp-send":      {"HOST:PORT", attackUDPSend, 1},
	"tcp-bind":      {"PORT [SECONDS]", attackTCPBind, 1},
	"unix-connect":  {"PATH", attackUnixConnect, 1},
	"unix-abstract": {"NAME", attackUnixAbstract, 1},
	"af-packet":     {"", attackAFPacket, 0},
	"af-netlink":    {"", attackAFNetlink, 0},
	"af-vsock":      {"", attackAFVsock, 0},
	"af-alg":        {"", attackAFAlg, 0},
	"af-other":      {"", attackAFOther, 0},
	"mptcp":         {"", attackMPTCP, 0},
	"loopback":      {"", taskLoopback, 0},
}

// ipv4Addr parses HOST:PORT with a literal IPv4 host.
func ipv4Addr(s string) (*unix.SockaddrInet4, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IPv4 address", host)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	sa := &unix.SockaddrInet4{Port: p}
	copy(sa.Addr[:], ip)
	return sa, nil
}

// setTimeouts bounds connect, send and receive on fd.
func setTimeouts(fd int, d time.Duration) {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
}

// attackTCPConnect connects to HOST:PORT and sends a line. Escaped: the
// connection was made.
func attackTCPConnect(args []string) outcome {
	sa, err := ipv4Addr(args[0])
	if err != nil {
		return errorf("%v", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return blockedf("socket: %s", errName(err))
	}
	defer unix.Close(fd)
	setTimeouts(fd, 3*time.Second)
	if err := unix.Connect(fd, sa); err != nil {
		return blockedf("connect %s: %s", args[0], errName(err))
	}
	return escapedf("connected to %s; %s", args[0], send(fd))
}

// send writes the payload on a connected socket and says how it went.
func send(fd int) string {
	n, err := unix.Write(fd, []byte(payload))
	if err != nil {
		return "sending: " + errName(err)
	}
	return fmt.Sprintf("sent %d bytes", n)
}

// attackUDPSend sends a datagram to HOST:PORT and waits a second for an
// answer. A datagram can be sent into the void without error, so only the
// answer proves it arrived (the escape tests' listener echoes, and counts
// what it gets). Escaped: an answer came back.
func attackUDPSend(args []string) outcome {
	sa, err := ipv4Addr(args[0])
	if err != nil {
		return errorf("%v", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return blockedf("socket: %s", errName(err))
	}
	defer unix.Close(fd)
	setTimeouts(fd, time.Second)
	if err := unix.Sendto(fd, []byte(payload), 0, sa); err != nil {
		return blockedf("sendto %s: %s", args[0], errName(err))
	}
	buf := make([]byte, 64)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return blockedf("sent to %s; no answer: %s", args[0], errName(err))
	}
	return escapedf("sent to %s and got %d bytes back", args[0], n)
}

// attackTCPBind listens on 0.0.0.0:PORT and waits SECONDS (default 0) for a
// connection. In a network namespace of its own a listener is reachable by
// nobody outside, so the bind alone is not the escape. Escaped: a
// connection arrived.
func attackTCPBind(args []string) outcome {
	port, err := strconv.Atoi(args[0])
	if err != nil {
		return errorf("bad port %q", args[0])
	}
	wait := 0
	if len(args) > 1 {
		if wait, err = strconv.Atoi(args[1]); err != nil {
			return errorf("bad seconds %q", args[1])
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return blockedf("socket: %s", errName(err))
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port}); err != nil {
		return blockedf("bind 0.0.0.0:%d: %s", port, errName(err))
	}
	if err := unix.Listen(fd, 8); err != nil {
		return blockedf("listen on %d: %s", port, errName(err))
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		left := time.Until(deadline)
		if left < 0 {
			left = 0
		}
		n, err := unix.Poll(fds, int(left.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return errorf("poll: %s", errName(err))
		}
		if n > 0 {
			c, peer, err := unix.Accept(fd)
			if err == nil {
				unix.Close(c)
				return escapedf("listening on 0.0.0.0:%d, accepted a connection from %s", port, sockaddrString(peer))
			}
		}
		if left == 0 {
			return blockedf("listening on 0.0.0.0:%d in a network namespace of its own: no connection arrived in %ds", port, wait)
		}
	}
}

func sockaddrString(sa unix.Sockaddr) string {
	if in, isV4 := sa.(*unix.SockaddrInet4); isV4 {
		return fmt.Sprintf("%s:%d", net.IP(in.Addr[:]), in.Port)
	}
	return fmt.Sprintf("%v", sa)
}

// attackUnixConnect connects to the unix socket at PATH (outside the
// workspace: a host daemon's socket, say) and sends a line. Escaped: the
// connection was made.
func attackUnixConnect(args []string) outcome {
	return unixConnect(args[0], args[0])
}

// attackUnixAbstract connects to the abstract unix socket NAME, which lives
// in the network namespace, not the filesystem. Escaped: the connection
// was made.
func attackUnixAbstract(args []string) outcome {
	return unixConnect("@"+args[0], "abstract socket @"+args[0])
}

func unixConnect(name, what string) outcome {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return blockedf("socket: %s", errName(err))
	}
	defer unix.Close(fd)
	setTimeouts(fd, 3*time.Second)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		return blockedf("connect %s: %s", what, errName(err))
	}
	return escapedf("connected to %s; %s", what, send(fd))
}

// rawSocket calls socket(2) directly so that junk can be put in the upper 32
// bits of the family, which the kernel ignores (the argument is an int) and
// a filter comparing 64 bits would not.
func rawSocket(family uint64, typ, proto int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(typ|unix.SOCK_CLOEXEC), uintptr(proto))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// trySocket records whether a socket could be created.
func trySocket(a *attempts, step string, family uint64, typ, proto int) {
	fd, err := rawSocket(family, typ, proto)
	if err != nil {
		a.deny(step, err)
		return
	}
	unix.Close(fd)
	a.got(step, "created")
}

// highJunk is set in the upper half of int arguments to test filters.
const highJunk = 0xdeadbeef00000000

// attackAFPacket opens a raw packet socket, which sees and forges every
// frame of an interface. Escaped: it was created.
func attackAFPacket([]string) outcome {
	var a attempts
	proto := int(htons(unix.ETH_P_ALL))
	trySocket(&a, "AF_PACKET SOCK_RAW", unix.AF_PACKET, unix.SOCK_RAW, proto)
	trySocket(&a, "AF_PACKET SOCK_DGRAM", unix.AF_PACKET, unix.SOCK_DGRAM, proto)
	trySocket(&a, "AF_PACKET|junk<<32", highJunk|unix.AF_PACKET, unix.SOCK_RAW, proto)
	trySocket(&a, "AF_INET SOCK_RAW", unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	return a.outcome()
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// attackAFNetlink opens netlink sockets: routing (unprivileged, and a large
// attack surface), audit and kernel uevents. Escaped: any was created.
func attackAFNetlink([]string) outcome {
	var a attempts
	trySocket(&a, "NETLINK_ROUTE", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	trySocket(&a, "NETLINK_ROUTE|junk<<32", highJunk|unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE)
	trySocket(&a, "NETLINK_AUDIT", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT)
	trySocket(&a, "NETLINK_KOBJECT_UEVENT", unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_KOBJECT_UEVENT)
	trySocket(&a, "NETLINK_NETFILTER", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_NETFILTER)
	return a.outcome()
}

// attackAFVsock opens a vsock socket, a channel to the hypervisor that no
// network namespace confines. Nothing is connected: a host's vsock ports
// may be its control plane. Escaped: the socket was created.
func attackAFVsock([]string) outcome {
	var a attempts
	trySocket(&a, "AF_VSOCK SOCK_STREAM", unix.AF_VSOCK, unix.SOCK_STREAM, 0)
	trySocket(&a, "AF_VSOCK SOCK_DGRAM", unix.AF_VSOCK, unix.SOCK_DGRAM, 0)
	return a.outcome()
}

// attackAFAlg opens a kernel crypto API socket, a frequent home of kernel
// bugs. Escaped: it was created.
func attackAFAlg([]string) outcome {
	var a attempts
	trySocket(&a, "AF_ALG", unix.AF_ALG, unix.SOCK_SEQPACKET, 0)
	return a.outcome()
}

// otherFamilies are address families a sandboxed build or test never needs;
// several have had exploitable kernel bugs.
var otherFamilies = []struct {
	name   string
	family int
}{
	{"AF_KEY", unix.AF_KEY}, {"AF_APPLETALK", unix.AF_APPLETALK}, {"AF_X25", unix.AF_X25},
	{"AF_AX25", unix.AF_AX25}, {"AF_NETROM", unix.AF_NETROM}, {"AF_ROSE", unix.AF_ROSE},
	{"AF_DECnet", unix.AF_DECnet}, {"AF_IPX", unix.AF_IPX}, {"AF_LLC", unix.AF_LLC},
	{"AF_CAN", unix.AF_CAN}, {"AF_TIPC", unix.AF_TIPC}, {"AF_BLUETOOTH", unix.AF_BLUETOOTH},
	{"AF_RXRPC", unix.AF_RXRPC}, {"AF_PHONET", unix.AF_PHONET}, {"AF_IEEE802154", unix.AF_IEEE802154},
	{"AF_CAIF", unix.AF_CAIF}, {"AF_NFC", unix.AF_NFC}, {"AF_KCM", unix.AF_KCM},
	{"AF_QIPCRTR", unix.AF_QIPCRTR}, {"AF_SMC", unix.AF_SMC}, {"AF_XDP", unix.AF_XDP},
	{"AF_MCTP", unix.AF_MCTP}, {"AF_RDS", unix.AF_RDS}, {"AF_PPPOX", unix.AF_PPPOX},
	{"AF_ATMPVC", unix.AF_ATMPVC}, {"AF_ATMSVC", unix.AF_ATMSVC}, {"AF_ISDN", unix.AF_ISDN},
	{"AF_IUCV", unix.AF_IUCV}, {"AF_NETBEUI", unix.AF_NETBEUI}, {"AF_SNA", unix.AF_SNA},
	{"AF_WANPIPE", unix.AF_WANPIPE}, {"AF_ECONET", unix.AF_ECONET}, {"AF_BRIDGE", unix.AF_BRIDGE},
}

// attackAFOther tries every other address family with each socket type.
// Escaped: any socket was created. Families the kernel lacks answer
// EAFNOSUPPORT either way; what matters on a given host is the ones it has.
func attackAFOther([]string) outcome {
	var a attempts
	var absent []string
	for _, f := range otherFamilies {
		created := false
		var last error
		for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_STREAM, unix.SOCK_RAW, unix.SOCK_SEQPACKET} {
			fd, err := rawSocket(uint64(f.family), typ, 0)
			if err == nil {
				unix.Close(fd)
				created = true
				break
			}
			if last == nil || err != unix.EAFNOSUPPORT {
				last = err
			}
		}
		switch {
		case created:
			a.got(f.name, "created")
		case last == unix.EAFNOSUPPORT:
			absent = append(absent, f.name)
		default:
			a.deny(f.name, last)
		}
	}
	if len(absent) > 0 {
		a.note("EAFNOSUPPORT", "%s", strings.Join(absent, ","))
	}
	return a.outcome()
}

// attackMPTCP opens a multipath TCP socket, newer code with a record of
// bugs that ordinary programs do not ask for. Escaped: it was created.
func attackMPTCP([]string) outcome {
	var a attempts
	trySocket(&a, "IPPROTO_MPTCP", unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_MPTCP)
	trySocket(&a, "IPPROTO_MPTCP v6", unix.AF_INET6, unix.SOCK_STREAM, unix.IPPROTO_MPTCP)
	return a.outcome()
}

// taskLoopback is an ordinary task, not an attack: a TCP server and client
// talking over the loopback interface, as a test suite's local server does.
// OK: a line went there and back.
func taskLoopback([]string) outcome {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return outcome{failed, "listen: " + errName(err)}
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Write(buf[:n])
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
	if err != nil {
		return outcome{failed, "connect: " + errName(err)}
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return outcome{failed, "write: " + err.Error()}
	}
	buf := make([]byte, 4)
	if _, err := c.Read(buf); err != nil || string(buf) != "ping" {
		return outcome{failed, fmt.Sprintf("echo: %q %v", buf, err)}
	}
	return outcome{ok, "echoed over " + ln.Addr().String()}
}
