package egress

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/proxy"
)

const benchTransfer = 64 << 20

// benchProxy allows bench.test on loopback and counts events cheaply.
func benchProxy(b *testing.B) *Proxy {
	var d net.Dialer
	return &Proxy{
		Rules:    Rules{Allow: []string{"bench.test"}, AllowPrivate: loopbackOnly},
		Resolver: mapResolver{"bench.test": {"127.0.0.1"}},
		Dial:     d.DialContext,
		Events:   func(Event) {},
		Timeout:  5 * time.Second,
	}
}

// BenchmarkTransfer moves 64 MiB from a local server to the client, directly
// and through a CONNECT tunnel.
func BenchmarkTransfer(b *testing.B) {
	chunk := make([]byte, 1<<20)
	srv := tcpServer(b, func(c net.Conn) {
		for range benchTransfer / len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	target := "bench.test:" + portOf(b, srv)
	run := func(b *testing.B, open func() io.ReadCloser) {
		b.SetBytes(benchTransfer)
		for b.Loop() {
			r := open()
			n, err := io.Copy(io.Discard, r)
			r.Close()
			if err != nil || n != benchTransfer {
				b.Fatalf("moved %d bytes: %v", n, err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) {
		run(b, func() io.ReadCloser {
			c, err := net.Dial("tcp", srv)
			if err != nil {
				b.Fatal(err)
			}
			return c
		})
	})
	b.Run("connect", func(b *testing.B) {
		addr := startProxy(b, benchProxy(b), "http")
		run(b, func() io.ReadCloser {
			c, br := connectThrough(b, addr, target)
			return struct {
				io.Reader
				io.Closer
			}{br, c}
		})
	})
	b.Run("socks5", func(b *testing.B) {
		d, err := proxy.SOCKS5("tcp", startProxy(b, benchProxy(b), "socks5"), nil, proxy.Direct)
		if err != nil {
			b.Fatal(err)
		}
		run(b, func() io.ReadCloser {
			c, err := d.(proxy.ContextDialer).DialContext(context.Background(), "tcp", target)
			if err != nil {
				b.Fatal(err)
			}
			return c
		})
	})
}

// BenchmarkSetup measures connecting and receiving the first byte: directly,
// and through the proxy (handshake, rule decision, resolution, address
// check, dial).
func BenchmarkSetup(b *testing.B) {
	srv := tcpServer(b, func(c net.Conn) { c.Write([]byte{1}) })
	target := "bench.test:" + portOf(b, srv)
	first := func(b *testing.B, r io.Reader) {
		var one [1]byte
		if _, err := io.ReadFull(r, one[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			c, err := net.Dial("tcp", srv)
			if err != nil {
				b.Fatal(err)
			}
			first(b, c)
			c.Close()
		}
	})
	b.Run("connect", func(b *testing.B) {
		addr := startProxy(b, benchProxy(b), "http")
		for b.Loop() {
			c, br := connectThrough(b, addr, target)
			first(b, br)
			c.Close()
		}
	})
	b.Run("socks5", func(b *testing.B) {
		d, err := proxy.SOCKS5("tcp", startProxy(b, benchProxy(b), "socks5"), nil, proxy.Direct)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			c, err := d.(proxy.ContextDialer).DialContext(context.Background(), "tcp", target)
			if err != nil {
				b.Fatal(err)
			}
			first(b, c)
			c.Close()
		}
	})
}
