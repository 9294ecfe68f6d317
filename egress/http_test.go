package egress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// origin is a local HTTP server that records what reached it.
type origin struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newOrigin(t *testing.T, tlsServer bool) *origin {
	o := &origin{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.headers = append(o.headers, r.Header.Clone())
		o.mu.Unlock()
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "http://elsewhere.test/", http.StatusFound)
		case "/early":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			fmt.Fprint(w, "after hints")
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "got %d bytes", len(b))
		default:
			fmt.Fprintf(w, "hello from %s %s", r.Host, r.URL.Path)
		}
	})
	if tlsServer {
		o.Server = httptest.NewTLSServer(h)
	} else {
		o.Server = httptest.NewServer(h)
	}
	t.Cleanup(o.Close)
	return o
}

func (o *origin) seen() []http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]http.Header(nil), o.headers...)
}

// proxyClient is an http.Client that uses the proxy at addr.
func proxyClient(t *testing.T, addr string, base *http.Transport) *http.Client {
	tr := &http.Transport{}
	if base != nil {
		tr = base.Clone()
	}
	tr.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: addr, User: url.UserPassword("agent", "secret")})
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestHTTPForward(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"allowed.test"}, AllowPrivate: loopbackOnly}, mapResolver{"allowed.test": {"127.0.0.1"}})
	c := proxyClient(t, startProxy(t, p, "http"), nil)

	req, _ := http.NewRequest("GET", "http://allowed.test:"+port+"/path", nil)
	req.Header.Set("Connection", "X-Secret-Hop")
	req.Header.Set("X-Secret-Hop", "1")
	req.Header.Set("Keep-Alive", "timeout=5")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from allowed.test:"+port+" /path" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// A redirect is handed back to the client, never followed.
	resp, err = c.Get("http://allowed.test:" + port + "/redirect")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect: got %d", resp.StatusCode)
	}
	// A request body goes through.
	resp, err = c.Post("http://allowed.test:"+port+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 100000)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "got 100000 bytes" {
		t.Fatalf("echo: %q", body)
	}

	// An informational response is passed on before the final one.
	resp, err = c.Get("http://allowed.test:" + port + "/early")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "after hints" {
		t.Fatalf("early hints: %d %q", resp.StatusCode, body)
	}

	for i, h := range o.seen() {
		for _, name := range []string{"Proxy-Authorization", "Proxy-Connection", "X-Secret-Hop", "Keep-Alive"} {
			if h.Get(name) != "" {
				t.Errorf("request %d: %s reached the destination", i, name)
			}
		}
	}
	if n := len(o.seen()); n != 4 {
		t.Errorf("origin saw %d requests, want 4", n)
	}
	evs := rec.waitEvents(t, 4)
	for _, ev := range evs {
		if ev.Proto != "http" || ev.Decision != Allow || ev.Host != "allowed.test" || ev.Addr != "127.0.0.1:"+port || ev.BytesUp == 0 || ev.BytesDown == 0 || ev.Err != "" {
			t.Errorf("event %+v", ev)
		}
	}
	// Events end in any order: find the POST by its size.
	var maxUp int64
	for _, ev := range evs {
		maxUp = max(maxUp, ev.BytesUp)
	}
	if maxUp < 100000 {
		t.Errorf("no event counted the 100000-byte POST body: at most %d bytes up", maxUp)
	}
}

// rawExchange sends raw request text on a fresh connection to the proxy
// and reads the responses.
func rawExchange(t *testing.T, proxyAddr, text string, n int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []*http.Response
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", len(out), err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		out = append(out, resp)
	}
	return out
}

func TestHTTPKeepAliveAndHostMismatch(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"allowed.test", "other.test"}, AllowPrivate: loopbackOnly},
		mapResolver{"allowed.test": {"127.0.0.1"}, "other.test": {"127.0.0.1"}})
	addr := startProxy(t, p, "http")

	// Two pipelined requests on one connection both get answers.
	u := "http://allowed.test:" + port
	rs := rawExchange(t, addr, "GET "+u+"/a HTTP/1.1\r\nHost: allowed.test:"+port+"\r\n\r\nGET "+u+"/b HTTP/1.1\r\nHost: allowed.test:"+port+"\r\n\r\n", 2)
	for i, r := range rs {
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || !strings.HasSuffix(string(b), []string{"/a", "/b"}[i]) {
			t.Errorf("response %d: %d %q", i, r.StatusCode, b)
		}
	}
	rec.waitEvents(t, 2)

	// The Host header must name the URL's host.
	rs = rawExchange(t, addr, "GET "+u+"/ HTTP/1.1\r\nHost: other.test:"+port+"\r\n\r\n", 1)
	if rs[0].StatusCode != 403 || !strings.Contains(rs[0].Header.Get("X-Cordon-Reason"), "does not match") {
		t.Errorf("host mismatch: %d %q", rs[0].StatusCode, rs[0].Header.Get("X-Cordon-Reason"))
	}
	// Origin-form requests are not proxy requests.
	rs = rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", 1)
	if rs[0].StatusCode != 400 {
		t.Errorf("origin-form: %d", rs[0].StatusCode)
	}
	// A head over the limit is refused.
	rs = rawExchange(t, addr, "GET "+u+"/ HTTP/1.1\r\nX-Big: "+strings.Repeat("a", maxHeaderBytes)+"\r\n\r\n", 1)
	if rs[0].StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("big head: %d", rs[0].StatusCode)
	}
	rec.waitEvents(t, 5)
	if n := len(o.seen()); n != 2 {
		t.Errorf("origin saw %d requests, want 2", n)
	}
}

func TestHTTPSConnect(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, true)
	port := portOf(t, o.URL)
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"allowed.test:" + port}, AllowPrivate: loopbackOnly}, mapResolver{"allowed.test": {"127.0.0.1"}})
	base := o.Client().Transport.(*http.Transport).Clone()
	base.TLSClientConfig.ServerName = "example.com" // a name in httptest's certificate
	c := proxyClient(t, startProxy(t, p, "http"), base)

	resp, err := c.Get("https://allowed.test:" + port + "/tls")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasSuffix(string(body), "/tls") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	c.Transport.(*http.Transport).CloseIdleConnections()
	ev := rec.waitEvents(t, 1)[0]
	if ev.Proto != "connect" || ev.Decision != Allow || ev.Addr != "127.0.0.1:"+port || ev.BytesUp < 100 || ev.BytesDown < 100 {
		t.Errorf("event %+v", ev)
	}
	if h := o.seen()[0]; h.Get("Proxy-Authorization") != "" {
		t.Error("Proxy-Authorization reached the destination")
	}
}

// TestRefusals tries destinations the policy must refuse, through CONNECT,
// plain HTTP and SOCKS5, and checks that nothing was dialled and the
// refusal says why.
func TestRefusals(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	res := mapResolver{
		"allowed.test":  {"127.0.0.1"},
		"denied.test":   {"127.0.0.1"},
		"private.test":  {"10.0.0.7"},
		"metadata.test": {"169.254.169.254"},
		"mixed.test":    {"127.0.0.1", "192.168.1.1"},
		"mapped.test":   {"::ffff:169.254.169.254"},
		"v6meta.test":   {"fd00:ec2::254"},
	}
	rules := Rules{
		Allow:        []string{"allowed.test", "denied.test", "private.test", "metadata.test", "mixed.test", "mapped.test", "v6meta.test", "unknown-name.test"},
		Deny:         []string{"denied.test"},
		AllowPrivate: loopbackOnly,
	}
	tests := []struct {
		host string
		why  string
	}{
		{"denied.test", "denied by rule"},
		{"nobody.test", "no allow rule"},
		{"127.0.0.1", "IP literal"},
		{"127.1", "IP literal"},
		{"2130706433", "IP literal"},
		{"0x7f000001", "IP literal"},
		{"0177.0.0.1", "IP literal"},
		{"127.000.000.001", "IP literal"},
		{"[::ffff:7f00:1]", "IP literal"},
		{"[0:0:0:0:0:ffff:127.0.0.1]", "IP literal"},
		{"[::1]", "IP literal"},
		{"169.254.169.254", "IP literal"},
		{"private.test", "10.0.0.7 is private"},
		{"metadata.test", "169.254.169.254 is link-local"},
		{"mixed.test", "192.168.1.1 is private"},
		{"mapped.test", "169.254.169.254 is link-local"},
		{"v6meta.test", "unique local"},
		{"bad_name..test", "invalid"},
	}
	rec := &recorder{}
	p := newProxy(rec, rules, res)
	httpAddr := startProxy(t, p, "http")
	socksAddr := startProxy(t, p, "socks5")
	events := 0
	for _, tt := range tests {
		target := tt.host + ":" + port
		rs := rawExchange(t, httpAddr, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n", 1)
		if rs[0].StatusCode != 403 || !strings.Contains(rs[0].Header.Get("X-Cordon-Reason"), tt.why) {
			t.Errorf("CONNECT %s: %d, X-Cordon-Reason %q, want 403 with %q", target, rs[0].StatusCode, rs[0].Header.Get("X-Cordon-Reason"), tt.why)
		}
		u := "http://" + target + "/"
		rs = rawExchange(t, httpAddr, "GET "+u+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n", 1)
		body, _ := io.ReadAll(rs[0].Body)
		if rs[0].StatusCode != 403 || !strings.Contains(rs[0].Header.Get("X-Cordon-Reason"), tt.why) || !strings.Contains(string(body), tt.why) {
			t.Errorf("GET %s: %d, X-Cordon-Reason %q, body %q, want 403 with %q", u, rs[0].StatusCode, rs[0].Header.Get("X-Cordon-Reason"), body, tt.why)
		}
		events += 2
		if !strings.HasPrefix(tt.host, "[") && tt.host != "bad_name..test" {
			if rep := socksConnect(t, socksAddr, tt.host, port); rep != socksNotAllowed {
				t.Errorf("SOCKS5 %s: reply %d, want %d", target, rep, socksNotAllowed)
			}
			events++
		}
	}
	evs := rec.waitEvents(t, events)
	for _, ev := range evs {
		if ev.Decision != Deny || ev.Addr != "" || ev.Reason == "" {
			t.Errorf("refusal event %+v", ev)
		}
	}
	if d := rec.dials(); len(d) != 0 {
		t.Errorf("refused destinations were dialled: %v", d)
	}
}

// TestLoopbackNeedsAllowPrivate shows that the same allowed name pointing at
// the same local server is refused when the policy does not open loopback.
func TestLoopbackNeedsAllowPrivate(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	for _, allowPrivate := range [][]string{nil, {"10.0.0.0/8"}, loopbackOnly} {
		rec := &recorder{}
		p := newProxy(rec, Rules{Allow: []string{"allowed.test"}, AllowPrivate: allowPrivate}, mapResolver{"allowed.test": {"127.0.0.1"}})
		c := proxyClient(t, startProxy(t, p, "http"), nil)
		resp, err := c.Get("http://allowed.test:" + port + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := 403
		if len(allowPrivate) == 1 && allowPrivate[0] == loopbackOnly[0] {
			want = 200
		}
		if resp.StatusCode != want {
			t.Errorf("AllowPrivate %v: got %d, want %d (%s)", allowPrivate, resp.StatusCode, want, resp.Header.Get("X-Cordon-Reason"))
		}
		if want == 403 && !strings.Contains(resp.Header.Get("X-Cordon-Reason"), "127.0.0.1 is loopback") {
			t.Errorf("reason %q", resp.Header.Get("X-Cordon-Reason"))
		}
	}
}

// TestRebinding gives the proxy a resolver whose answer changes from an
// allowed address to a forbidden one: the proxy dials the address it
// checked, as a literal, and refuses the second answer without dialling.
func TestRebinding(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	var mu sync.Mutex
	lookups := 0
	res := funcResolver(func(host string) ([]net.IPAddr, error) {
		mu.Lock()
		defer mu.Unlock()
		lookups++
		if lookups%2 == 1 {
			return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}, nil
		}
		return []net.IPAddr{{IP: net.ParseIP("169.254.169.254")}}, nil
	})
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"rebind.test"}, AllowPrivate: loopbackOnly}, res)
	addr := startProxy(t, p, "http")
	u := "http://rebind.test:" + port + "/"
	first := rawExchange(t, addr, "GET "+u+" HTTP/1.1\r\nHost: rebind.test:"+port+"\r\n\r\n", 1)[0]
	second := rawExchange(t, addr, "GET "+u+" HTTP/1.1\r\nHost: rebind.test:"+port+"\r\n\r\n", 1)[0]
	if first.StatusCode != 200 || second.StatusCode != 403 {
		t.Fatalf("got %d then %d, want 200 then 403", first.StatusCode, second.StatusCode)
	}
	if d := rec.dials(); len(d) != 1 || d[0] != "127.0.0.1:"+port {
		t.Errorf("dialled %v, want exactly the checked 127.0.0.1:%s", d, port)
	}
	mu.Lock()
	if lookups != 2 {
		t.Errorf("%d lookups for 2 requests: the proxy must resolve once per attempt", lookups)
	}
	mu.Unlock()
	rec.waitEvents(t, 2)
}

func TestAsk(t *testing.T) {
	checkGoroutines(t)
	o := newOrigin(t, false)
	port := portOf(t, o.URL)
	for _, tt := range []struct {
		name     string
		approver Approver
		want     int
		why      string
	}{
		{"yes", func(_ context.Context, host string, p int) bool { return host == "ask.test" && fmt.Sprint(p) == port }, 200, "approved"},
		{"no", func(context.Context, string, int) bool { return false }, 403, "not approved"},
		{"nil", nil, 403, "not approved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			p := newProxy(rec, Rules{Allow: []string{"ask.test"}, Ask: []string{"ASK.test"}, AllowPrivate: loopbackOnly}, mapResolver{"ask.test": {"127.0.0.1"}})
			p.Approve = tt.approver
			c := proxyClient(t, startProxy(t, p, "http"), nil)
			resp, err := c.Get("http://ask.test:" + port + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got %d, want %d", resp.StatusCode, tt.want)
			}
			ev := rec.waitEvents(t, 1)[0]
			if !strings.Contains(ev.Reason, tt.why) {
				t.Errorf("reason %q, want %q", ev.Reason, tt.why)
			}
		})
	}
}

func TestDialFailure(t *testing.T) {
	checkGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	rec := &recorder{}
	p := newProxy(rec, Rules{Allow: []string{"closed.test", "gone.test"}, AllowPrivate: loopbackOnly}, mapResolver{"closed.test": {"127.0.0.1"}})
	addr := startProxy(t, p, "http")
	rs := rawExchange(t, addr, "CONNECT closed.test:"+portOf(t, closed)+" HTTP/1.1\r\n\r\n", 1)
	if rs[0].StatusCode != 502 || rs[0].Header.Get("X-Cordon-Reason") == "" {
		t.Errorf("refused port: %d %q", rs[0].StatusCode, rs[0].Header.Get("X-Cordon-Reason"))
	}
	rs = rawExchange(t, addr, "CONNECT gone.test:443 HTTP/1.1\r\n\r\n", 1)
	if rs[0].StatusCode != 502 {
		t.Errorf("unresolvable: %d", rs[0].StatusCode)
	}
	for _, ev := range rec.waitEvents(t, 2) {
		if ev.Decision != Allow || ev.Err == "" {
			t.Errorf("event %+v", ev)
		}
	}
}

// TestIPv6Literal reaches an IPv6 loopback server by a rule naming the
// literal, once AllowPrivate opens ::1, and is refused without it.
func TestIPv6Literal(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	checkGoroutines(t)
	o := &origin{Server: httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "v6")
	}))}
	o.Listener.Close()
	o.Listener = l
	o.Start()
	t.Cleanup(o.Close)
	port := portOf(t, o.URL)
	for _, tt := range []struct {
		allowPrivate []string
		want         int
	}{{nil, 403}, {[]string{"::1"}, 200}} {
		rec := &recorder{}
		p := newProxy(rec, Rules{Allow: []string{"[::1]:" + port}, AllowPrivate: tt.allowPrivate}, nil)
		target := "[0:0::1]:" + port
		rs := rawExchange(t, startProxy(t, p, "http"), "GET http://"+target+"/ HTTP/1.1\r\nHost: "+target+"\r\nConnection: close\r\n\r\n", 1)
		if rs[0].StatusCode != tt.want {
			t.Errorf("AllowPrivate %v: got %d (%s), want %d", tt.allowPrivate, rs[0].StatusCode, rs[0].Header.Get("X-Cordon-Reason"), tt.want)
		}
		if ev := rec.waitEvents(t, 1)[0]; tt.want == 200 && ev.Addr != "[::1]:"+port {
			t.Errorf("event %+v", ev)
		}
	}
}

// FuzzReadHead feeds arbitrary bytes to the request head reader and the
// authority parser behind it.
func FuzzReadHead(f *testing.F) {
	f.Add([]byte("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	f.Add([]byte("\r\nCONNECT [::1]:443 HTTP/1.1\r\nhost: a\r\nHOST: b\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		head, host, err := readHead(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		if len(head) > maxHeaderBytes || !bytes.HasSuffix(head, []byte("\n")) {
			t.Fatalf("head of %d bytes, ending %q", len(head), head[max(0, len(head)-4):])
		}
		if h, port, err := authority(host); err == nil && (h == "" || port < 1 || port > 65535) {
			t.Fatalf("authority(%q) = %q, %d", host, h, port)
		}
	})
}
