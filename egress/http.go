package egress

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

// errHeadTooLarge is returned for a request head over maxHeaderBytes.
var errHeadTooLarge = errors.New("request head too large")

// ServeHTTP serves one client connection speaking the HTTP proxy protocol:
// CONNECT host:port opens a tunnel, and absolute-form requests
// ("GET http://host/path") are forwarded, one upstream connection per
// request, with hop-by-hop headers and Proxy-Authorization removed and
// redirects passed back, not followed. The client connection is kept alive
// between plain requests. It closes c before returning, and emits one Event
// per request.
func (p *Proxy) ServeHTTP(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer closeOnDone(ctx, c)()

	ic := newIdleConn(c, p.idleTimeout())
	br := bufio.NewReaderSize(ic, 4096)
	wait := p.timeout()
	for {
		// The first request head must come within the handshake timeout;
		// later ones within the idle timeout of a keep-alive connection.
		// Bodies and responses then move under the idle timeout.
		ic.hold(time.Now().Add(wait))
		wait = p.idleTimeout()
		head, hostHeader, err := readHead(br)
		ic.resume()
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				ev := Event{Time: time.Now(), Proto: "http", Decision: Deny, Reason: err.Error()}
				writeRefusal(c, http.StatusRequestHeaderFieldsTooLarge, ev.Reason)
				p.emit(&ev, err)
			}
			return // the client went away or stopped talking
		}
		// The head alone goes to ReadRequest; the body is read from br
		// below, so nothing of a pipelined next request is consumed.
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			ev := Event{Time: time.Now(), Proto: "http", Decision: Deny, Reason: "malformed request: " + err.Error()}
			writeRefusal(c, http.StatusBadRequest, ev.Reason)
			p.emit(&ev, err)
			return
		}
		if req.Method == http.MethodConnect {
			p.serveConnect(ctx, c, br, req)
			return
		}
		if !p.forward(ctx, ic, br, req, hostHeader) {
			return
		}
	}
}

// readHead reads a request head up to and including its blank line,
// bounded by maxHeaderBytes, and returns the Host header's value
// (ReadRequest discards it for absolute-form requests, and the proxy must
// compare it with the URL).
func readHead(br *bufio.Reader) (head []byte, host string, err error) {
	lineStart, hosts := 0, 0
	for {
		frag, err := br.ReadSlice('\n')
		head = append(head, frag...)
		if len(head) > maxHeaderBytes {
			return nil, "", errHeadTooLarge
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		line := strings.TrimRight(string(head[lineStart:]), "\r\n")
		if line == "" {
			if lineStart == 0 {
				head = head[:0] // RFC 9112 §2.2: ignore blank lines before a request
				continue
			}
			if hosts > 1 {
				return head, "", nil // ReadRequest refuses several Host headers
			}
			return head, host, nil
		}
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "host") {
			host = strings.TrimSpace(value)
			hosts++
		}
		lineStart = len(head)
	}
}

// serveConnect opens a tunnel for a CONNECT request.
func (p *Proxy) serveConnect(ctx context.Context, c net.Conn, br *bufio.Reader, req *http.Request) {
	ev := Event{Time: time.Now(), Proto: "connect"}
	host, portText, err := net.SplitHostPort(req.Host)
	if err != nil {
		ev.Decision, ev.Reason = Deny, fmt.Sprintf("CONNECT target %q: want host:port", req.Host)
		writeRefusal(c, http.StatusBadRequest, ev.Reason)
		p.emit(&ev, err)
		return
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port, _ := strconv.Atoi(portText)
	up, derr := p.open(ctx, &ev, host, port)
	if derr != nil {
		writeRefusal(c, httpStatus(derr.kind), derr.Error())
		p.emit(&ev, derr)
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		p.emit(&ev, fmt.Errorf("connect reply: %w", err))
		return
	}
	// A client may send its first bytes (a TLS ClientHello) right behind
	// the CONNECT; they are in br already.
	p.tunnel(&ev, c, br, up)
}

// hopHeaders are meaningful for one connection only (RFC 9110 §7.6.1) and
// are not forwarded; Proxy-Authorization is the client's credential for
// this proxy and must never reach a destination.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Expect",
}

func stripHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// forward serves one absolute-form request and reports whether the client
// connection may carry another.
func (p *Proxy) forward(ctx context.Context, c net.Conn, br *bufio.Reader, req *http.Request, hostHeader string) bool {
	ev := Event{Time: time.Now(), Proto: "http"}
	refuse := func(status int, reason string, err error) bool {
		ev.Decision, ev.Reason = Deny, reason
		writeRefusal(c, status, reason)
		p.emit(&ev, err)
		return false
	}
	u := req.URL
	if !u.IsAbs() || u.Host == "" {
		return refuse(http.StatusBadRequest, "not a proxy request: want an absolute URL (http://host/path)", nil)
	}
	if u.Scheme != "http" {
		return refuse(http.StatusBadRequest, fmt.Sprintf("scheme %q not proxied: use CONNECT for https", u.Scheme), nil)
	}
	host, port, err := authority(u.Host)
	if err != nil {
		ev.Host = u.Host
		return refuse(http.StatusForbidden, err.Error(), err)
	}
	// A Host header naming another server than the URL would let the
	// destination route the request somewhere the rules never saw.
	if hostHeader != "" {
		hh, hp, err := authority(hostHeader)
		if err != nil || hh != host || hp != port {
			ev.Host, ev.Port = host, port
			return refuse(http.StatusForbidden, fmt.Sprintf("Host header %q does not match the URL host %q", hostHeader, u.Host), nil)
		}
	}
	clientClose := req.Close

	up, derr := p.open(ctx, &ev, host, port)
	if derr != nil {
		writeRefusal(c, httpStatus(derr.kind), derr.Error())
		p.emit(&ev, derr)
		return false
	}
	defer up.Close()
	cu := &countingConn{Conn: newIdleConn(up, p.idleTimeout())}

	// The body is read from the client's stream, framed as the head says.
	switch {
	case len(req.TransferEncoding) > 0:
		req.Body = io.NopCloser(httputil.NewChunkedReader(br))
	case req.ContentLength > 0:
		req.Body = io.NopCloser(io.LimitReader(br, req.ContentLength))
	default:
		req.Body = http.NoBody
	}
	stripHopHeaders(req.Header)
	req.Host = u.Host
	req.RequestURI = ""
	req.Close = true // one request per upstream connection
	if err := req.Write(cu); err != nil {
		writeRefusal(c, http.StatusBadGateway, "sending the request: "+err.Error())
		p.finish(&ev, cu, err)
		return false
	}
	ubr := bufio.NewReader(cu)
	resp, err := http.ReadResponse(ubr, req)
	// Informational responses (103 Early Hints) precede the real one;
	// pass them on. 101 cannot come: Upgrade was not forwarded.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		stripHopHeaders(resp.Header)
		if err = resp.Write(c); err == nil {
			resp, err = http.ReadResponse(ubr, req)
		}
	}
	if err != nil {
		writeRefusal(c, http.StatusBadGateway, "reading the response: "+err.Error())
		p.finish(&ev, cu, err)
		return false
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body.Close()
		writeRefusal(c, http.StatusBadGateway, "the destination switched protocols without an Upgrade request")
		p.finish(&ev, cu, errors.New("unexpected 101 response"))
		return false
	}
	defer resp.Body.Close()
	stripHopHeaders(resp.Header)
	// Without a length, the body ends when the connection does, so the
	// client connection cannot carry another response after it.
	resp.Close = clientClose || (resp.ContentLength < 0 && len(resp.TransferEncoding) == 0)
	err = resp.Write(c)
	p.finish(&ev, cu, err)
	return err == nil && !resp.Close
}

// finish records the bytes an upstream connection moved and emits ev.
func (p *Proxy) finish(ev *Event, cu *countingConn, err error) {
	ev.BytesUp, ev.BytesDown = cu.written, cu.read
	p.emit(ev, err)
}

// authority normalises "host[:port]" from a URL or Host header, port 80 by
// default.
func authority(s string) (string, int, error) {
	h, port, err := splitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("host %q: %w", s, err)
	}
	if port == 0 {
		port = 80
	}
	d, err := parseHost(h)
	if err != nil {
		return "", 0, err
	}
	if d.addr.IsValid() && d.addr.Is6() {
		return "[" + d.String() + "]", port, nil
	}
	return d.String(), port, nil
}

func httpStatus(k failKind) int {
	switch k {
	case failPolicy, failBadRequest:
		return http.StatusForbidden
	case failUnreachable, failRefused:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// writeRefusal answers with status, the reason in X-Cordon-Reason and a
// short text body, and asks the client to close.
func writeRefusal(w io.Writer, status int, reason string) {
	reason = headerSafe(reason)
	body := "cordon egress: " + reason + "\n"
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nX-Cordon-Reason: %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), reason, len(body), body)
}

// headerSafe keeps a reason, which may quote client input, from breaking
// out of its header line.
func headerSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > 512 {
		b = append(b[:509], "..."...)
	}
	return string(b)
}

// countingConn counts the bytes of one upstream connection. It is used by
// one goroutine at a time.
type countingConn struct {
	net.Conn
	read, written int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read += int64(n)
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written += int64(n)
	return n, err
}
