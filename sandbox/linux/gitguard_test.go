package linux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRiskyConfig(t *testing.T) {
	tests := []struct {
		config string
		want   string // comma-joined findings
	}{
		{"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n", ""},
		{"[core]\n\tfsmonitor = touch /tmp/x\n", "core.fsmonitor"},
		{"[Core]\n\tHooksPath = /tmp/h\n", "core.hookspath"},
		{"[core] sshCommand = sh -c id\n", "core.sshcommand"},
		{"[filter \"lfs\"]\n\tclean = sh -c id\n", "filter.lfs.clean"},
		{"[alias]\n\tst = !sh -c id\n", "alias.st"},
		{"[include]\n\tpath = ../evil\n", "include.path"},
		{"[user]\n\tname = n\n\temail = e\n[branch \"main\"]\n\tremote = origin\n", ""},
		{"[core\n", "an unparsable config"},
		{"# " + strings.Repeat("x", 70000) + "\n[core]\n\tfsmonitor = x\n", "core.fsmonitor"},
		{"[core]\n\tbare = false\n[extensions]\n\tworktreeConfig = true\n", "extensions.worktreeconfig"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		p := filepath.Join(dir, "config")
		if err := os.WriteFile(p, []byte(tt.config), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(riskyConfig(p), ","); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.config, got, tt.want)
		}
	}
}

func TestCheckNewRepo(t *testing.T) {
	ws := t.TempDir()
	git := filepath.Join(ws, ".git")
	os.MkdirAll(filepath.Join(git, "hooks"), 0o755)
	os.WriteFile(filepath.Join(git, "hooks", "pre-commit.sample"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(git, "config"), []byte("[core]\n\tbare = false\n"), 0o644)
	if w := checkNewRepo(git); w != "" {
		t.Fatalf("an inert repository was reported: %s", w)
	}
	os.WriteFile(filepath.Join(git, "hooks", "post-checkout"), []byte("#!/bin/sh\n"), 0o755)
	w := checkNewRepo(git)
	if !strings.Contains(w, "hook post-checkout") || !strings.Contains(w, "moved to") {
		t.Fatalf("a hook was not reported: %q", w)
	}
	if _, err := os.Stat(git); !os.IsNotExist(err) {
		t.Fatal("the repository with a hook was not moved aside")
	}
}
