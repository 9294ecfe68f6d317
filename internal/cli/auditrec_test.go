package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// Every exec is recorded, run or not, in a log that verifies.
func TestExecRecords(t *testing.T) {
	ws := workspace(t)
	log := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, _, stderr := run(t, "exec", "-w", ws, "--audit-log", log, "--agent", "test-agent", "--", "sh", "-c", "echo hello; exit 3"); code != 3 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, _ := run(t, "exec", "-w", ws, "--audit-log", log, "--", "rm", "-rf", "/etc"); code != ExitDenied {
		t.Fatalf("rm -rf /etc was not denied (exit %d)", code)
	}
	if code, _, _ := run(t, "exec", "-w", ws, "--audit-log", log, "--approve=allow", "--", "rm", "-f", "nothing"); code != 0 {
		t.Fatalf("an approved run failed (exit %d)", code)
	}
	if code, out, stderr := run(t, "audit", "verify", "--log", log); code != 0 {
		t.Fatalf("the log does not verify (exit %d): %s %s", code, out, stderr)
	}
	code, out, stderr := run(t, "audit", "show", "--log", log, "--json")
	if code != 0 {
		t.Fatalf("audit show: exit %d: %s", code, stderr)
	}
	type rec struct {
		Seq      int    `json:"seq"`
		Agent    string `json:"agent"`
		Command  string `json:"command"`
		Decision *struct {
			Verdict string `json:"verdict"`
			Rule    string `json:"rule"`
		} `json:"decision"`
		Approval *struct {
			Granted bool   `json:"granted"`
			How     string `json:"how"`
		} `json:"approval"`
		Exit *struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
		} `json:"exit"`
		Stdout *struct {
			SHA256 string `json:"sha256"`
			Bytes  int64  `json:"bytes"`
		} `json:"stdout"`
		Enforced *struct {
			Seccomp bool `json:"seccomp"`
		} `json:"enforced"`
	}
	var recs []rec
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r rec
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v in %q", err, line)
		}
		recs = append(recs, r)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3:\n%s", len(recs), out)
	}
	first, denied, approved := recs[0], recs[1], recs[2]
	if first.Agent != "test-agent" || first.Exit == nil || first.Exit.Code != 3 || first.Stdout == nil || first.Stdout.Bytes != 6 ||
		first.Enforced == nil || !first.Enforced.Seccomp || first.Decision == nil || first.Decision.Verdict != "allow" {
		t.Errorf("the run's record lacks what happened: %+v", first)
	}
	if denied.Decision == nil || denied.Decision.Verdict != "deny" || denied.Exit != nil {
		t.Errorf("the denied request's record: %+v", denied)
	}
	if approved.Approval == nil || !approved.Approval.Granted || approved.Approval.How != "flag" || approved.Exit == nil {
		t.Errorf("the approved run's record: %+v", approved)
	}
}
