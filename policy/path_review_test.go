package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// Review test: DecidePath, which the hook and the file tools consult,
// allows writes the sandbox holds read-only: the .git file of a worktree,
// and a protected path reached through a .git symlink whose tail does not
// exist yet.
func TestReviewDecidePathGit(t *testing.T) {
	home, ws := t.TempDir(), t.TempDir()
	p, err := Load(Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	decide := func(path string) *Decision {
		return p.DecidePath(PathRequest{Path: path, Write: true, Workspace: ws, Home: home})
	}
	if err := os.WriteFile(filepath.Join(ws, ".git"), []byte("gitdir: /srv/repo/.git/worktrees/ws\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := decide(".git"); d.Verdict != Deny {
		t.Errorf("write .git (a worktree's .git file): %s %s", d.Verdict, d.Rule)
	}
	if err := os.Remove(filepath.Join(ws, ".git")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "repo.git", "objects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("repo.git", filepath.Join(ws, ".git")); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"repo.git/hooks/pre-commit", "repo.git/config"} {
		if d := decide(rel); d.Verdict != Deny {
			t.Errorf("write %s (.git/%s through the link): %s %s", rel, rel[len("repo.git/"):], d.Verdict, d.Rule)
		}
	}
}
