package linux_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/cordon-sh/cordon/egress"
	"github.com/cordon-sh/cordon/sandbox"
)

// testResolver maps the test's names to loopback, where the test's servers
// stand in for the internet.
type testResolver map[string]string

func (r testResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if ip, ok := r[host]; ok {
		return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// The whole egress path: curl inside the sandbox, the proxy ports in its
// namespace, the descriptor relay, the egress proxy outside, a server on
// the host. Loopback stands in for the internet, so it is allowed for
// this test alone, the way a policy would name a private range.
func TestEgressThroughSandbox(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "plain %s", r.Host)
	}))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %s", r.Host)
	}))
	defer tlsSrv.Close()
	_, plainPort, _ := net.SplitHostPort(plain.Listener.Addr().String())
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())

	var mu sync.Mutex
	var events []egress.Event
	proxy := &egress.Proxy{
		Rules: egress.Rules{
			Allow:        []string{"allowed.test"},
			Deny:         []string{"evil.allowed.test"},
			AllowPrivate: []string{"127.0.0.0/8"},
		},
		Resolver: testResolver{"allowed.test": "127.0.0.1", "denied.test": "127.0.0.1", "meta.test": "169.254.169.254"},
		Events: func(e egress.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connect := func(proto string, c net.Conn) {
		if proto == "socks5" {
			proxy.ServeSOCKS5(ctx, c)
		} else {
			proxy.ServeHTTP(ctx, c)
		}
	}
	ws := workspace(t, nil)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"http", []string{"http://allowed.test:" + plainPort + "/"}, "plain allowed.test:" + plainPort},
		{"https-connect", []string{"-k", "https://allowed.test:" + tlsPort + "/"}, "tls allowed.test:" + tlsPort},
		{"socks5", []string{"--socks5-hostname", "127.0.0.1:1080", "http://allowed.test:" + plainPort + "/"}, "plain allowed.test:" + plainPort},
		{"denied-host", []string{"-w", "%{http_code}", "-o", "/dev/null", "http://denied.test:" + plainPort + "/"}, "403"},
		{"deny-wins", []string{"-w", "%{http_code}", "-o", "/dev/null", "http://evil.allowed.test:" + plainPort + "/"}, "403"},
		{"ip-literal", []string{"-w", "%{http_code}", "-o", "/dev/null", "--noproxy", "", "http://127.1:" + plainPort + "/"}, "403"},
		{"socks5-denied", []string{"-w", "%{http_code}", "-o", "/dev/null", "--socks5-hostname", "127.0.0.1:1080", "http://denied.test:" + plainPort + "/"}, "000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := newSpec(t, ws, append([]string{"curl", "-s", "-m", "10"}, c.args...)...)
			spec.Network = sandbox.Network{Mode: sandbox.NetworkProxy, Connect: connect}
			o := runSpec(t, spec)
			if strings.TrimSpace(o.stdout) != c.want {
				t.Errorf("got %q (exit %d), want %q; stderr %q", o.stdout, o.res.ExitCode, c.want, o.stderr)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	var refused []string
	for _, e := range events {
		if e.Decision != egress.Allow {
			refused = append(refused, e.Host)
		}
	}
	if got := strings.Join(refused, ","); got != "denied.test,evil.allowed.test,127.0.0.1,denied.test" {
		t.Errorf("refused attempts reported: %q", got)
	}
}
