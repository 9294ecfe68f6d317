package egress

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCurl drives the proxy with curl, the client agents' commands use most:
// plain HTTP and HTTPS through --proxy, and --socks5-hostname, which sends
// the name for the proxy to resolve.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	checkGoroutines(t)
	plain := newOrigin(t, false)
	secure := newOrigin(t, true)
	pp, sp := portOf(t, plain.URL), portOf(t, secure.URL)
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"allowed.test"}, AllowPrivate: loopbackOnly}, mapResolver{"allowed.test": {"127.0.0.1"}, "denied.test": {"127.0.0.1"}})
	httpProxy := "http://" + startProxy(t, p, "http")
	socksProxy := startProxy(t, p, "socks5")

	tests := []struct {
		name string
		args []string
		ok   bool
		want string // in stdout
	}{
		{"http", []string{"--proxy", httpProxy, "http://allowed.test:" + pp + "/curl"}, true, "hello from allowed.test:" + pp + " /curl"},
		{"https via CONNECT", []string{"-k", "--proxy", httpProxy, "https://allowed.test:" + sp + "/curl"}, true, "/curl"},
		{"socks5-hostname", []string{"--socks5-hostname", socksProxy, "http://allowed.test:" + pp + "/socks"}, true, "/socks"},
		{"http denied", []string{"-i", "--proxy", httpProxy, "http://denied.test:" + pp + "/"}, true, "X-Cordon-Reason: denied.test:" + pp + " matches no allow rule"},
		{"https denied", []string{"-k", "--proxy", httpProxy, "https://denied.test:" + sp + "/"}, false, ""},
		{"socks5 denied", []string{"--socks5-hostname", socksProxy, "http://denied.test:" + pp + "/"}, false, ""},
		{"odd literal", []string{"-i", "--proxy", httpProxy, "http://2130706433:" + pp + "/"}, true, "403 Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, curl, append([]string{"-sS", "--max-time", "10", "--noproxy", ""}, tt.args...)...)
			cmd.Env = []string{"PATH=/usr/bin:/bin"} // no proxy variables from the environment
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.ok || !strings.Contains(string(out), tt.want) {
				t.Errorf("curl %v: err %v, output %q; want ok=%v and %q", tt.args, err, out, tt.ok, tt.want)
			}
		})
	}
	evs := rec.waitEvents(t, len(tests))
	allowed := 0
	for _, ev := range evs {
		if ev.Decision == Allow {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("%d allowed events, want 3: %+v", allowed, evs)
	}
}
