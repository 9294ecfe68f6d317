package mcp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Review tests of the HTTP transport without a token, on loopback: what a
// web page in the user's browser can make it do. Both pass: the SDK's
// handler checks the Host header of requests that arrive on a loopback
// address and takes only application/json, which a cross-origin page
// cannot send without a CORS preflight that the handler never grants.

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"page","version":"1"}}}`

func TestReviewTokenlessRejectsRebinding(t *testing.T) {
	e := newEnv(t)
	hs := httptest.NewServer(Handler(New(e.guard, Options{Workspace: e.ws}), ""))
	defer hs.Close()
	post := func(host, ctype string) int {
		req, _ := http.NewRequest("POST", hs.URL, strings.NewReader(initBody))
		req.Host = host
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Origin", "http://"+host)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	port := hs.URL[strings.LastIndex(hs.URL, ":"):]
	// A page on a name that the attacker rebinds to 127.0.0.1.
	for _, host := range []string{"evil.example" + port, "localhost.evil.example" + port, "127.0.0.1.nip.io" + port} {
		if code := post(host, "application/json"); code != http.StatusForbidden {
			t.Errorf("Host %s: status %d, want 403", host, code)
		}
	}
	// A cross-origin "simple" request (no preflight) from any page.
	if code := post("127.0.0.1"+port, "text/plain"); code < 400 {
		t.Errorf("text/plain POST: status %d", code)
	}
	// The control: a local client is served.
	if code := post("127.0.0.1"+port, "application/json"); code != http.StatusOK {
		t.Errorf("local client: status %d", code)
	}
}
