package linux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// placeholderXattr marks a directory cordon created to hold a protected
// path that did not exist, so that any later run can tell it from the
// user's own and remove it once empty.
const placeholderXattr = "user.cordon.placeholder"

// protection is the plan for the protected paths of one run.
type protection struct {
	steps []mount
	// placeholders are directories (or, for a few paths, files; see
	// filePlaceholders) made on the host for protected paths that did not
	// exist; they are removed after the run.
	placeholders []string
	// missing are the placeholders still to be made.
	missing []string
	// watched are protected paths that did not exist and get no
	// placeholder, because an empty directory in their place would break
	// git (see watchOnly); what the run creates there is checked after it.
	watched []string
	ws      string
	pinned  map[string]bool
}

// create makes the placeholders. The parent calls it while the init starts
// up, which takes longer, so that it costs no time; the init mounts them
// only after it has read the plan, which the parent sends afterwards.
func (pr *protection) create() error {
	for _, p := range pr.missing {
		content, isFile := filePlaceholders[pr.rel(p)]
		var err error
		if isFile {
			var f *os.File
			f, err = os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o444)
			if err == nil {
				_, err = f.WriteString(content)
				f.Close()
			}
		} else {
			err = os.Mkdir(p, 0o755)
		}
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue // made meanwhile; held as it is
			}
			return fmt.Errorf("placeholder %s: %w", p, err)
		}
		// Best effort: without user xattrs the placeholder is still
		// removed by this run, only not by a later one.
		_ = unix.Lsetxattr(p, placeholderXattr, []byte("1"), 0)
		pr.placeholders = append(pr.placeholders, p)
	}
	pr.missing = nil
	return nil
}

// filePlaceholders are the protected paths whose placeholder is a file
// with this content, because git reads them when they exist: a commondir
// of "." names the repository itself, and an empty config.worktree is an
// empty config.
var filePlaceholders = map[string]string{
	".git/commondir":       ".\n",
	".git/config.worktree": "",
}

// planProtected decides how to hold each protected path read-only.
//
// A bind mount makes a path read-only, and a mount point can be neither
// removed nor renamed; but an attacker who could rename an ancestor (mv .git
// .old; mkdir -p .git/hooks) or replace a symlink on the way, or create a
// path that did not exist, would get around it. So every directory between
// the workspace and a protected path is pinned (bound onto itself), every
// symlink on the way is pinned itself and followed, and a path that does
// not exist gets an empty read-only placeholder where its first missing
// component would be.
//
// writable are the host paths the sandbox can write; a symlink that leads
// out of all of them needs nothing more, since the place it leads to is
// read-only already.
func planProtected(ws string, rel []string, writable []string) (*protection, error) {
	pr := &protection{pinned: map[string]bool{}, ws: ws}
	for _, r := range rel {
		clean := filepath.Clean(r)
		if filepath.IsAbs(clean) {
			inside, err := filepath.Rel(ws, clean)
			if err != nil || inside == ".." || strings.HasPrefix(inside, "../") {
				return nil, fmt.Errorf("protected path %s is not inside the workspace %s", r, ws)
			}
			clean = inside
		}
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("protected path %q is not inside the workspace", r)
		}
		if err := pr.walk(ws, strings.Split(clean, "/"), writable, 0); err != nil {
			return nil, fmt.Errorf("protected path %s: %w", r, err)
		}
	}
	return pr, nil
}

func (pr *protection) pin(path string, kind mountKind, ro bool) {
	key := string(kind) + ":" + path
	if pr.pinned[key] {
		return
	}
	pr.pinned[key] = true
	pr.steps = append(pr.steps, mount{Kind: kind, Dst: path, RO: ro})
}

func (pr *protection) walk(cur string, parts []string, writable []string, depth int) error {
	if depth > 40 {
		return errors.New("too many levels of symbolic links")
	}
	for i, c := range parts {
		next := filepath.Join(cur, c)
		last := i == len(parts)-1
		st, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist) && watchOnly[pr.rel(next)]:
			pr.watched = append(pr.watched, next)
			return nil
		case errors.Is(err, fs.ErrNotExist):
			// Made by create, once the init is starting.
			if !pr.pinned[string(mPin)+":"+next] {
				pr.missing = append(pr.missing, next)
			}
			pr.pin(next, mPin, true)
			return nil
		case err != nil:
			return err
		case st.Mode()&fs.ModeSymlink != 0:
			// Pin the link so it cannot be swapped for a real directory,
			// then follow it.
			pr.pin(next, mSymlinkPin, false)
			target, err := filepath.EvalSymlinks(next)
			if errors.Is(err, fs.ErrNotExist) {
				// A dangling link: whatever it would lead to is created
				// through it, so hold the link's target place instead.
				dest, rerr := os.Readlink(next)
				if rerr != nil {
					return rerr
				}
				if !filepath.IsAbs(dest) {
					dest = filepath.Join(cur, dest)
				}
				if !underAny(dest, writable) {
					return nil
				}
				return pr.walk("/", append(strings.Split(strings.TrimPrefix(filepath.Clean(dest), "/"), "/"), parts[i+1:]...), writable, depth+1)
			}
			if err != nil {
				return err
			}
			if !underAny(target, writable) {
				return nil
			}
			if last {
				pr.pin(target, mPin, true)
				return nil
			}
			// Continue from the target; its own ancestors up to the
			// writable root are pinned by walking from there.
			root := rootOf(target, writable)
			rest, _ := filepath.Rel(root, target)
			more := append(strings.Split(rest, "/"), parts[i+1:]...)
			if rest == "." {
				more = parts[i+1:]
			}
			return pr.walk(root, more, writable, depth+1)
		case isPlaceholder(next, st):
			pr.placeholders = append(pr.placeholders, next)
			pr.pin(next, mPin, true)
			return nil
		case last || !st.IsDir():
			// The protected path itself, or a file where a directory was
			// expected (a .git file pointing elsewhere, say): replacing it
			// would let the rest be created, so it is held as it is.
			pr.pin(next, mPin, true)
			return nil
		default:
			pr.pin(next, mPin, false)
			cur = next
		}
	}
	return nil
}

// watchOnly are the workspace paths that, when missing, are watched rather
// than held by a placeholder. A placeholder .git would break every tool
// that looks for a repository (go build stamps VCS data and fails on it),
// and git init inside the sandbox is ordinary work.
var watchOnly = map[string]bool{".git": true}

func (pr *protection) rel(path string) string {
	r, err := filepath.Rel(pr.ws, path)
	if err != nil {
		return path
	}
	return r
}

func underAny(path string, roots []string) bool {
	return rootOf(path, roots) != ""
}

// rootOf returns the longest of roots that contains path, or "".
func rootOf(path string, roots []string) string {
	best := ""
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, strings.TrimSuffix(r, "/")+"/") {
			if len(r) > len(best) {
				best = r
			}
		}
	}
	return best
}

// removePlaceholders removes the placeholders that are still empty. A
// placeholder that another run holds (it is a mount point there) must stay
// until that run ends, so this is called only by the last run on the
// workspace (see workspaceLock).
func removePlaceholders(paths []string) {
	for i := len(paths) - 1; i >= 0; i-- {
		os.Remove(paths[i]) // fails, as it should, if something was put inside
	}
}

// isPlaceholder reports whether path is a placeholder left by a run: it
// carries the mark, and a directory is empty.
func isPlaceholder(path string, st fs.FileInfo) bool {
	buf := make([]byte, 4)
	if _, err := unix.Lgetxattr(path, placeholderXattr, buf); err != nil {
		return false
	}
	if !st.IsDir() {
		return st.Mode().IsRegular() && st.Size() <= 2
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	names, _ := f.Readdirnames(1)
	return len(names) == 0
}

// workspaceLock serialises placeholder clean-up between runs on the same
// workspace: every run holds it shared; the one that can take it
// exclusively at the end is the last and may remove placeholders.
//
// The lock is flock(2) on the workspace directory itself: exact (runs on
// other workspaces never hold it, so the last run on a workspace always
// knows it is the last) and nothing to create or clean up.
type workspaceLock struct{ f *os.File }

func lockWorkspace(ws string) (*workspaceLock, error) {
	fd, err := unix.Open(ws, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "lock", Path: ws, Err: err}
	}
	f := os.NewFile(uintptr(fd), ws)
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "lock", Path: ws, Err: err}
	}
	return &workspaceLock{f: f}, nil
}

// tryLast reports whether this run is the last one on the workspace; if so
// it holds the lock exclusively until close.
func (l *workspaceLock) tryLast() bool {
	return unix.Flock(int(l.f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}

func (l *workspaceLock) close() { l.f.Close() }
