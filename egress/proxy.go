// Package egress is the host-side proxy through which a sandboxed command
// reaches the network: HTTP (CONNECT and absolute-form requests) and SOCKS5,
// to the destinations Rules allow and nowhere else.
//
// The proxy resolves names itself, checks every resolved address with
// CheckIP, and dials exactly a checked address, so neither a name that
// resolves to a private address nor DNS rebinding between check and dial
// reaches the host's own network.
package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Event records one connection attempt, allowed or refused. It is emitted
// once, when the attempt ends.
type Event struct {
	Time      time.Time     // when the attempt started
	Proto     string        // "http", "connect" or "socks5"
	Host      string        // normalised destination name or address, as requested
	Port      int           // destination port
	Addr      string        // ip:port actually dialled; "" if none was
	Decision  Decision      // the rule decision (after asking, for Ask)
	Reason    string        // why: the rule, the refused address, or the failure
	BytesUp   int64         // bytes sent to the destination
	BytesDown int64         // bytes received from the destination
	Duration  time.Duration // from start to end of the attempt
	Err       string        // what went wrong, if anything did
}

// Resolver looks up host names; net.DefaultResolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Approver answers Ask decisions. It may block (a prompt); ctx ends when
// the client goes away. A nil Approver denies.
type Approver func(ctx context.Context, host string, port int) bool

// Proxy serves client connections. Its fields are read, never written, while
// serving, so one Proxy serves many connections at once. The zero value
// refuses everything.
type Proxy struct {
	Rules    Rules
	Resolver Resolver // nil: net.DefaultResolver
	// Dial connects to an address the proxy has checked, always "ip:port".
	// nil: a net.Dialer.
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	Approve Approver
	// Events receives one Event per attempt. It is called from many
	// goroutines and must be cheap; nil discards events.
	Events func(Event)
	// Timeout bounds the handshake with the client and connecting to the
	// destination (resolution included). Default 10s.
	Timeout time.Duration
	// IdleTimeout closes a connection on which nothing moved for this
	// long, and a keep-alive HTTP connection waiting for its next request.
	// Default 2 minutes.
	IdleTimeout time.Duration
}

// maxHeaderBytes bounds an HTTP request head.
const maxHeaderBytes = 64 << 10

func (p *Proxy) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 10 * time.Second
}

func (p *Proxy) idleTimeout() time.Duration {
	if p.IdleTimeout > 0 {
		return p.IdleTimeout
	}
	return 2 * time.Minute
}

// failKind says who refused a connection, for the protocol replies.
type failKind int

const (
	failPolicy      failKind = iota + 1 // the rules or the address check
	failBadRequest                      // the host cannot be read
	failUnreachable                     // resolution or routing failed
	failRefused                         // the destination refused
)

// dialError is why open did not return a connection.
type dialError struct {
	kind   failKind
	reason string
	err    error
}

func (e *dialError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}

func (e *dialError) Unwrap() error { return e.err }

// open decides, resolves, checks and dials host:port, filling ev. It is the
// one path every protocol takes to the network.
func (p *Proxy) open(ctx context.Context, ev *Event, host string, port int) (net.Conn, *dialError) {
	ev.Host, ev.Port = host, port
	ev.Decision = Deny
	rules, err := p.Rules.compile()
	if err != nil {
		ev.Reason = "invalid rules: " + err.Error()
		return nil, &dialError{kind: failPolicy, reason: ev.Reason}
	}
	allowPrivate, err := parseCIDRs(p.Rules.AllowPrivate)
	if err != nil {
		ev.Reason = "invalid rules: " + err.Error()
		return nil, &dialError{kind: failPolicy, reason: ev.Reason}
	}
	if port < 1 || port > 65535 {
		ev.Reason = fmt.Sprintf("invalid port %d", port)
		return nil, &dialError{kind: failBadRequest, reason: ev.Reason}
	}
	d, err := parseHost(host)
	if err != nil {
		ev.Reason = err.Error()
		return nil, &dialError{kind: failBadRequest, reason: ev.Reason}
	}
	d.port = port
	ev.Host = d.String()

	decision, reason := rules.decide(d)
	ev.Decision, ev.Reason = decision, reason
	if decision == Ask {
		if p.Approve == nil || !p.Approve(ctx, ev.Host, port) {
			ev.Decision, ev.Reason = Deny, reason+"; not approved"
			return nil, &dialError{kind: failPolicy, reason: ev.Reason}
		}
		ev.Decision, ev.Reason = Allow, reason+"; approved"
	}
	if ev.Decision != Allow {
		return nil, &dialError{kind: failPolicy, reason: ev.Reason}
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	addrs := []netip.Addr{d.addr}
	if !d.addr.IsValid() {
		if addrs, err = p.resolve(ctx, d.host); err != nil {
			return nil, &dialError{kind: failUnreachable, reason: "resolve " + d.host, err: err}
		}
	}
	// Every address is checked before any is dialled: a name with one
	// forbidden answer is refused whole, because which answer a later
	// lookup (the client's, a retry) returns is the attacker's choice.
	ranges := forbiddenRanges()
	for _, a := range addrs {
		if err := checkAddr(a, allowPrivate, ranges); err != nil {
			ev.Decision = Deny
			ev.Reason = fmt.Sprintf("%s resolves to a refused address: %v", ev.Host, err)
			if d.addr.IsValid() {
				ev.Reason = fmt.Sprintf("refused address: %v", err)
			}
			return nil, &dialError{kind: failPolicy, reason: ev.Reason}
		}
	}
	// Only the checked addresses are dialled, as literals: nothing
	// resolves the name again between the check and the connection.
	var lastErr error
	for _, a := range addrs {
		addr := netip.AddrPortFrom(a, uint16(port)).String()
		c, err := p.dial(ctx, addr)
		if err == nil {
			ev.Addr = addr
			return c, nil
		}
		lastErr = err
	}
	kind := failUnreachable
	if errors.Is(lastErr, syscall.ECONNREFUSED) {
		kind = failRefused
	}
	return nil, &dialError{kind: kind, reason: "connect " + net.JoinHostPort(ev.Host, strconv.Itoa(port)), err: lastErr}
}

func (p *Proxy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("no addresses for %s", host)
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip.IP)
		if !ok {
			return nil, fmt.Errorf("resolver returned invalid address %v", ip.IP)
		}
		// A zone would let the dial pick an interface; resolvers have
		// no business returning one.
		if ip.Zone != "" {
			return nil, fmt.Errorf("resolver returned zoned address %v%%%s", ip.IP, ip.Zone)
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func (p *Proxy) dial(ctx context.Context, addr string) (net.Conn, error) {
	if p.Dial != nil {
		return p.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// emit finishes ev and hands it to Events.
func (p *Proxy) emit(ev *Event, err error) {
	ev.Duration = time.Since(ev.Time)
	if err != nil && ev.Err == "" {
		ev.Err = err.Error()
	}
	if p.Events != nil {
		p.Events(*ev)
	}
}

// Serve accepts connections on l and serves each with ServeHTTP (proto
// "http") or ServeSOCKS5 ("socks5") until ctx ends or l fails. It closes l
// and returns only after every connection it started has ended; after ctx
// ends it returns nil.
func (p *Proxy) Serve(ctx context.Context, l net.Listener, proto string) error {
	var serve func(context.Context, net.Conn)
	switch proto {
	case "http":
		serve = p.ServeHTTP
	case "socks5":
		serve = p.ServeSOCKS5
	default:
		return fmt.Errorf("serve: unknown protocol %q (want http or socks5)", proto)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			// Out of descriptors: connections ending will free some;
			// giving up would cut the sandbox off for good.
			select {
			case <-time.After(50 * time.Millisecond):
				continue
			case <-ctx.Done():
			}
		}
		if err != nil {
			l.Close()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("serve %s: accept: %w", proto, err)
		}
		wg.Go(func() { serve(ctx, c) })
	}
}

// closeOnDone closes c when ctx ends, so that a blocked read returns. The
// returned function undoes it.
func closeOnDone(ctx context.Context, c net.Conn) func() bool {
	return context.AfterFunc(ctx, func() { c.Close() })
}

// idleConn extends its deadline whenever data moves, so a connection dies
// after idle of quiet but a long transfer does not. The deadline is pushed
// at most once a second (an eighth of idle if shorter), as setting it on
// every read is measurable.
type idleConn struct {
	net.Conn
	idle time.Duration
	last atomic.Int64 // unix nanoseconds of the last push
}

func newIdleConn(c net.Conn, idle time.Duration) *idleConn {
	ic := &idleConn{Conn: c, idle: idle}
	ic.push(time.Now())
	return ic
}

// hold fixes the deadline at t and stops pushing it until resume: a
// request head must arrive within its own bound, however slowly it trickles.
func (c *idleConn) hold(t time.Time) {
	c.last.Store(math.MaxInt64)
	c.Conn.SetDeadline(t)
}

// resume pushes the deadline again from now on.
func (c *idleConn) resume() {
	c.last.Store(0)
	c.push(time.Now())
}

func (c *idleConn) push(now time.Time) {
	// Skipping pushes makes the deadline fire up to one interval early,
	// so the interval is a small part of the idle time.
	if now.UnixNano()-c.last.Load() < int64(min(time.Second, c.idle/8)) {
		return
	}
	c.last.Store(now.UnixNano())
	c.Conn.SetDeadline(now.Add(c.idle))
}

func (c *idleConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.push(time.Now())
	}
	return n, err
}

func (c *idleConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.push(time.Now())
	}
	return n, err
}

// tunnel joins client and upstream once the handshake is done: the bytes
// the client sent early, still buffered in br, go first; then both ways
// until either end is done. It emits ev.
func (p *Proxy) tunnel(ev *Event, c net.Conn, br *bufio.Reader, up net.Conn) {
	c.SetDeadline(time.Time{})
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			p.emit(ev, fmt.Errorf("relay: %w", err))
			return
		}
		ev.BytesUp += int64(n)
	}
	u, d, err := p.relay(c, up)
	ev.BytesUp += u
	ev.BytesDown = d
	p.emit(ev, quietRelayError(err))
}

// relay copies both ways between client and upstream until both directions
// end, half-closing so that a client that shuts its write side still gets
// the reply. It returns the bytes sent upstream and received from it.
func (p *Proxy) relay(client, upstream net.Conn) (up, down int64, err error) {
	idle := p.idleTimeout()
	// One idleConn per socket: an active direction keeps the quiet one
	// alive, since a download with nothing to upload is not idle.
	ic, iu := newIdleConn(client, idle), newIdleConn(upstream, idle)
	var upErr, downErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 64<<10)
		up, upErr = io.CopyBuffer(writerOnly{iu}, readerOnly{ic}, buf)
		if upErr != nil {
			// A broken direction ends both: unblock the other copy.
			client.Close()
			upstream.Close()
			return
		}
		closeWrite(upstream)
	})
	buf := make([]byte, 64<<10)
	down, downErr = io.CopyBuffer(writerOnly{ic}, readerOnly{iu}, buf)
	if downErr != nil {
		client.Close()
		upstream.Close()
	} else {
		closeWrite(client)
	}
	wg.Wait()
	return up, down, errors.Join(upErr, downErr)
}

// readerOnly and writerOnly hide ReadFrom/WriteTo, so io.CopyBuffer uses the
// buffer through idleConn instead of bypassing its deadline handling.
type readerOnly struct{ io.Reader }
type writerOnly struct{ io.Writer }

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}
