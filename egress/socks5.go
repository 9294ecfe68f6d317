package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// SOCKS5 constants from RFC 1928.
const (
	socksVersion = 5

	socksMethodNone         = 0x00
	socksMethodNoAcceptable = 0xff

	socksCmdConnect = 0x01

	socksAtypIPv4   = 0x01
	socksAtypDomain = 0x03
	socksAtypIPv6   = 0x04

	socksSucceeded         = 0x00
	socksGeneralFailure    = 0x01
	socksNotAllowed        = 0x02 // connection not allowed by ruleset
	socksHostUnreachable   = 0x04
	socksConnectionRefused = 0x05
	socksCmdNotSupported   = 0x07
	socksAtypNotSupported  = 0x08
	socksReplyHeaderLen    = 4
)

// ServeSOCKS5 serves one client connection speaking SOCKS5 (RFC 1928) with
// no authentication and the CONNECT command only. Domain-name destinations
// are resolved by the proxy, never by the client. It closes c before
// returning and emits one Event for the request, if one was read.
func (p *Proxy) ServeSOCKS5(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer closeOnDone(ctx, c)()

	// The handshake is bounded in time; the tunnel after it is bounded by
	// idleness instead.
	c.SetDeadline(time.Now().Add(p.timeout()))
	br := bufio.NewReaderSize(c, 512)
	host, port, rep, err := readSOCKSRequest(br, c)
	if err != nil {
		if rep != 0 {
			writeSOCKSReply(c, rep, nil)
		}
		if rep == 0 {
			return // no request was read: no attempt to report
		}
		ev := Event{Time: time.Now(), Proto: "socks5", Host: host, Port: port, Decision: Deny, Reason: err.Error()}
		p.emit(&ev, err)
		return
	}

	// Asking a person may take longer than the handshake timeout; the
	// reply must still be writable afterwards.
	c.SetDeadline(time.Now().Add(p.idleTimeout()))
	ev := Event{Time: time.Now(), Proto: "socks5"}
	up, derr := p.open(ctx, &ev, host, port)
	if derr != nil {
		writeSOCKSReply(c, socksReplyCode(derr.kind), nil)
		p.emit(&ev, derr)
		return
	}
	defer up.Close()
	if err := writeSOCKSReply(c, socksSucceeded, up.LocalAddr()); err != nil {
		p.emit(&ev, fmt.Errorf("socks5 reply: %w", err))
		return
	}
	// Bytes the client sent after its request, before our reply, are
	// already in br; tunnel passes them on first.
	p.tunnel(&ev, c, br, up)
}

// readSOCKSRequest runs the method negotiation and reads the request. On
// failure, rep is the reply code to send, or 0 if none is owed.
func readSOCKSRequest(br *bufio.Reader, w io.Writer) (host string, port int, rep byte, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return "", 0, 0, fmt.Errorf("socks5 greeting: %w", err)
	}
	if hdr[0] != socksVersion {
		return "", 0, 0, fmt.Errorf("socks5 greeting: version %d", hdr[0])
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(br, methods); err != nil {
		return "", 0, 0, fmt.Errorf("socks5 greeting: %w", err)
	}
	method := byte(socksMethodNoAcceptable)
	for _, m := range methods {
		if m == socksMethodNone {
			method = socksMethodNone
		}
	}
	if _, err := w.Write([]byte{socksVersion, method}); err != nil {
		return "", 0, 0, fmt.Errorf("socks5 method reply: %w", err)
	}
	if method == socksMethodNoAcceptable {
		return "", 0, 0, errors.New("socks5: client offers no acceptable method (only no-auth is served)")
	}

	var req [4]byte
	if _, err := io.ReadFull(br, req[:]); err != nil {
		return "", 0, 0, fmt.Errorf("socks5 request: %w", err)
	}
	if req[0] != socksVersion {
		return "", 0, socksGeneralFailure, fmt.Errorf("socks5 request: version %d", req[0])
	}
	switch req[3] {
	case socksAtypIPv4, socksAtypIPv6:
		b := make([]byte, 4)
		if req[3] == socksAtypIPv6 {
			b = make([]byte, 16)
		}
		if _, err := io.ReadFull(br, b); err != nil {
			return "", 0, 0, fmt.Errorf("socks5 request: %w", err)
		}
		a, _ := netip.AddrFromSlice(b)
		host = a.String()
		if a.Is6() {
			host = "[" + host + "]"
		}
	case socksAtypDomain:
		n, err := br.ReadByte()
		if err != nil {
			return "", 0, 0, fmt.Errorf("socks5 request: %w", err)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return "", 0, 0, fmt.Errorf("socks5 request: %w", err)
		}
		host = string(b)
	default:
		return "", 0, socksAtypNotSupported, fmt.Errorf("socks5: address type %d not supported", req[3])
	}
	var pb [2]byte
	if _, err := io.ReadFull(br, pb[:]); err != nil {
		return "", 0, 0, fmt.Errorf("socks5 request: %w", err)
	}
	port = int(pb[0])<<8 | int(pb[1])
	if req[1] != socksCmdConnect {
		return host, port, socksCmdNotSupported, fmt.Errorf("socks5: command %d not supported (only CONNECT)", req[1])
	}
	return host, port, 0, nil
}

func socksReplyCode(k failKind) byte {
	switch k {
	case failPolicy, failBadRequest:
		// A host that cannot be read is refused by the rules too: no
		// rule can allow it.
		return socksNotAllowed
	case failRefused:
		return socksConnectionRefused
	case failUnreachable:
		return socksHostUnreachable
	}
	return socksGeneralFailure
}

// writeSOCKSReply sends a reply; bound is the proxy's outgoing address on
// success, nil (reported as 0.0.0.0:0) otherwise.
func writeSOCKSReply(w io.Writer, rep byte, bound net.Addr) error {
	b := []byte{socksVersion, rep, 0, socksAtypIPv4, 0, 0, 0, 0, 0, 0}
	if ta, ok := bound.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		a := ap.Addr().Unmap()
		b = b[:socksReplyHeaderLen]
		if a.Is4() {
			b = append(b, a.AsSlice()...)
		} else {
			b[3] = socksAtypIPv6
			b = append(b, a.AsSlice()...)
		}
		b = append(b, byte(ap.Port()>>8), byte(ap.Port()))
	}
	_, err := w.Write(b)
	return err
}

// quietRelayError drops the errors a relay ends with when either side
// simply went away, so Event.Err means something went wrong.
func quietRelayError(err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
