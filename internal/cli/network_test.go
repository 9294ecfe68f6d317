package cli

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
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
