package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
)

// The egress path from the command line: a host outside the allow list is
// refused by the proxy, with the reason on stderr and in the report; no
// allow list means no network at all.
func TestExecNetwork(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	ws := workspace(t)
	code, stdout, stderr := run(t, "exec", "-w", ws, "--approve=allow", "--allow-host", "allowed.example", "--json", "--",
		"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://denied.example/")
	if stdout != "403" {
		t.Errorf("curl through the proxy to a denied host got %q (exit %d); stderr:\n%s", stdout, code, stderr)
	}
	if !strings.Contains(stderr, "cordon: network: refused denied.example:80") {
		t.Errorf("the refusal is not told on stderr:\n%s", stderr)
	}
	var report struct {
		Network []struct {
			Host     string
			Decision string
		} `json:"network"`
	}
	last := stderr[strings.LastIndex(strings.TrimSpace(stderr), "\n")+1:]
	if err := json.Unmarshal([]byte(last), &report); err != nil || len(report.Network) != 1 ||
		report.Network[0].Host != "denied.example" || report.Network[0].Decision != "deny" {
		t.Errorf("the report does not list the refused attempt: %v %+v\n%s", err, report, last)
	}

	// Without an allow list there is no proxy and no network.
	code, stdout, _ = run(t, "exec", "-w", ws, "--approve=allow", "--",
		"curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", "http://allowed.example/")
	if code == 0 || stdout != "000" {
		t.Errorf("with no network, curl got %q, exit %d", stdout, code)
	}
}

// A host the policy asks about goes to the approval path. The webhook
// here approves the command (curl is asked about) and answers the
// network question as the test says: no gives the proxy's 403, yes lets
// the connection past the rules (it then fails to resolve: 502).
func TestExecNetworkAsk(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	ws := workspace(t)
	// Only the user's policy may turn the network on.
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	if err := os.MkdirAll(filepath.Join(config, "cordon"), 0o700); err != nil {
		t.Fatal(err)
	}
	user := "version: 1\nnetwork:\n  mode: allowlist\n  ask: [asked.example]\n"
	if err := os.WriteFile(filepath.Join(config, "cordon", "policy.yaml"), []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "network-secret"
	t.Setenv("CORDON_WEBHOOK_SECRET", secret)
	var allowNetwork atomic.Bool
	var networkAsked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := approval.VerifySignature([]byte(secret), r.Header.Get(approval.HeaderTimestamp), body, r.Header.Get(approval.HeaderSignature)); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var req struct {
			ID, Kind, Host string
		}
		json.Unmarshal(body, &req)
		ok := true
		if req.Kind == approval.KindNetwork {
			networkAsked.Add(1)
			ok = allowNetwork.Load() && req.Host == "asked.example"
		}
		json.NewEncoder(w).Encode(map[string]any{"id": req.ID, "approve": ok, "by": "reviewer"})
	}))
	defer srv.Close()
	for _, c := range []struct {
		allow  bool
		status string
	}{{false, "403"}, {true, "502"}} {
		allowNetwork.Store(c.allow)
		before := networkAsked.Load()
		logPath := filepath.Join(t.TempDir(), "audit.jsonl")
		_, stdout, stderr := run(t, "exec", "-w", ws, "--audit-log", logPath, "--approve", "webhook="+srv.URL+"/hook", "--",
			"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://asked.example/")
		if stdout != c.status || networkAsked.Load() != before+1 {
			t.Errorf("network answer %v: curl got %q, want %q; asked %d times; stderr:\n%s", c.allow, stdout, c.status, networkAsked.Load()-before, stderr)
		}
		// The record says who answered the network question.
		data, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := audit.ParseRecord(bytes.TrimSpace(data))
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Network) != 1 || rec.Network[0].Approval == nil || rec.Network[0].Approval.By != "reviewer" ||
			rec.Network[0].Approval.How != approval.HowWebhook || rec.Network[0].Approval.Granted != c.allow {
			t.Errorf("network answer %v: the record's network events do not carry the answer: %+v", c.allow, rec.Network)
		}
	}
}

// --landlock-tcp keeps the proxy reachable and refuses every other TCP
// port, even the sandbox's own loopback.
func TestExecLandlockTCP(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	ws := workspace(t)
	_, stdout, stderr := run(t, "exec", "-w", ws, "--approve=allow", "--landlock-tcp", "--allow-host", "allowed.example", "--",
		"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://denied.example/")
	if stdout != "403" {
		t.Errorf("through the proxy with --landlock-tcp: %q; stderr:\n%s", stdout, stderr)
	}
	// A server inside on another port cannot even be bound.
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	code, _, stderr := run(t, "exec", "-w", ws, "--approve=allow", "--landlock-tcp", "--allow-host", "allowed.example", "--",
		"python3", "-c", "import socket; socket.socket().bind(('127.0.0.1', 8099))")
	if code == 0 || !strings.Contains(stderr, "ermission") {
		t.Errorf("bind with --landlock-tcp: exit %d, stderr %q", code, stderr)
	}
}
