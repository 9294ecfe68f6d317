package guard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
)

// A kept background process of one command opens a connection the policy
// asks about while a later command of the session runs. The question goes
// to the approver of the command running then (s.cur), with that
// command's text: the later command's client answers for a process it did
// not start, and an --approve=allow of the later command lets through
// what the first command's client would have refused.
func TestReview2SessionBackgroundAskedOfLaterCommand(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	must(t, os.MkdirAll(filepath.Join(config, "cordon"), 0o700))
	user := "version: 1\nnetwork:\n  mode: allowlist\n  ask: [asked.example]\n"
	must(t, os.WriteFile(filepath.Join(config, "cordon", "policy.yaml"), []byte(user), 0o600))
	ws := t.TempDir()
	g, _ := newGuard(t, ws)
	g.Policy.Session.KeepBackground = true
	if len(g.Policy.Network.Ask) == 0 {
		t.Fatal("the user policy's ask list was not loaded; the case does not hold")
	}

	var mu sync.Mutex
	asked := map[string][]string{} // approver → commands it was asked about
	approver := func(name string, grant bool) Approver {
		return func(ctx context.Context, req *approval.Request) *audit.Approval {
			mu.Lock()
			asked[name] = append(asked[name], req.Command)
			mu.Unlock()
			return &audit.Approval{Granted: grant, By: name, How: "test", At: time.Now().UTC()}
		}
	}
	script := "(sleep 1; curl -s -m 5 -o /dev/null http://asked.example/) >/dev/null 2>&1 &\necho started\n"
	must(t, os.WriteFile(filepath.Join(ws, "bg.sh"), []byte(script), 0o644))

	// The session's own approver (the Guard's), which refuses.
	g.Approve = approver("session", false)
	ctx := context.Background()
	s, err := g.StartSession(ctx, &SessionRequest{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Run(ctx, &Request{Text: "sh bg.sh", KeepBackground: true, Approve: approver("first", false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, &Request{Text: "sleep 4", Approve: approver("second", true)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked["first"])+len(asked["second"])+len(asked["session"]) == 0 {
		t.Fatal("the background connection raised no question; the case does not hold")
	}
	if len(asked["second"]) > 0 {
		t.Errorf("the second command's approver was asked about the first command's background connection, as %q", asked["second"])
	}
}
