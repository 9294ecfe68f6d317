package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// mapResolver is a resolver under the test's control: name → addresses.
type mapResolver map[string][]string

func (m mapResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	list, ok := m[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range list {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

// funcResolver answers with a function, for resolvers that change.
type funcResolver func(host string) ([]net.IPAddr, error)

func (f funcResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return f(host)
}

// recorder collects events and the addresses the proxy dialled.
type recorder struct {
	mu     sync.Mutex
	events []Event
	dialed []string
}

func (r *recorder) event(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// dial is a Proxy.Dial that only ever connects to loopback, so a test that
// went wrong cannot reach any other machine, and that records each address.
func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.dialed = append(r.dialed, addr)
	r.mu.Unlock()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("test dial: proxy dialled a non-literal address %q", addr)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return nil, fmt.Errorf("test dial: refusing non-loopback %s", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (r *recorder) dials() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dialed...)
}

// waitEvents waits for n events and fails if more arrive shortly after.
func (r *recorder) waitEvents(t *testing.T, n int) []Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.events)
		r.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) != n {
		t.Fatalf("got %d events, want %d: %+v", len(r.events), n, r.events)
	}
	return append([]Event(nil), r.events...)
}

// newProxy returns a proxy wired to rec with the given rules and resolver.
func newProxy(rec *recorder, rules Rules, res Resolver) *Proxy {
	return &Proxy{Rules: rules, Resolver: res, Dial: rec.dial, Events: rec.event, Timeout: 5 * time.Second}
}

// startProxy serves p on a loopback listener until the test ends.
func startProxy(t testing.TB, p *Proxy, proto string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, l, proto) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return l.Addr().String()
}

// checkGoroutines fails the test if goroutines started during it are still
// running once everything it set up has been cleaned up. Call it first.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after:\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// loopbackOnly is the AllowPrivate a test policy uses to reach its servers.
var loopbackOnly = []string{"127.0.0.0/8"}

// portOf returns the port of a "host:port" or URL.
func portOf(t testing.TB, addr string) string {
	t.Helper()
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
