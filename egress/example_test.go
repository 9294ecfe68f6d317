package egress_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/cordon-sh/cordon/egress"
)

func ExampleRules_Decide() {
	r := egress.Rules{
		Allow: []string{"github.com", "*.githubusercontent.com", "proxy.golang.org:443"},
		Deny:  []string{"gist.githubusercontent.com"},
	}
	for _, d := range []struct {
		host string
		port int
	}{
		{"GitHub.com.", 443},
		{"raw.githubusercontent.com", 443},
		{"githubusercontent.com", 443},
		{"gist.githubusercontent.com", 443},
		{"proxy.golang.org", 80},
		{"0x7f000001", 80},
	} {
		dec, why := r.Decide(d.host, d.port)
		fmt.Println(dec, why)
	}
	// Output:
	// allow github.com:443 allowed by rule "github.com"
	// allow raw.githubusercontent.com:443 allowed by rule "*.githubusercontent.com"
	// deny githubusercontent.com:443 matches no allow rule
	// deny gist.githubusercontent.com:443 denied by rule "gist.githubusercontent.com"
	// deny proxy.golang.org:80 matches no allow rule
	// deny 127.0.0.1:80 is an IP literal no rule names
}

func ExampleCheckIP() {
	fmt.Println(egress.CheckIP(net.ParseIP("169.254.169.254"), nil))
	fmt.Println(egress.CheckIP(net.ParseIP("::ffff:10.0.0.1"), nil))
	fmt.Println(egress.CheckIP(net.ParseIP("8.8.8.8"), nil))
	// Output:
	// 169.254.169.254 is link-local (cloud metadata) (169.254.0.0/16)
	// 10.0.0.1 is private (10.0.0.0/8)
	// <nil>
}

func ExampleProxy_Serve() {
	p := &egress.Proxy{
		Rules: egress.Rules{Allow: []string{"proxy.golang.org:443", "*.github.com:443"}},
		Events: func(ev egress.Event) {
			slog.Info("egress", "proto", ev.Proto, "host", ev.Host, "port", ev.Port, "addr", ev.Addr,
				"decision", ev.Decision, "reason", ev.Reason, "up", ev.BytesUp, "down", ev.BytesDown, "err", ev.Err)
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real caller cancels when the sandbox ends
	fmt.Println(p.Serve(ctx, l, "http"))
	// Output: <nil>
}
