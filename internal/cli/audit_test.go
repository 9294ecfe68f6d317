package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/audit"
)

// auditLog writes a log of four records: an allowed run, a denial, an
// approved run that failed, and a run stopped by its timeout.
func auditLog(t *testing.T, opts audit.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs := []*audit.Record{
		{Agent: "claude", Command: "go test ./...", Decision: &audit.Decision{Verdict: "allow", Rule: "go"}, Exit: &audit.Exit{Code: 0, Reason: "exit"}},
		{Agent: "codex", Command: "rm -rf ~", Decision: &audit.Decision{Verdict: "deny", Rule: "rm-home"}},
		{Agent: "claude", Command: "curl example.com\nfake line", Decision: &audit.Decision{Verdict: "ask", Rule: "unknown-program"},
			Approval: &audit.Approval{Granted: true, How: "flag", By: "flag"}, Exit: &audit.Exit{Code: 6, Reason: "exit"}},
		{Agent: "codex", Command: "sleep 100", Decision: &audit.Decision{Verdict: "allow", Rule: "sleep"}, Exit: &audit.Exit{Code: 137, Reason: "timeout"}},
	}
	for _, r := range recs {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestAuditShow(t *testing.T) {
	path := auditLog(t, audit.Options{})
	tests := []struct {
		args []string
		want []string // commands shown, in order
	}{
		{nil, []string{"go test", "rm -rf", "curl", "sleep"}},
		{[]string{"--decision", "deny"}, []string{"rm -rf"}},
		{[]string{"--agent", "claude"}, []string{"go test", "curl"}},
		{[]string{"--exit", "0"}, []string{"go test"}},
		{[]string{"--exit", "137", "--agent", "codex"}, []string{"sleep"}},
		{[]string{"--grep", "example"}, []string{"curl"}},
		{[]string{"--last", "2"}, []string{"curl", "sleep"}},
		{[]string{"--since", "1h"}, []string{"go test", "rm -rf", "curl", "sleep"}},
		{[]string{"--since", "2000-01-01T00:00:00Z", "--decision", "allow"}, []string{"go test", "sleep"}},
		{[]string{"--since", "2999-01-01"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := run(t, append([]string{"audit", "show", "--log", path}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if out == "" {
				lines = nil
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("got\n%s\nwant %v", out, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d: %q does not show %q", i, lines[i], w)
				}
			}
		})
	}
	_, out, _ := run(t, "audit", "show", "--log", path)
	for _, w := range []string{"allow  exit 0", "deny   not run", `curl example.com\nfake line`, "137 timeout", "[codex]"} {
		if !strings.Contains(out, w) {
			t.Errorf("show does not say %q:\n%s", w, out)
		}
	}
	_, out, _ = run(t, "audit", "show", "--log", path, "--json", "--decision", "ask")
	var r audit.Record
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Seq != 3 || r.Approval == nil || r.Prev == "" {
		t.Errorf("--json: %v %+v from %s", err, r, out)
	}
	for _, bad := range [][]string{{"--decision", "maybe"}, {"--since", "yesterday"}, {"--last", "-1"}} {
		if code, _, errs := run(t, append([]string{"audit", "show", "--log", path}, bad...)...); code != ExitUsage || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: exit %d, %s", bad, code, errs)
		}
	}
	if code, _, errs := run(t, "audit", "show", "--log", path+".none"); code != 0 || !strings.Contains(errs, "no audit log") {
		t.Errorf("missing log: exit %d, %s", code, errs)
	}
}

func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k", "audit.key")
	code, out, errs := run(t, "audit", "keygen", "--out", key)
	if code != 0 || !strings.Contains(out, key+".pub") {
		t.Fatalf("keygen: exit %d: %s %s", code, out, errs)
	}
	if code, _, _ := run(t, "audit", "keygen", "--out", key); code == 0 {
		t.Error("keygen overwrote a key")
	}
	priv, err := audit.ReadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := auditLog(t, audit.Options{SigningKey: priv})
	code, out, errs = run(t, "audit", "verify", "--log", path, "--pubkey", key+".pub")
	if code != 0 || !strings.Contains(out, "ok, 4 records, seq 1 to 4, head signed at seq 4") {
		t.Fatalf("verify: exit %d: %s %s", code, out, errs)
	}

	// An edited record shows at the next line; a cut end shows at the head.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("rm -rf ~"), []byte("ls ~"), 1), 0o600)
	code, out, errs = run(t, "audit", "verify", "--log", path)
	if code != ExitAuditBad || !strings.Contains(out, "line 3 (seq 3): chain:") || !strings.Contains(errs, "does not verify") {
		t.Errorf("edited: exit %d: %s %s", code, out, errs)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	os.WriteFile(path, bytes.Join(lines[:3], nil), 0o600)
	if code, _, _ := run(t, "audit", "verify", "--log", path); code != ExitAuditBad {
		t.Errorf("cut without --pubkey: exit %d (the unsigned head should still catch it)", code)
	}
	code, out, _ = run(t, "audit", "verify", "--log", path, "--pubkey", key+".pub")
	if code != ExitAuditBad || !strings.Contains(out, "records were removed from the end") {
		t.Errorf("cut: exit %d: %s", code, out)
	}

	// A torn last line is reported as such, and repair removes it.
	os.WriteFile(path, append(bytes.Join(lines[:4], nil), `{"seq":5,"ti`...), 0o600)
	code, out, _ = run(t, "audit", "verify", "--log", path, "--pubkey", key+".pub")
	if code != ExitAuditBad || !strings.Contains(out, "torn last line") || strings.Contains(out, "chain") {
		t.Errorf("torn: exit %d: %s", code, out)
	}
	code, out, _ = run(t, "audit", "repair", "--log", path)
	if code != 0 || !strings.Contains(out, "12 bytes") {
		t.Errorf("repair: exit %d: %s", code, out)
	}
	if code, out, _ := run(t, "audit", "verify", "--log", path, "--pubkey", key+".pub"); code != 0 {
		t.Errorf("after repair: exit %d: %s", code, out)
	}
	if code, _, errs := run(t, "audit", "verify", "--log", path, "--pubkey", path); code != ExitUsage {
		t.Errorf("bad key file: exit %d: %s", code, errs)
	}
}

func TestAuditTail(t *testing.T) {
	path := auditLog(t, audit.Options{})
	code, out, _ := run(t, "audit", "tail", "--log", path, "--last", "3")
	if code != 0 || strings.Count(out, "\n") != 3 || strings.Contains(out, "go test") {
		t.Fatalf("tail: exit %d:\n%s", code, out)
	}

	// Follow: records appended later are printed, a torn line only once
	// it is complete.
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var seen []string
	done := make(chan error)
	fi, _ := os.Stat(path)
	go func() {
		done <- followLog(ctx, path, fi.Size(), 10*time.Millisecond, os.Stderr, func(e entry) {
			mu.Lock()
			seen = append(seen, e.rec.Command)
			mu.Unlock()
		})
	}()
	l, _ := audit.Open(path, audit.Options{})
	defer l.Close()
	l.Append(&audit.Record{Command: "five"})
	l.Append(&audit.Record{Command: "six"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if strings.Join(seen, ",") != "five,six" {
		t.Errorf("followed %v", seen)
	}
}
