package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cordon-sh/cordon/approval"
)

// cordon exec --approve webhook=URL asks a local receiver, which checks
// the signature: its yes runs the command, its no refuses it with 126,
// and the audit record says the webhook answered.
func TestExecWebhook(t *testing.T) {
	noUserPolicy(t)
	const secret = "test-secret"
	t.Setenv("CORDON_WEBHOOK_SECRET", secret)
	var approve atomic.Bool
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := approval.VerifySignature([]byte(secret), r.Header.Get(approval.HeaderTimestamp), body, r.Header.Get(approval.HeaderSignature)); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		asked.Add(1)
		var req struct {
			ID, Command string
			Decision    struct{ Rule string }
		}
		json.Unmarshal(body, &req)
		if !strings.Contains(req.Command, "rm -f nothing") || req.Decision.Rule != "delete-in-workspace" {
			t.Errorf("the webhook was asked about %q (rule %q)", req.Command, req.Decision.Rule)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": req.ID, "approve": approve.Load(), "by": "reviewer", "reason": "checked"})
	}))
	defer srv.Close()
	ws := workspace(t)
	log := filepath.Join(t.TempDir(), "audit.jsonl")
	for _, tt := range []struct {
		approve bool
		code    int
	}{{true, 0}, {false, ExitDenied}} {
		approve.Store(tt.approve)
		marker := filepath.Join(ws, "ran")
		os.Remove(marker)
		code, _, stderr := run(t, "exec", "-w", ws, "--audit-log", log, "--approve", "webhook="+srv.URL+"/hook",
			"--", "sh", "-c", "touch "+marker+"; rm -f nothing")
		if code != tt.code {
			t.Errorf("webhook says %v: exit %d, want %d: %s", tt.approve, code, tt.code, stderr)
		}
		if _, err := os.Stat(marker); (err == nil) != tt.approve {
			t.Errorf("webhook says %v: ran = %v", tt.approve, err == nil)
		}
	}
	if asked.Load() != 2 {
		t.Errorf("the webhook was asked %d times, want 2", asked.Load())
	}
	_, out, _ := run(t, "audit", "show", "--log", log, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d records:\n%s", len(lines), out)
	}
	for i, line := range lines {
		var r struct {
			Approval *struct {
				Granted bool
				How, By string
			}
		}
		json.Unmarshal([]byte(line), &r)
		if r.Approval == nil || r.Approval.How != "webhook" || r.Approval.Granted != (i == 0) || r.Approval.By != "reviewer" {
			t.Errorf("record %d: approval %+v", i, r.Approval)
		}
	}

	// A webhook that is down refuses; a bad URL or no secret is a usage error.
	srv.Close()
	if code, _, stderr := run(t, "exec", "-w", ws, "--approve", "webhook="+srv.URL, "--", "rm", "-f", "nothing"); code != ExitDenied {
		t.Errorf("webhook down: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "exec", "-w", ws, "--approve", "webhook=http://example.com/hook", "--", "true"); code != ExitUsage || !strings.Contains(stderr, "https") {
		t.Errorf("plain http to another host: exit %d: %s", code, stderr)
	}
	t.Setenv("CORDON_WEBHOOK_SECRET", "")
	if code, _, stderr := run(t, "exec", "-w", ws, "--approve", "webhook=https://example.com/hook", "--", "true"); code != ExitUsage || !strings.Contains(stderr, "CORDON_WEBHOOK_SECRET") {
		t.Errorf("no secret: exit %d: %s", code, stderr)
	}
}

// A webhook's "always" saves a rule in the user policy: the next run of
// the same command is not asked about.
func TestExecWebhookAlways(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("CORDON_WEBHOOK_SECRET", "s")
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		var req struct{ ID string }
		json.NewDecoder(r.Body).Decode(&req)
		json.NewEncoder(w).Encode(map[string]any{"id": req.ID, "approve": true, "always": true})
	}))
	defer srv.Close()
	ws := workspace(t)
	// A program that no rule names is asked about (and does not exist:
	// what matters here is the question, not the run).
	args := []string{"exec", "-w", ws, "--no-audit", "--approve", "webhook=" + srv.URL, "--", "sh", "-c", "no-such-tool -V"}
	code, _, stderr := run(t, "check", "-w", ws, "no-such-tool -V")
	if code != ExitAsk {
		t.Fatalf("no-such-tool is not asked about (exit %d): %s", code, stderr)
	}
	if code, _, stderr = run(t, args...); !strings.Contains(stderr, "allowed from now on") || asked.Load() != 1 {
		t.Fatalf("exit %d, nothing saved: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cfg, "cordon", "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = run(t, "check", "-w", ws, "no-such-tool -V"); code != 0 {
		t.Errorf("after allow always: exit %d: %s", code, stderr)
	}
	if code, _, _ = run(t, "check", "-w", ws, "no-such-tool -V -x"); code == 0 {
		t.Error("other arguments are allowed too")
	}
	// The next run is not asked about.
	run(t, args...)
	if asked.Load() != 1 {
		t.Errorf("asked %d times", asked.Load())
	}
}
