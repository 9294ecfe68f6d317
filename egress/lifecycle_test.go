package egress

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// tcpServer runs handle for each connection to a loopback listener.
func tcpServer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// connectThrough opens a CONNECT tunnel to target through the HTTP proxy.
func connectThrough(t testing.TB, proxyAddr, target string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT %s: %s (%s)", target, resp.Status, resp.Header.Get("X-Cordon-Reason"))
	}
	return c, br
}

func TestTunnelHalfClose(t *testing.T) {
	checkGoroutines(t)
	srv := tcpServer(t, func(c net.Conn) {
		b, _ := io.ReadAll(c) // until the client's half-close
		io.WriteString(c, "read "+string(b))
	})
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"half.test"}, AllowPrivate: loopbackOnly}, mapResolver{"half.test": {"127.0.0.1"}})
	c, br := connectThrough(t, startProxy(t, p, "http"), "half.test:"+portOf(t, srv))
	defer c.Close()
	io.WriteString(c, "ping")
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(br)
	if err != nil || string(got) != "read ping" {
		t.Fatalf("got %q, %v", got, err)
	}
	ev := rec.waitEvents(t, 1)[0]
	if ev.BytesUp != 4 || ev.BytesDown != 9 || ev.Err != "" {
		t.Errorf("event %+v", ev)
	}
}

func TestTunnelIdleTimeout(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	defer close(release)
	srv := tcpServer(t, func(c net.Conn) { <-release }) // never says anything
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"quiet.test"}, AllowPrivate: loopbackOnly}, mapResolver{"quiet.test": {"127.0.0.1"}})
	p.IdleTimeout = 300 * time.Millisecond
	c, br := connectThrough(t, startProxy(t, p, "http"), "quiet.test:"+portOf(t, srv))
	defer c.Close()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("read on an idle tunnel: %v, want the proxy to close it", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("idle tunnel closed after %v", d)
	}
	rec.waitEvents(t, 1)
}

func TestTunnelKeptAliveByTraffic(t *testing.T) {
	checkGoroutines(t)
	srv := tcpServer(t, func(c net.Conn) {
		// One byte every 100ms for a second: never idle for 300ms.
		for range 10 {
			time.Sleep(100 * time.Millisecond)
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	})
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"drip.test"}, AllowPrivate: loopbackOnly}, mapResolver{"drip.test": {"127.0.0.1"}})
	p.IdleTimeout = 300 * time.Millisecond
	c, br := connectThrough(t, startProxy(t, p, "http"), "drip.test:"+portOf(t, srv))
	defer c.Close()
	got, _ := io.ReadAll(br)
	if len(got) != 10 {
		t.Errorf("got %d bytes of 10 before the tunnel closed", len(got))
	}
	rec.waitEvents(t, 1)
}

// TestServeShutdown cancels the context under an open tunnel and a half-sent
// request: Serve must return, and every goroutine end.
func TestServeShutdown(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	defer close(release)
	srv := tcpServer(t, func(c net.Conn) { <-release })
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"hold.test"}, AllowPrivate: loopbackOnly}, mapResolver{"hold.test": {"127.0.0.1"}})
	for _, proto := range []string{"http", "socks5"} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Serve(ctx, l, proto) }()
		var tunnel net.Conn
		if proto == "http" {
			tunnel, _ = connectThrough(t, l.Addr().String(), "hold.test:"+portOf(t, srv))
		} else {
			tunnel, err = net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
		}
		defer tunnel.Close()
		partial, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer partial.Close()
		io.WriteString(partial, "CONN")
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: Serve returned %v", proto, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Serve did not return after cancel", proto)
		}
		tunnel.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := tunnel.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("%s: tunnel still open after shutdown: %v", proto, err)
		}
	}
	rec.waitEvents(t, 1)
}

// TestHandshakeTimeout: a client that starts a request and stalls is cut
// off after Timeout, on both protocols.
func TestHandshakeTimeout(t *testing.T) {
	checkGoroutines(t)
	rec := &recorder{}
	p := newProxy(rec, Rules{}, mapResolver{})
	p.Timeout = 200 * time.Millisecond
	for _, tt := range []struct{ proto, partial string }{
		{"http", "GET http://slow.test/ HTTP/1.1\r\nX-Slow: "},
		{"socks5", "\x05\x01\x00\x05\x01\x00\x03"},
	} {
		c, err := net.Dial("tcp", startProxy(t, p, tt.proto))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, tt.partial)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(c)
		c.Close()
		if err != nil || time.Since(start) > 2*time.Second {
			t.Errorf("%s: stalled handshake ended after %v with %v, want closed by the proxy", tt.proto, time.Since(start), err)
		}
	}
}
