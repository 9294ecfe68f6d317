package guard

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cordon-sh/cordon/internal/gitrisk"
	"github.com/cordon-sh/cordon/verify"
)

// The sandbox holds the workspace root's .git/hooks and .git/config
// read-only. A repository nested in the workspace (a vendored project, a
// workspace holding several repositories, a submodule's git directory) is
// writable like the rest, and git run there later, on the host, would obey
// what a command left in it. So after every command the pipeline goes
// through what the change report found there (verify.GitChange) and puts
// right what would make git run something:
//
//   - a hook created or changed is moved aside (git runs hooks by name);
//   - a config or config.worktree that gained an entry that runs a
//     command or reads other config (core.fsmonitor, core.hooksPath,
//     aliases with !, filters, includes, …; gitrisk.Config) is moved aside
//     and its old content put back; what git clone, git remote or
//     git config user.* write is left alone;
//   - a commondir other than git's own ("." or "../..") is moved aside;
//   - a .git file or symlink leading to a directory of the workspace that
//     is not a git directory (where the command could have made hooks as
//     ordinary files) is moved aside.
//
// Nothing is deleted: what is moved aside keeps its content under
// NAME.quarantined-<time>. Each action is a warning of the response and is
// recorded. Paths are reached beneath the workspace without following a
// symlink, so a swapped directory cannot redirect a rename outside it.
func fixGit(ws string, changes []verify.GitChange) []string {
	if len(changes) == 0 {
		return nil
	}
	root, err := unix.Open(ws, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{fmt.Sprintf("git check: workspace %s: %v; check %d git path(s) it changed before running git there", ws, err, len(changes))}
	}
	defer unix.Close(root)
	var warnings []string
	for _, c := range changes {
		why, restore := gitRisk(root, ws, c)
		if why == "" {
			continue
		}
		aside, err := moveAside(root, c.Path)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %s; moving it aside failed: %v; check it before running git there", c.Path, why, err))
			continue
		}
		w := fmt.Sprintf("%s: %s; moved aside to %s", c.Path, why, aside)
		if restore != nil {
			mode := uint32(c.OldMode.Perm())
			if mode == 0 {
				mode = 0o644
			}
			if _, err := writeBeneath(root, c.Path, restore, mode); err != nil {
				w += fmt.Sprintf(" (putting the old content back failed: %v)", err)
			} else {
				w += ", and its old content put back"
			}
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// gitRisk says why c must be put right ("" if not), and the content to
// put back in its place, if any.
func gitRisk(root int, ws string, c verify.GitChange) (why string, restore []byte) {
	switch c.Control {
	case "hook":
		if c.Kind == verify.KindDir {
			return "", nil // a hooks directory made by git init; its files are checked one by one
		}
		return "a git hook the command made or changed would run on the next git command there", nil
	case "config":
		if c.Kind != verify.KindRegular {
			return "a git config the command replaced by a " + string(c.Kind), c.Old
		}
		now, _, err := readBeneath(root, c.Path)
		if err != nil {
			return "a git config the command changed cannot be read (" + err.Error() + ")", c.Old
		}
		var added []string
		if c.Created || c.Old != nil {
			added = gitrisk.Added(c.Old, now)
		} else {
			added = gitrisk.Config(now) // too large to have been kept: nothing is taken as old
		}
		if len(added) == 0 {
			return "", nil
		}
		return fmt.Sprintf("the command added git config that runs commands or reads other config (%s)", strings.Join(shorten(added), ", ")), c.Old
	case "commondir":
		if c.Kind == verify.KindRegular {
			if now, _, err := readBeneath(root, c.Path); err == nil {
				switch strings.TrimSpace(string(now)) {
				case ".", "../..":
					return "", nil
				}
			}
		}
		return "a git commondir the command made points git at another repository's config and hooks", c.Old
	case "gitdir":
		switch c.Kind {
		case verify.KindDir:
			return "", nil // a new repository: its hooks and config are checked one by one
		case verify.KindRegular, verify.KindSymlink:
			target, err := gitdirTarget(root, ws, c)
			if err != nil {
				return "a .git the command made cannot be read (" + err.Error() + ")", nil
			}
			rel, err := filepath.Rel(ws, target)
			if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
				return "", nil // outside the workspace, where the command could write nothing
			}
			if gitDirPlace(filepath.ToSlash(rel)) {
				return "", nil // a repository's, submodule's or worktree's git directory, checked in its own right
			}
			return fmt.Sprintf("a .git the command made points git at %s, a directory of the workspace that is not a git directory", rel), nil
		}
		return "a .git the command made is a " + string(c.Kind), nil
	}
	return "", nil
}

// gitdirTarget is where the .git file or symlink c leads, as an absolute
// lexical path.
func gitdirTarget(root int, ws string, c verify.GitChange) (string, error) {
	var target string
	if c.Kind == verify.KindSymlink {
		dir, name := path.Split(c.Path)
		dfd, err := openDir(root, path.Clean(dir), false)
		if err != nil {
			return "", err
		}
		defer unix.Close(dfd)
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(dfd, name, buf)
		if err != nil {
			return "", err
		}
		target = string(buf[:n])
	} else {
		b, _, err := readBeneath(root, c.Path)
		if err != nil {
			return "", err
		}
		// As git's read_gitfile_gently: everything after "gitdir: " but
		// the trailing newlines is the path, newlines inside included.
		var ok bool
		if target, ok = strings.CutPrefix(strings.TrimRight(string(b), "\r\n"), "gitdir: "); !ok {
			return "", errors.New("no gitdir: line")
		}
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(ws, filepath.Dir(filepath.FromSlash(c.Path)), target)
	}
	return filepath.Clean(target), nil
}

// gitDirPlace reports whether rel is where git keeps a git directory
// itself: a .git directory, a submodule's (.git/modules/NAME), or a
// worktree's (.git/worktrees/NAME). Anywhere else inside a .git is a
// place whose hooks and config the change report files as git internals.
func gitDirPlace(rel string) bool {
	elems := strings.Split(rel, "/")
	last := -1
	for i, e := range elems {
		if e == ".git" {
			last = i
			break
		}
	}
	if last < 0 {
		return false
	}
	// A submodule's name may hold slashes (vendor/lib); whatever is
	// under modules/ has its hooks and config checked as the change
	// report's GitControl sees them.
	switch rest := elems[last+1:]; {
	case len(rest) == 0:
		return true
	case len(rest) >= 2 && rest[0] == "modules":
		return true
	case len(rest) == 2 && rest[0] == "worktrees":
		return true
	}
	return false
}

// moveAside renames rel beneath root to rel.quarantined-<time> and
// returns the new name.
func moveAside(root int, rel string) (string, error) {
	dir, name := path.Split(rel)
	dfd, err := openDir(root, path.Clean(dir), false)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	aside := fmt.Sprintf("%s.quarantined-%d", name, time.Now().UnixNano())
	if err := unix.Renameat2(dfd, name, dfd, aside, unix.RENAME_NOREPLACE); err != nil {
		return "", err
	}
	return dir + aside, nil
}

// shorten keeps a warning readable: at most five entries, each cut at
// 80 bytes.
func shorten(entries []string) []string {
	var out []string
	for i, e := range entries {
		if i == 5 {
			out = append(out, fmt.Sprintf("and %d more", len(entries)-5))
			break
		}
		if len(e) > 80 {
			e = e[:80] + "…"
		}
		out = append(out, string(bytes.ToValidUTF8([]byte(e), []byte("?"))))
	}
	return out
}
