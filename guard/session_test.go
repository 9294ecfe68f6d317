package guard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// A session runs each command through the whole pipeline: judged, run in
// the one sandbox, output verified, changes listed, recorded.
func TestSession(t *testing.T) {
	ws := t.TempDir()
	g, logPath := newGuard(t, ws)
	ctx := context.Background()
	s, err := g.StartSession(ctx, &SessionRequest{Workspace: ws, Agent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run := func(text string) (*Response, error) {
		return s.Run(ctx, &Request{Text: text, Agent: "test", Session: "s1"})
	}
	resp, err := run("echo one > a.txt; echo tmp > /tmp/t; sleep 1000 & echo started")
	if err != nil || resp.Result.ExitCode != 0 || string(resp.Stdout) != "started\n" {
		t.Fatalf("first: %v %+v", err, resp)
	}
	if resp.Changes == nil || len(resp.Changes.Created) != 1 || resp.Changes.Created[0].Path != "a.txt" {
		t.Fatalf("changes %+v", resp.Changes)
	}
	// State persists; processes do not.
	resp, err = run("cat a.txt /tmp/t; pgrep -x sleep || echo no sleep")
	if err != nil || string(resp.Stdout) != "one\ntmp\nno sleep\n" {
		t.Fatalf("second: %v %q %q", err, resp.Stdout, resp.Stderr)
	}
	// Denied before it reaches the session.
	marker := filepath.Join(ws, "ran")
	_, err = run("rm -rf ~; touch " + marker)
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("rm -rf ~ in a session: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a denied command ran in the session")
	}
	// Output is verified as in Run.
	token := "ghp_" + "4Zq1mR8xT2vB6nK0pL3sD7fH9jW5yC1eA0uI"
	resp, err = run("echo " + token)
	if err != nil || strings.Contains(string(resp.Stdout), token) || len(resp.Findings) != 1 {
		t.Fatalf("secret in a session: %v %q %+v", err, resp.Stdout, resp.Findings)
	}
	// Another workspace is refused.
	if _, err := s.Run(ctx, &Request{Text: "true", Workspace: t.TempDir()}); err == nil {
		t.Fatal("a command for another workspace ran in the session")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := run("true"); !errors.Is(err, sandbox.ErrSessionClosed) {
		t.Fatalf("after close: %v", err)
	}
	recs := records(t, logPath)
	if len(recs) != 4 || recs[0].Session != "s1" || recs[2].Decision.Verdict != "deny" {
		t.Fatalf("%d records", len(recs))
	}
}

// A command keeps what it starts in the background only where the policy
// lets it, and only in a session.
func TestSessionKeepBackground(t *testing.T) {
	ws := t.TempDir()
	g, _ := newGuard(t, ws)
	ctx := context.Background()
	s, err := g.StartSession(ctx, &SessionRequest{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := &Request{Text: "sleep 1000 & echo started", KeepBackground: true}
	_, err = s.Run(ctx, start)
	var denied *DeniedError
	if !errors.As(err, &denied) || denied.Decision.Rule != "session.keep_background" {
		t.Fatalf("without the policy's leave: %v", err)
	}
	if _, err := g.Run(ctx, &Request{Text: "true", Workspace: ws, KeepBackground: true}); err == nil {
		t.Fatal("a one-shot run accepted KeepBackground")
	}
	g.Policy.Session.KeepBackground = true
	if resp, err := s.Run(ctx, start); err != nil || string(resp.Stdout) != "started\n" {
		t.Fatalf("with the policy's leave: %v", err)
	}
	resp, err := s.Run(ctx, &Request{Text: "pgrep -x sleep >/dev/null && echo kept"})
	if err != nil || string(resp.Stdout) != "kept\n" {
		t.Fatalf("the background process is gone: %v %q", err, resp.Stdout)
	}
}
