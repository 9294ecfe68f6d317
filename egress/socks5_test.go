package egress

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

// socksRequest sends a greeting and one request, raw, and returns the reply
// code (or the method byte if the method was refused).
func socksRequest(t *testing.T, addr string, methods []byte, req []byte) byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	greeting := append([]byte{5, byte(len(methods))}, methods...)
	if _, err := c.Write(greeting); err != nil {
		t.Fatal(err)
	}
	var m [2]byte
	if _, err := io.ReadFull(c, m[:]); err != nil {
		t.Fatal(err)
	}
	if m[1] != 0 {
		return m[1]
	}
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:4]); err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	return rep[1]
}

// socksConnect asks for a CONNECT to host (sent as a domain name) and port.
func socksConnect(t *testing.T, addr, host, port string) byte {
	t.Helper()
	p, _ := strconv.Atoi(port)
	req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
	req = binary.BigEndian.AppendUint16(req, uint16(p))
	return socksRequest(t, addr, []byte{0}, req)
}

func TestSOCKS5EndToEnd(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"allowed.test"}, AllowPrivate: loopbackOnly}, mapResolver{"allowed.test": {"127.0.0.1"}})
	addr := startProxy(t, p, "socks5")

	// x/net/proxy sends names as names: the proxy resolves them.
	d, err := proxy.SOCKS5("tcp", addr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get("http://allowed.test:" + port + "/socks")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(string(body), "/socks") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	tr.CloseIdleConnections()
	ev := rec.waitEvents(t, 1)[0]
	if ev.Proto != "socks5" || ev.Decision != Allow || ev.Host != "allowed.test" || ev.Addr != "127.0.0.1:"+port || ev.BytesUp == 0 || ev.BytesDown == 0 {
		t.Errorf("event %+v", ev)
	}

	// Refused through the same client: the dial fails.
	if _, err := d.(proxy.ContextDialer).DialContext(context.Background(), "tcp", "nobody.test:80"); err == nil {
		t.Error("dial to an unknown host succeeded")
	}
	rec.waitEvents(t, 2)
}

func TestSOCKS5Replies(t *testing.T) {
	checkGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := portOf(t, l.Addr().String())
	l.Close()
	cp, _ := strconv.Atoi(closedPort)
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"closed.test", "gone.test", "denied.test"}, Deny: []string{"denied.test"}, AllowPrivate: loopbackOnly},
		mapResolver{"closed.test": {"127.0.0.1"}, "denied.test": {"127.0.0.1"}})
	addr := startProxy(t, p, "socks5")
	port := func(b []byte) []byte { return binary.BigEndian.AppendUint16(b, uint16(cp)) }
	tests := []struct {
		name    string
		methods []byte
		req     []byte
		want    byte
		events  int
	}{
		{"no acceptable method", []byte{2}, nil, 0xff, 0},
		{"denied", []byte{0}, port(append([]byte{5, 1, 0, 3, 11}, "denied.test"...)), socksNotAllowed, 1},
		{"ipv4 literal", []byte{0}, port([]byte{5, 1, 0, 1, 127, 0, 0, 1}), socksNotAllowed, 1},
		{"ipv6 literal", []byte{0}, port(append([]byte{5, 1, 0, 4}, net.IPv6loopback...)), socksNotAllowed, 1},
		{"odd literal as name", []byte{0}, port(append([]byte{5, 1, 0, 3, 10}, "2130706433"...)), socksNotAllowed, 1},
		{"connection refused", []byte{2, 0}, port(append([]byte{5, 1, 0, 3, 11}, "closed.test"...)), socksConnectionRefused, 1},
		{"unresolvable", []byte{0}, port(append([]byte{5, 1, 0, 3, 9}, "gone.test"...)), socksHostUnreachable, 1},
		{"bind", []byte{0}, port(append([]byte{5, 2, 0, 3, 11}, "closed.test"...)), socksCmdNotSupported, 1},
		{"udp associate", []byte{0}, port([]byte{5, 3, 0, 1, 0, 0, 0, 0}), socksCmdNotSupported, 1},
		{"address type 5", []byte{0}, []byte{5, 1, 0, 5, 0, 0}, socksAtypNotSupported, 1},
	}
	events := 0
	for _, tt := range tests {
		if got := socksRequest(t, addr, tt.methods, tt.req); got != tt.want {
			t.Errorf("%s: reply %#x, want %#x", tt.name, got, tt.want)
		}
		events += tt.events
	}
	rec.waitEvents(t, events)
	if d := rec.dials(); len(d) != 1 || d[0] != "127.0.0.1:"+closedPort {
		t.Errorf("dialled %v, want only the allowed closed.test", d)
	}
}

// FuzzSOCKSRequest feeds arbitrary bytes to the SOCKS5 handshake parser.
func FuzzSOCKSRequest(f *testing.F) {
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x0bexample.com\x01\xbb"))
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"))
	f.Add([]byte("\x05\x02\x02\x00\x05\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x50"))
	f.Fuzz(func(t *testing.T, b []byte) {
		host, port, rep, err := readSOCKSRequest(bufio.NewReader(bytes.NewReader(b)), io.Discard)
		if err == nil && (rep != 0 || port < 0 || port > 65535) {
			t.Fatalf("accepted %q:%d with reply %d", host, port, rep)
		}
	})
}
