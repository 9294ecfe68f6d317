package guard

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/verify"
	"golang.org/x/sys/unix"
)

// Direct file access for front doors whose agents read and write files
// without running a command (the MCP server's file tools). The rules are
// the sandbox's, taken from the same Spec the policy builds for a command
// in the workspace: reads see what a sandboxed command would see, writes
// land only where it could write. Every operation is recorded in the audit
// log like a command, under the name of the operation ("read_file PATH").
//
// The checks are made on resolved paths and then held by the kernel:
// writes go through a descriptor of the workspace with RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS, so that a symlink planted by a sandboxed command
// cannot send them elsewhere, and reads open the resolved path with
// RESOLVE_NO_SYMLINKS, so that a symlink swapped in after the check makes
// the open fail instead of reading its target.

// FileRequest names one file or directory to act on.
type FileRequest struct {
	// Workspace is the workspace directory; Path is relative to it, or
	// absolute.
	Workspace string
	Path      string
	// Agent and Session name the caller in the audit record.
	Agent, Session string
}

// FileResponse is what came of a file operation.
type FileResponse struct {
	// Path is the absolute path acted on.
	Path string `json:"path"`
	// Content is the verified content of a read, up to the limit; Size is
	// the file's size and Truncated reports that Content stops short of it.
	Content   []byte           `json:"-"`
	Size      int64            `json:"size,omitempty"`
	Truncated bool             `json:"truncated,omitempty"`
	Findings  []verify.Finding `json:"findings,omitempty"`
	// Entries are a directory's entries, sorted by name.
	Entries []DirEntry `json:"entries,omitempty"`
	// Changes are the files a write or a patch changed.
	Changes []audit.FileChange `json:"changes,omitempty"`
}

// DirEntry is one entry of a listed directory.
type DirEntry struct {
	Name string `json:"name"`
	// Type is "file", "dir", "symlink" or "other".
	Type string `json:"type"`
	Size int64  `json:"size,omitempty"`
}

// Limits of the file operations.
const (
	// DefaultReadLimit is the most of a file ReadFile returns.
	DefaultReadLimit = 1 << 20
	// MaxWriteSize is the largest content WriteFile and ApplyPatch write
	// to one file.
	MaxWriteSize = 16 << 20
	// maxDirEntries bounds a listing.
	maxDirEntries = 10000
)

// Rules of the file checks, named in denials and the audit log like the
// policy's rules.
const (
	RuleFileMasked    = "file.masked"
	RuleFileOutside   = "file.outside"
	RuleFileProtected = "file.protected"
	RuleFileSymlink   = "file.symlink"
	RuleFileHost      = "file.host-only"
)

// fileView is the sandbox's view of the host for one workspace, with its
// paths resolved.
type fileView struct {
	ws       string   // the workspace, symlinks resolved
	home     string   // for paths that start with ~/
	readable []string // the read-only roots, the workspace and the writable paths
	writable []string // the workspace and the writable paths
	masked   []string // as given and resolved
	// protected are workspace-relative, as given and, where a protected
	// path is a symlink to elsewhere in the workspace, its target.
	protected []string
}

// hostOnly are directories the sandbox replaces with its own (proc, a
// minimal dev, sysfs is read-only host state but /proc/self would be
// cordon's own), so the host's are never what a command sees. /tmp is
// the sandbox's private tmpfs, unless the workspace is under it.
var hostOnly = []string{"/proc", "/sys", "/dev", "/tmp", "/run"}

// view builds the view of the sandbox the policy gives a command in ws.
func (g *Guard) view(ws string) (*fileView, error) {
	spec, err := sandbox.NewSpec(ws, []string{"true"})
	if err != nil {
		return nil, err
	}
	env := g.Env
	if env == nil {
		env = os.Environ()
	}
	g.Policy.Apply(spec, g.Home, env)
	real, err := filepath.EvalSymlinks(ws)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("workspace %s: %w", ws, err)}
	}
	v := &fileView{ws: real, home: g.Home}
	fsys := spec.Filesystem
	resolved := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	for _, r := range fsys.ReadOnlyRoots {
		v.readable = append(v.readable, resolved(r))
	}
	v.writable = append(v.writable, real)
	for _, w := range fsys.Writable {
		v.writable = append(v.writable, resolved(w))
	}
	v.readable = append(v.readable, v.writable...)
	for _, m := range fsys.Masked {
		if !filepath.IsAbs(m) {
			continue
		}
		v.masked = append(v.masked, filepath.Clean(m))
		if r := resolved(m); r != filepath.Clean(m) {
			v.masked = append(v.masked, r)
		}
	}
	for _, p := range fsys.Protected {
		p = filepath.Clean(p)
		if filepath.IsAbs(p) {
			rel, ok := within(real, p)
			if !ok {
				rel, ok = within(filepath.Clean(ws), p)
			}
			if !ok {
				continue // not in this workspace
			}
			p = rel
		}
		v.protected = append(v.protected, p)
		// A protected path that is a symlink into the workspace holds its
		// target read-only in the sandbox; so here.
		// The part that does not exist yet is held too: the sandbox puts
		// a placeholder where a link leads (see planProtected).
		if r := policy.ResolveLinks(filepath.Join(real, p)); r != filepath.Join(real, p) {
			if rel, ok := within(real, r); ok && rel != p {
				v.protected = append(v.protected, rel)
			}
		}
	}
	return v, nil
}

// within returns path relative to dir when path is dir or below it.
func within(dir, path string) (string, bool) {
	if path == dir {
		return ".", true
	}
	if strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/") {
		return path[len(strings.TrimSuffix(dir, "/"))+1:], true
	}
	return "", false
}

func under(path string, roots []string) bool {
	for _, r := range roots {
		if _, ok := within(r, path); ok {
			return true
		}
	}
	return false
}

func deny(rule, format string, a ...any) *DeniedError {
	return &DeniedError{Decision: &policy.Decision{Verdict: policy.Deny, Rule: rule, Reason: fmt.Sprintf(format, a...)}}
}

// checkRead judges a resolved absolute path for reading.
func (v *fileView) checkRead(real string) error {
	if under(real, v.masked) {
		return deny(RuleFileMasked, "%s is hidden from the sandbox (a credential store or secret)", real)
	}
	if under(real, hostOnly) && !under(real, v.writable) {
		return deny(RuleFileHost, "%s is the host's own; the sandbox has its own there", real)
	}
	if !under(real, v.readable) {
		return deny(RuleFileOutside, "%s is outside what the sandbox can read", real)
	}
	return nil
}

// checkWrite judges a workspace-relative, cleaned path for writing.
func (v *fileView) checkWrite(rel string) error {
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return deny(RuleFileOutside, "%s is outside the workspace %s", rel, v.ws)
	}
	if rel == ".git" {
		// A .git file names the git directory; the sandbox holds it as it
		// is, and watches for one made where there was none.
		return deny(RuleFileProtected, "%s is protected: it tells git where its config and hooks are", rel)
	}
	for _, p := range v.protected {
		if _, ok := within(p, rel); ok {
			return deny(RuleFileProtected, "%s is protected: it stays read-only in the workspace (%s)", rel, p)
		}
	}
	if ctl := verify.GitControl(filepath.ToSlash(rel)); ctl != "" {
		// The same in a repository nested in the workspace: a hook or
		// config written there would be obeyed by git on the host.
		return deny(RuleFileProtected, "%s is protected: git obeys it (a %s of a repository in the workspace)", rel, ctl)
	}
	if abs := filepath.Join(v.ws, rel); under(abs, v.masked) {
		return deny(RuleFileMasked, "%s is hidden from the sandbox", abs)
	}
	return nil
}

// relPath turns a request's path into a cleaned path relative to the
// workspace, lexically: a write must name a place in the workspace.
func (v *fileView) relPath(ws, p string) (string, error) {
	if p == "" {
		return "", &UsageError{errors.New("no path")}
	}
	if filepath.IsAbs(p) {
		p = filepath.Clean(p)
		rel, ok := within(filepath.Clean(ws), p)
		if !ok {
			if rel, ok = within(v.ws, p); !ok {
				return "", deny(RuleFileOutside, "%s is outside the workspace %s", p, ws)
			}
		}
		return rel, nil
	}
	return filepath.Clean(p), nil
}

// fileOp runs one file operation and records it.
func (g *Guard) fileOp(ctx context.Context, op string, req *FileRequest, fn func(v *fileView, ws string, resp *FileResponse) error) (*FileResponse, error) {
	ws, err := filepath.Abs(req.Workspace)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("workspace: %w", err)}
	}
	resp := &FileResponse{}
	rec := &audit.Record{Command: strings.TrimSpace(op + " " + req.Path), Workspace: ws, Agent: req.Agent, Session: req.Session}
	rec.Cwd, _ = os.Getwd()
	// The policy judges the path as the hook judges an agent's own file
	// tools (its read and write rules count: .env asks, say); then the
	// sandbox's view decides what can be reached at all.
	var granted *audit.Approval
	err = g.judgePath(ctx, op, ws, req, &granted)
	rec.Approval = granted
	var v *fileView
	if err == nil {
		v, err = g.view(ws)
	}
	if err == nil {
		err = fn(v, ws, resp)
	}
	var denied *DeniedError
	if errors.As(err, &denied) {
		rec.SetDecision(denied.Decision)
	} else {
		rec.SetDecision(&policy.Decision{Verdict: policy.Allow, Rule: "file." + op})
		if err != nil {
			rec.Error = err.Error()
		}
	}
	rec.Findings = resp.Findings
	rec.Changes = resp.Changes
	if g.Audit != nil {
		if aerr := g.Audit.Append(rec); aerr != nil {
			return resp, &AuditError{aerr}
		}
	}
	return resp, err
}

// judgePath asks the policy about the request's path, and a person when
// the policy asks. A patch names its files inside; they are judged by the
// write rules of the view.
func (g *Guard) judgePath(ctx context.Context, op, ws string, req *FileRequest, granted **audit.Approval) error {
	if req.Path == "" {
		return nil
	}
	d := g.Policy.DecidePath(policy.PathRequest{
		Path: req.Path, Write: op == "write_file", Workspace: ws, Dir: ws, Home: g.Home,
	})
	switch d.Verdict {
	case policy.Allow:
		return nil
	case policy.Ask:
		a := g.ask(ctx, &approval.Request{
			Command: op + " " + req.Path, Decision: d, Workspace: ws, Agent: req.Agent, Kind: approval.KindCommand,
		})
		*granted = a
		if a.Granted {
			return nil
		}
		return &DeniedError{Decision: d, Approval: a}
	}
	return &DeniedError{Decision: d}
}

// resolveRead resolves a path for reading and judges it.
func (v *fileView) resolveRead(ws, p string) (string, error) {
	if p == "" {
		return "", &UsageError{errors.New("no path")}
	}
	// ~ is the home directory, as the shell of a command would read it.
	if rest, ok := strings.CutPrefix(p, "~"); ok && v.home != "" && (rest == "" || rest[0] == '/') {
		p = v.home + rest
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(ws, p)
	}
	p = filepath.Clean(p)
	// The path as named is judged too: a masked name reached through a
	// symlink elsewhere is still masked in the sandbox.
	if under(p, v.masked) {
		return "", deny(RuleFileMasked, "%s is hidden from the sandbox (a credential store or secret)", p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return real, v.checkRead(real)
}

// openChecked opens a resolved, judged path without following any
// symlink, and judges again the path the descriptor has: a rename in
// between would otherwise read something other than what was judged.
func (v *fileView) openChecked(real string, flags int) (*os.File, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, real, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY),
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, deny(RuleFileSymlink, "%s changed into a symlink while it was opened", real)
		}
		return nil, &os.PathError{Op: "open", Path: real, Err: err}
	}
	f := os.NewFile(uintptr(fd), real)
	now, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err == nil && now != real {
		err = v.checkRead(now)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads a file as a sandboxed command in the workspace could,
// up to limit bytes (zero: DefaultReadLimit). The content goes through
// the output checks: secrets in it are redacted and reported.
func (g *Guard) ReadFile(ctx context.Context, req *FileRequest, limit int64) (*FileResponse, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	return g.fileOp(ctx, "read_file", req, func(v *fileView, ws string, resp *FileResponse) error {
		real, err := v.resolveRead(ws, req.Path)
		resp.Path = real
		if err != nil {
			return err
		}
		f, err := v.openChecked(real, unix.O_RDONLY)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return &UsageError{fmt.Errorf("%s is not a regular file", real)}
		}
		resp.Size = st.Size()
		raw, err := io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return err
		}
		if int64(len(raw)) > limit {
			raw, resp.Truncated = raw[:limit], true
		}
		resp.Content, resp.Findings = g.verifyBytes("file", raw)
		for i := range resp.Findings {
			resp.Findings[i].Stream, resp.Findings[i].Path = "", req.Path
		}
		return nil
	})
}

// verifyBytes passes data through the same checks as a command's output.
func (g *Guard) verifyBytes(name string, data []byte) ([]byte, []verify.Finding) {
	var out bytes.Buffer
	dets, neutralize := detectors(OutputOptions{}, g.Policy.Output.Effective())
	s := verify.NewStream(&out, verify.StreamOptions{
		Name: name, Detectors: dets, Neutralize: neutralize, Limit: int64(len(data)) + 1<<10,
	})
	s.Write(data)
	s.Close()
	return out.Bytes(), s.Findings()
}

// ListDir lists a directory as a sandboxed command in the workspace could.
func (g *Guard) ListDir(ctx context.Context, req *FileRequest) (*FileResponse, error) {
	return g.fileOp(ctx, "list_directory", req, func(v *fileView, ws string, resp *FileResponse) error {
		real, err := v.resolveRead(ws, req.Path)
		resp.Path = real
		if err != nil {
			return err
		}
		f, err := v.openChecked(real, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer f.Close()
		ents, err := f.ReadDir(maxDirEntries)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for _, e := range ents {
			de := DirEntry{Name: e.Name(), Type: "other"}
			switch t := e.Type(); {
			case t.IsRegular():
				de.Type = "file"
				if info, err := e.Info(); err == nil {
					de.Size = info.Size()
				}
			case t.IsDir():
				de.Type = "dir"
			case t&fs.ModeSymlink != 0:
				de.Type = "symlink"
			}
			resp.Entries = append(resp.Entries, de)
		}
		slices.SortFunc(resp.Entries, func(a, b DirEntry) int { return strings.Compare(a.Name, b.Name) })
		return nil
	})
}

// WriteFile writes content to a file in the workspace, creating it and
// its missing parent directories, where a sandboxed command could write:
// not outside the workspace, not to a protected or masked path, not
// through a symlink. The file is replaced whole (a new file renamed over
// the old one), so a hard link to it elsewhere is not written through.
func (g *Guard) WriteFile(ctx context.Context, req *FileRequest, content []byte) (*FileResponse, error) {
	return g.fileOp(ctx, "write_file", req, func(v *fileView, ws string, resp *FileResponse) error {
		if len(content) > MaxWriteSize {
			return &UsageError{fmt.Errorf("content of %d bytes is over the limit of %d", len(content), MaxWriteSize)}
		}
		rel, err := v.relPath(ws, req.Path)
		if err != nil {
			return err
		}
		resp.Path = filepath.Join(v.ws, rel)
		if err := v.checkWrite(rel); err != nil {
			return err
		}
		root, err := v.openWorkspace()
		if err != nil {
			return err
		}
		defer unix.Close(root)
		op, err := writeBeneath(root, rel, content, 0o644)
		if err != nil {
			return err
		}
		resp.Changes = []audit.FileChange{{Path: rel, Op: op, Size: int64(len(content))}}
		return nil
	})
}

func (v *fileView) openWorkspace() (int, error) {
	fd, err := unix.Open(v.ws, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("workspace %s: %w", v.ws, err)
	}
	return fd, nil
}

// beneath is how every path in the workspace is resolved for writing: no
// component may leave the workspace or be a symlink. The kernel checks it
// during the lookup itself, so there is no window between check and use.
const beneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

func beneathErr(rel string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return deny(RuleFileSymlink, "%s goes through a symlink; files are written only by their real path", rel)
	case errors.Is(err, unix.EXDEV):
		return deny(RuleFileOutside, "%s leads outside the workspace", rel)
	}
	return &os.PathError{Op: "open", Path: rel, Err: err}
}

// openDir opens (making it when mkdir) the directory rel beneath root.
func openDir(root int, rel string, mkdir bool) (int, error) {
	fd, err := unix.Dup(root)
	if err != nil {
		return -1, err
	}
	if rel == "." {
		return fd, nil
	}
	for _, c := range strings.Split(rel, "/") {
		if mkdir {
			if err := unix.Mkdirat(fd, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(fd)
				return -1, &os.PathError{Op: "mkdir", Path: c, Err: err}
			}
		}
		next, err := unix.Openat2(fd, c, &unix.OpenHow{
			Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: beneath,
		})
		unix.Close(fd)
		if err != nil {
			return -1, beneathErr(rel, err)
		}
		fd = next
	}
	return fd, nil
}

// writeBeneath replaces rel beneath root with content; it returns
// "create" or "modify".
func writeBeneath(root int, rel string, content []byte, mode uint32) (string, error) {
	dir, name := filepath.Split(rel)
	dfd, err := openDir(root, filepath.Clean(dir), true)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	op := "create"
	var st unix.Stat_t
	switch err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			// Not set-user-ID or set-group-ID: the kernel drops them when a
			// file is written, and new content must not keep them.
			op, mode = "modify", st.Mode&0o1777
		case unix.S_IFLNK:
			return "", deny(RuleFileSymlink, "%s is a symlink; files are written only by their real path", rel)
		default:
			return "", &UsageError{fmt.Errorf("%s is not a regular file", rel)}
		}
	case !errors.Is(err, unix.ENOENT):
		return "", &os.PathError{Op: "stat", Path: rel, Err: err}
	}
	tmp := fmt.Sprintf(".%s.cordon-%d", name, time.Now().UnixNano())
	fd, err := unix.Openat2(dfd, tmp, &unix.OpenHow{
		Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC, Mode: uint64(mode), Resolve: beneath,
	})
	if err != nil {
		return "", beneathErr(rel, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(content)
	if err == nil {
		err = unix.Fchmod(fd, mode) // the umask narrowed it
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return "", fmt.Errorf("write %s: %w", rel, err)
	}
	return op, nil
}

// readBeneath reads rel beneath root, for a patch.
func readBeneath(root int, rel string) ([]byte, uint32, error) {
	fd, err := unix.Openat2(root, rel, &unix.OpenHow{
		Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY, Resolve: beneath,
	})
	if err != nil {
		return nil, 0, beneathErr(rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, &UsageError{fmt.Errorf("%s is not a regular file", rel)}
	}
	if st.Size() > MaxWriteSize {
		return nil, 0, &UsageError{fmt.Errorf("%s is larger than %d bytes", rel, MaxWriteSize)}
	}
	// A command still running in a session can grow the file past its
	// size above while it is read.
	b, err := io.ReadAll(io.LimitReader(f, MaxWriteSize+1))
	if err == nil && len(b) > MaxWriteSize {
		return nil, 0, &UsageError{fmt.Errorf("%s is larger than %d bytes", rel, MaxWriteSize)}
	}
	return b, uint32(st.Mode().Perm()), err
}

// ApplyPatch applies a unified diff (as git diff writes it, or diff -u)
// to files in the workspace, under the rules of WriteFile. It is all or
// nothing as far as the patch goes: every file is checked and every hunk
// applied in memory before the first file is written. Binary patches are
// refused.
func (g *Guard) ApplyPatch(ctx context.Context, req *FileRequest, patch string) (*FileResponse, error) {
	req2 := *req
	req2.Path = ""
	return g.fileOp(ctx, "apply_patch", &req2, func(v *fileView, ws string, resp *FileResponse) error {
		resp.Path = v.ws
		files, _, err := gitdiff.Parse(strings.NewReader(patch))
		if err != nil {
			return &UsageError{fmt.Errorf("patch: %w", err)}
		}
		// git's headers drop the a/ and b/ prefixes; diff -u's keep them,
		// and git apply's default (-p1) drops them there too.
		if !strings.Contains(patch, "diff --git ") {
			for _, f := range files {
				f.OldName, f.NewName = dropPrefix(f.OldName), dropPrefix(f.NewName)
			}
		}
		if len(files) == 0 {
			return &UsageError{errors.New("patch: no file changes in it")}
		}
		root, err := v.openWorkspace()
		if err != nil {
			return err
		}
		defer unix.Close(root)
		type change struct {
			rel     string
			content []byte
			mode    uint32
			remove  bool
			op      string
		}
		var plan []change
		seen := map[string]bool{}
		for _, f := range files {
			if f.IsBinary {
				return &UsageError{fmt.Errorf("patch: %s: binary patches are not applied", f.NewName)}
			}
			if f.IsCopy {
				return &UsageError{fmt.Errorf("patch: %s: copies are not applied", f.NewName)}
			}
			oldRel, newRel := "", ""
			if !f.IsNew {
				if oldRel, err = v.patchPath(ws, f.OldName); err != nil {
					return err
				}
			}
			if !f.IsDelete {
				if newRel, err = v.patchPath(ws, f.NewName); err != nil {
					return err
				}
			}
			names := []string{oldRel, newRel}
			if oldRel == newRel {
				names = names[:1]
			}
			for _, r := range names {
				if r == "" {
					continue
				}
				if seen[r] {
					return &UsageError{fmt.Errorf("patch: %s is changed twice", r)}
				}
				seen[r] = true
				// Each file is judged by the policy as write_file judges one.
				var granted *audit.Approval
				if err := g.judgePath(ctx, "write_file", ws, &FileRequest{Workspace: ws, Path: r, Agent: req.Agent}, &granted); err != nil {
					return err
				}
			}
			var src []byte
			mode := uint32(0o644)
			if !f.IsNew {
				if src, mode, err = readBeneath(root, oldRel); err != nil {
					return fmt.Errorf("patch: %w", err)
				}
			} else if _, _, err := readBeneath(root, newRel); err == nil {
				return &UsageError{fmt.Errorf("patch: %s is new in the patch but exists", newRel)}
			}
			if f.NewMode != 0 {
				mode = uint32(f.NewMode.Perm())
			}
			var out bytes.Buffer
			if err := gitdiff.Apply(&out, bytes.NewReader(src), f); err != nil {
				return &UsageError{fmt.Errorf("patch: %s: %w", cmp.Or(newRel, oldRel), err)}
			}
			if out.Len() > MaxWriteSize {
				return &UsageError{fmt.Errorf("patch: %s would be over %d bytes", newRel, MaxWriteSize)}
			}
			switch {
			case f.IsDelete:
				plan = append(plan, change{rel: oldRel, remove: true, op: "delete"})
			case f.IsRename && oldRel != newRel:
				plan = append(plan, change{rel: newRel, content: out.Bytes(), mode: mode, op: "rename"},
					change{rel: oldRel, remove: true})
			default:
				plan = append(plan, change{rel: newRel, content: out.Bytes(), mode: mode})
			}
		}
		// Everything checked and applied in memory: now write.
		for _, c := range plan {
			if c.remove {
				dfd, err := openDir(root, filepath.Dir(c.rel), false)
				if err != nil {
					return err
				}
				err = unix.Unlinkat(dfd, filepath.Base(c.rel), 0)
				unix.Close(dfd)
				if err != nil {
					return fmt.Errorf("patch: remove %s: %w", c.rel, err)
				}
				if c.op != "" {
					resp.Changes = append(resp.Changes, audit.FileChange{Path: c.rel, Op: c.op})
				}
				continue
			}
			op, err := writeBeneath(root, c.rel, c.content, c.mode)
			if err != nil {
				return fmt.Errorf("patch: %w", err)
			}
			resp.Changes = append(resp.Changes, audit.FileChange{Path: c.rel, Op: cmp.Or(c.op, op), Size: int64(len(c.content))})
		}
		return nil
	})
}

// patchPath judges a path named in a patch for writing.
func (v *fileView) patchPath(ws, name string) (string, error) {
	if name == "" {
		return "", &UsageError{errors.New("patch: a file without a name")}
	}
	rel, err := v.relPath(ws, name)
	if err != nil {
		return "", err
	}
	return rel, v.checkWrite(rel)
}

func dropPrefix(name string) string {
	for _, p := range []string{"a/", "b/"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return rest
		}
	}
	return name
}
