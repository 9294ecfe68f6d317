package guard

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/egress"
	"github.com/cordon-sh/cordon/sandbox"
)

// egressRun is the egress proxy of one run: the sandbox hands it every
// connection the command makes to its proxy ports, and it keeps what
// happened for the report.
type egressRun struct {
	proxy  *egress.Proxy
	mu     sync.Mutex
	events []egress.Event
	// answers are the answers to network questions, in the order given,
	// until an event takes each (see auditEvents).
	answers []netAnswer
	// active counts the connections being served; cancel ends them.
	active sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context
}

// newEgress builds the proxy for rules; refusals are told on stderr as they
// happen, so that a failing download says why.
func newEgress(ctx context.Context, rules egress.Rules, warn func(string, ...any)) (*egressRun, error) {
	if err := rules.Validate(); err != nil {
		return nil, fmt.Errorf("network rules: %w", err)
	}
	e := &egressRun{}
	e.ctx, e.cancel = context.WithCancel(ctx)
	e.proxy = &egress.Proxy{
		Rules: rules,
		Events: func(ev egress.Event) {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
			if ev.Decision != egress.Allow {
				warn("network: refused %s:%d: %s", ev.Host, ev.Port, ev.Reason)
			}
		},
	}
	return e, nil
}

// approveWith routes the rules' Ask hosts to ask, one question per
// connection; the event of the connection records the outcome.
func (e *egressRun) approveWith(ask func(ctx context.Context, host string, port int) *audit.Approval) {
	e.proxy.Approve = func(ctx context.Context, host string, port int) bool {
		a := ask(ctx, host, port)
		e.mu.Lock()
		e.answers = append(e.answers, netAnswer{host: host, port: port, a: a})
		e.mu.Unlock()
		return a.Granted
	}
}

// netAnswer is who answered a network question, and how.
type netAnswer struct {
	host string
	port int
	a    *audit.Approval
	used bool
}

// connect is the sandbox's Network.Connect.
func (e *egressRun) connect() func(proto string, c net.Conn) {
	return func(proto string, c net.Conn) {
		e.active.Add(1)
		defer e.active.Done()
		if proto == "socks5" {
			e.proxy.ServeSOCKS5(e.ctx, c)
			return
		}
		e.proxy.ServeHTTP(e.ctx, c)
	}
}

// stop ends the connections still being served (the sandbox is gone, so
// they are dead) and waits for their last events.
func (e *egressRun) stop() {
	e.cancel()
	e.active.Wait()
}

// attach puts the run's network into proxy mode through e.
func (e *egressRun) attach(spec *sandbox.Spec) {
	spec.Network.Mode = sandbox.NetworkProxy
	spec.Network.Connect = e.connect()
	if spec.Network.RestrictTCP {
		// Landlock's second line lets TCP reach the proxies only.
		spec.Network.ConnectPorts = append(spec.Network.ConnectPorts, sandbox.HTTPProxyPort, sandbox.SOCKS5ProxyPort)
	}
}

func (e *egressRun) report() []egress.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]egress.Event(nil), e.events...)
}

// count is how many events there are so far.
func (e *egressRun) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.events)
}

// auditEvents is a report in the audit record's terms. An event of a
// destination the policy asked about carries the answer: the first one
// not yet taken for the same host and port with the same outcome (a
// connection's question is answered before its event is made).
func (e *egressRun) auditEvents(events []egress.Event) []audit.NetworkEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []audit.NetworkEvent
	for _, ev := range events {
		ne := audit.NetworkEvent{
			Time: ev.Time, Proto: ev.Proto, Host: fmt.Sprintf("%s:%d", ev.Host, ev.Port), Addr: ev.Addr,
			Allowed: ev.Decision == egress.Allow, Detail: ev.Reason,
		}
		for i := range e.answers {
			an := &e.answers[i]
			if !an.used && an.host == ev.Host && an.port == ev.Port && an.a.Granted == ne.Allowed {
				an.used, ne.Approval = true, an.a
				break
			}
		}
		out = append(out, ne)
	}
	return out
}
