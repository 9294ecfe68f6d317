package linux

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cordon-sh/cordon/internal/gitrisk"
)

// Some protected paths cannot be held by a placeholder when they are
// missing (see watchOnly): a workspace without .git, a repository without
// commondir or config.worktree. What a run creates there is what a later
// git run on the host would obey, so once the run is over, with every
// process of it dead, it is read; anything that would make git run a
// command or look elsewhere for its config is moved aside, not deleted,
// and the run reports it.

// checkWatched inspects the watched paths and returns a warning for each
// thing it moved aside.
func (pr *protection) checkWatched() []string {
	var warnings []string
	for _, p := range pr.watched {
		if _, err := os.Lstat(p); err != nil {
			continue // still missing
		}
		if filepath.Base(p) == ".git" {
			if w := checkNewRepo(p); w != "" {
				warnings = append(warnings, w)
			}
			continue
		}
		warnings = append(warnings, quarantine(p, []string{"created " + pr.rel(p)}))
	}
	return warnings
}

// quarantine moves path aside and says so.
func quarantine(path string, found []string) string {
	aside := fmt.Sprintf("%s.quarantined-%d", path, time.Now().UnixNano())
	what := strings.Join(found, ", ")
	if err := os.Rename(path, aside); err != nil {
		return fmt.Sprintf("the run left %s in %s, and moving it aside failed: %v; check it before running git there",
			what, filepath.Dir(path), err)
	}
	return fmt.Sprintf("the run left %s; it was moved to %s", what, aside)
}

// checkNewRepo inspects the repository at dir, created during the run, and
// moves it aside if it is not the inert repository git init makes.
func checkNewRepo(dir string) string {
	st, err := os.Lstat(dir)
	if err != nil {
		return ""
	}
	var found []string
	if !st.IsDir() {
		found = append(found, "a .git that is not a directory (it can point git elsewhere)")
	} else {
		for _, name := range []string{"commondir", "config.worktree", "modules", "worktrees"} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				found = append(found, ".git/"+name)
			}
		}
		found = append(found, riskyHooks(filepath.Join(dir, "hooks"))...)
		found = append(found, riskyConfig(filepath.Join(dir, "config"))...)
	}
	if len(found) == 0 {
		return ""
	}
	return quarantine(dir, []string{"a new repository with " + strings.Join(found, ", ")})
}

// riskyHooks lists the hooks that git would run: every file but the
// samples git init copies from its templates.
func riskyHooks(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sample") {
			out = append(out, "hook "+e.Name())
		}
	}
	return out
}

// riskyConfig lists the entries of the config at path that make git run
// commands (see gitrisk.Config).
func riskyConfig(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, gitrisk.MaxConfig+1))
	if err != nil {
		return []string{"an unreadable config"}
	}
	return gitrisk.Config(data)
}
