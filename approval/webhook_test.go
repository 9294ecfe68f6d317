package approval

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/policy"
)

var testSecret = []byte("s3cret")

// receiver is a webhook receiver as docs/approval.md describes one: it
// checks the signature, decodes the request and answers with answer.
func receiver(t *testing.T, answer func(w http.ResponseWriter, req map[string]any)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request: %s, Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := VerifySignature(testSecret, r.Header.Get(HeaderTimestamp), body, r.Header.Get(HeaderSignature)); err != nil {
			t.Errorf("the receiver cannot verify the request: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("request body: %v", err)
		}
		answer(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func reply(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func askRequest() *Request {
	return &Request{
		Command:   "mytool --fix x",
		Decision:  &policy.Decision{Verdict: policy.Ask, Rule: policy.RuleUnknownProgram, Reason: "no rule covers mytool"},
		Workspace: "/src/app",
		Agent:     "agent-7",
		Kind:      KindCommand,
	}
}

func TestWebhook(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, req map[string]any)
		granted bool
		always  bool
		err     string // a substring of the error; "" means none
	}{
		{"approve", func(w http.ResponseWriter, req map[string]any) {
			reply(w, map[string]any{"id": req["id"], "approve": true, "by": "alice", "reason": "looks fine"})
		}, true, false, ""},
		{"approve always", func(w http.ResponseWriter, req map[string]any) {
			reply(w, map[string]any{"id": req["id"], "approve": true, "always": true})
		}, true, true, ""},
		{"deny", func(w http.ResponseWriter, req map[string]any) {
			reply(w, map[string]any{"id": req["id"], "approve": false, "reason": "not today"})
		}, false, false, ""},
		{"always without approve", func(w http.ResponseWriter, req map[string]any) {
			reply(w, map[string]any{"id": req["id"], "approve": false, "always": true})
		}, false, false, ""},
		{"wrong id", func(w http.ResponseWriter, req map[string]any) {
			reply(w, map[string]any{"id": "0123", "approve": true})
		}, false, false, "is for request"},
		{"no approve field", func(w http.ResponseWriter, req map[string]any) {
			reply(w, map[string]any{"id": req["id"]})
		}, false, false, `no "approve"`},
		{"bad json", func(w http.ResponseWriter, req map[string]any) {
			io.WriteString(w, `{"id": "`)
		}, false, false, "not the expected JSON"},
		{"non-200", func(w http.ResponseWriter, req map[string]any) {
			w.WriteHeader(http.StatusAccepted)
			reply(w, map[string]any{"id": req["id"], "approve": true})
		}, false, false, "expected 200"},
		{"server error", func(w http.ResponseWriter, req map[string]any) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, false, false, "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receiver(t, tt.answer)
			w := &Webhook{URL: srv.URL + "/approve?token=x", Secret: testSecret, Timeout: 5 * time.Second}
			a, err := w.Approve(context.Background(), askRequest())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q (answer %+v)", err, tt.err, a)
				}
				if strings.Contains(err.Error(), "token=x") {
					t.Errorf("the error shows the URL's query: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Granted != tt.granted || a.Always != tt.always || a.How != HowWebhook || a.At.IsZero() || a.Reason == "" || a.By == "" {
				t.Errorf("answer %+v", a)
			}
		})
	}
}

// The request carries what the person needs to decide.
func TestWebhookRequestBody(t *testing.T) {
	var got map[string]any
	srv := receiver(t, func(w http.ResponseWriter, req map[string]any) {
		got = req
		reply(w, map[string]any{"id": req["id"], "approve": false})
	})
	w := &Webhook{URL: srv.URL, Secret: testSecret}
	if _, err := w.Approve(context.Background(), askRequest()); err != nil {
		t.Fatal(err)
	}
	d, _ := got["decision"].(map[string]any)
	if got["command"] != "mytool --fix x" || got["kind"] != "command" || got["workspace"] != "/src/app" || got["agent"] != "agent-7" ||
		d["verdict"] != "ask" || d["rule"] != "unknown-program" || len(got["id"].(string)) != 32 || got["time"] == nil {
		t.Errorf("request body: %v", got)
	}
}

// A receiver that checks signatures rejects a request whose body was
// changed on the way, or that is signed with another secret or too old.
func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"1","command":"ls"}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	sig := Sign(testSecret, now, body)
	if err := VerifySignature(testSecret, now, body, sig); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	old := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	for _, tt := range []struct {
		name, ts string
		body     []byte
		secret   []byte
		sig      string
	}{
		{"tampered body", now, []byte(`{"id":"1","command":"rm -rf /"}`), testSecret, sig},
		{"other secret", now, body, []byte("other"), sig},
		{"moved timestamp", strconv.FormatInt(time.Now().Unix()+1, 10), body, testSecret, sig},
		{"too old", old, body, testSecret, Sign(testSecret, old, body)},
		{"no prefix", now, body, testSecret, strings.TrimPrefix(sig, "sha256=")},
		{"not hex", now, body, testSecret, "sha256=zz"},
		{"empty", now, body, testSecret, ""},
		{"no secret", now, body, nil, sig},
	} {
		if err := VerifySignature(tt.secret, tt.ts, tt.body, tt.sig); err == nil {
			t.Errorf("%s: verified", tt.name)
		}
	}
}

// A server that does not answer in time is a refusal, within the timeout.
func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := receiver(t, func(w http.ResponseWriter, req map[string]any) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		reply(w, map[string]any{"id": req["id"], "approve": true})
	})
	defer close(release)
	w := &Webhook{URL: srv.URL, Secret: testSecret, Timeout: 200 * time.Millisecond}
	start := time.Now()
	a, err := w.Approve(context.Background(), askRequest())
	if err == nil || a.Granted || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("slow server: %+v, %v", a, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the refusal took %s", d)
	}
}

// A redirect is refused, and its target never gets the request.
func TestWebhookRedirect(t *testing.T) {
	var hit atomic.Bool
	target := receiver(t, func(w http.ResponseWriter, req map[string]any) {
		hit.Store(true)
		reply(w, map[string]any{"id": req["id"], "approve": true})
	})
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		srv := receiver(t, func(w http.ResponseWriter, req map[string]any) {
			http.Redirect(w, &http.Request{}, target.URL, code)
		})
		// A client that follows redirects by itself is overridden.
		w := &Webhook{URL: srv.URL, Secret: testSecret, Client: &http.Client{}}
		a, err := w.Approve(context.Background(), askRequest())
		if err == nil || a.Granted || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%d: %+v, %v", code, a, err)
		}
	}
	if hit.Load() {
		t.Error("the redirect's target got the request")
	}
}

// Plain http to another machine is refused before anything is sent.
func TestWebhookURL(t *testing.T) {
	var hit atomic.Bool
	// The client's transport records any attempt to connect.
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		hit.Store(true)
		return nil, io.EOF
	})}
	for _, u := range []string{"http://example.com/hook", "http://10.0.0.1/hook", "ftp://127.0.0.1/x", "127.0.0.1:80", "", "http://127.0.0.1.example.com/"} {
		w := &Webhook{URL: u, Secret: testSecret, Client: client}
		if a, err := w.Approve(context.Background(), askRequest()); err == nil || a.Granted {
			t.Errorf("%q: %+v, %v", u, a, err)
		}
	}
	if hit.Load() {
		t.Error("a request was made to a refused URL")
	}
	for _, u := range []string{"https://example.com/hook", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x", "http://127.9.9.9/"} {
		if _, err := CheckWebhookURL(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
	// No secret: nothing is sent unsigned.
	w := &Webhook{URL: "http://127.0.0.1:1/x", Client: client}
	if _, err := w.Approve(context.Background(), askRequest()); err == nil || hit.Load() {
		t.Errorf("no secret: %v, sent %v", err, hit.Load())
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFixed(t *testing.T) {
	for _, allow := range []bool{true, false} {
		a, err := Fixed{Allow: allow}.Approve(context.Background(), askRequest())
		if err != nil || a.Granted != allow || a.How != HowFixed || a.Always {
			t.Errorf("Fixed{%v}: %+v %v", allow, a, err)
		}
	}
}
