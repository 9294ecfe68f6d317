package linux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

// What git clone leaves is not a risky repository; a remote whose URL runs
// a command, or an upload-pack command, is.
func TestCheckNewRepoClone(t *testing.T) {
	ws := t.TempDir()
	git := filepath.Join(ws, ".git")
	os.MkdirAll(filepath.Join(git, "hooks"), 0o755)
	cloned := "[core]\n\trepositoryformatversion = 0\n\tbare = false\n" +
		"[remote \"origin\"]\n\turl = https://example.com/x.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n" +
		"[branch \"main\"]\n\tremote = origin\n\tmerge = refs/heads/main\n"
	os.WriteFile(filepath.Join(git, "config"), []byte(cloned), 0o644)
	if w := checkNewRepo(git); w != "" {
		t.Fatalf("a cloned repository was moved aside: %s", w)
	}
	for _, extra := range []string{"\tuploadpack = sh -c id\n", "\tpushurl = ext::sh -c id\n"} {
		cfg := strings.Replace(cloned, "\tfetch", extra+"\tfetch", 1)
		os.WriteFile(filepath.Join(git, "config"), []byte(cfg), 0o644)
		if w := checkNewRepo(git); !strings.Contains(w, "moved to") {
			t.Fatalf("%q: not moved aside (%q)", extra, w)
		}
		os.MkdirAll(filepath.Join(git, "hooks"), 0o755)
	}
}
