package verify

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ChangeOptions configure a workspace change report.
type ChangeOptions struct {
	// Skip lists globs whose changes are counted rather than listed:
	// "node_modules" (no slash) matches that name at any depth,
	// "build/out" matches from the workspace root; everything beneath a
	// match is skipped too. Skipped trees are still walked: a symlink
	// out of the workspace or a setuid bit in them is still a finding.
	// Their files are not scanned for secrets, and new executable bits
	// in them are not flagged (node_modules/.bin is made of them).
	Skip []string
	// Detectors scan created and modified regular files for secrets.
	Detectors []Detector
	// MaxEntries bounds how many changes are listed in all (default
	// 1000); the counts stay exact. Flagged changes are listed first.
	MaxEntries int
	// MaxFindings bounds the findings (default 1000), most severe kept.
	MaxFindings int
	// MaxScanFile is how much of each file is scanned for secrets
	// (default 1 MiB); MaxScanTotal bounds the bytes scanned in one
	// report (default 64 MiB).
	MaxScanFile, MaxScanTotal int64
	// Workers is how many directories are read at once (default
	// GOMAXPROCS, at least 2: the walk waits on the kernel).
	Workers int
}

func (o ChangeOptions) withDefaults() ChangeOptions {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1000
	}
	if o.MaxFindings <= 0 {
		o.MaxFindings = 1000
	}
	if o.MaxScanFile <= 0 {
		o.MaxScanFile = 1 << 20
	}
	if o.MaxScanTotal <= 0 {
		o.MaxScanTotal = 64 << 20
	}
	if o.Workers <= 0 {
		o.Workers = max(2, runtime.GOMAXPROCS(0))
	}
	return o
}

// EntryKind is the type of a path.
type EntryKind string

const (
	KindRegular EntryKind = "file"
	KindDir     EntryKind = "dir"
	KindSymlink EntryKind = "symlink"
	KindOther   EntryKind = "other" // fifo, socket, device
)

// Change is one path that was created, modified or deleted.
type Change struct {
	Path string    `json:"path"` // relative to the workspace, slash-separated
	Kind EntryKind `json:"kind"`
	// OldKind is set when a path changed type (a file became a symlink).
	OldKind EntryKind   `json:"old_kind,omitempty"`
	Size    int64       `json:"size"`
	Mode    fs.FileMode `json:"mode"`
	// OldMode is set for a modified path whose mode changed.
	OldMode fs.FileMode `json:"old_mode,omitempty"`
	// Target is a symlink's target, as written.
	Target string `json:"target,omitempty"`
}

// Counts are exact, whatever was listed.
type Counts struct {
	Created  int `json:"created"`
	Modified int `json:"modified"`
	Deleted  int `json:"deleted"`
	// GitInternal is how many of the changes were git's own objects,
	// refs, logs and index, counted but not listed.
	GitInternal int `json:"git_internal"`
	// Skipped is how many were under ChangeOptions.Skip.
	Skipped int `json:"skipped"`
	// Unlisted is how many listable changes MaxEntries left out.
	Unlisted int `json:"unlisted"`
	// Scanned and ScannedBytes say what was scanned for secrets;
	// Unscanned counts text files left out by MaxScanTotal.
	Scanned      int   `json:"scanned"`
	ScannedBytes int64 `json:"scanned_bytes"`
	Unscanned    int   `json:"unscanned"`
	// Unreadable is how many directories Diff could not read (for lack
	// of permission); what is in them is not known.
	Unreadable int `json:"unreadable"`
	// Findings is how many findings there were before MaxFindings.
	Findings int `json:"findings"`
}

// GitChange is a created or modified path that git obeys: a hook, a
// config, a commondir, or a .git file or directory (see GitControl).
type GitChange struct {
	Path    string
	Control string    // "hook", "config", "commondir" or "gitdir"
	Kind    EntryKind // of the path now
	Created bool
	// Old is the content before the command, for a config or commondir
	// that was a regular file of at most 256 KiB; nil otherwise. OldMode
	// is its permission bits then.
	Old     []byte
	OldMode fs.FileMode
}

// ChangeReport is what a command changed in the workspace.
type ChangeReport struct {
	// Git lists every created or modified path that git obeys, in any
	// repository of the workspace, whatever MaxEntries and MaxFindings
	// left out of the lists: what the pipeline puts right before anyone
	// runs git there. It is not part of the report's JSON.
	Git []GitChange `json:"-"`

	Created  []Change `json:"created,omitempty"`
	Modified []Change `json:"modified,omitempty"`
	Deleted  []Change `json:"deleted,omitempty"`
	Counts   Counts   `json:"counts"`
	// Truncated says that changes or findings were left out of the lists.
	Truncated bool      `json:"truncated,omitempty"`
	Findings  []Finding `json:"findings,omitempty"`
}

// Snap is the state of a workspace before a command runs.
type Snap struct {
	root     string // absolute and clean
	realRoot string // root with symlinks resolved
	opts     ChangeOptions
	skip     skipper

	paths   []string
	entries []entry
	index   map[string]int32
	kept    map[string][]byte  // content of manifests, by path
	racy    map[int32][32]byte // content hashes, see hashRacy
	denied  map[string]bool    // directories the snapshot could not read
}

// Snapshot records the state of the tree at root. Take it right before
// the command starts: Diff reports every change after the snapshot, and
// changes made while it is taken may be reported too.
func Snapshot(root string, opts ChangeOptions) (*Snap, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", root, err)
	}
	opts = opts.withDefaults()
	s := &Snap{root: abs, realRoot: real, opts: opts, skip: newSkipper(opts.Skip),
		kept: map[string][]byte{}, denied: map[string]bool{}}

	type rec struct {
		rel string
		e   entry
	}
	recs := make([][]rec, opts.Workers)
	newest := make([]int64, opts.Workers)
	var mu sync.Mutex
	err = walk(real, opts.Workers, func(w int, relb []byte, dirfd int, name []byte, e entry) {
		rel := string(relb)
		recs[w] = append(recs[w], rec{rel, e})
		newest[w] = max(newest[w], e.ctime)
		if e.mode&unix.S_IFMT == unix.S_IFREG && e.size <= maxKept &&
			(keepContent(string(name)) && gitElem(rel) < 0 && !s.skip.skipped(rel) || gitKeptName(name) && keepGit(rel)) {
			if b, err := readAt(dirfd, string(name), maxKept); err == nil {
				mu.Lock()
				s.kept[rel] = b
				mu.Unlock()
			}
		}
	}, func(rel string) {
		mu.Lock()
		s.denied[rel] = true
		mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	n := 0
	for _, r := range recs {
		n += len(r)
	}
	s.paths = make([]string, 0, n)
	s.entries = make([]entry, 0, n)
	s.index = make(map[string]int32, n)
	for _, rs := range recs {
		for _, r := range rs {
			s.index[r.rel] = int32(len(s.paths))
			s.paths = append(s.paths, r.rel)
			s.entries = append(s.entries, r.e)
		}
	}
	probe, err := clockPast(real, slices.Max(newest))
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if probe <= slices.Max(newest) {
		s.hashRacy(probe)
	}
	return s, nil
}

// clockPast waits until the filesystem under dir stamps a change with a
// ctime later than t, the newest ctime the snapshot saw, and returns the
// last ctime it stamped.
//
// This is what makes "ctime unchanged" mean "not changed": without it, a
// file written just before the snapshot and again by the command within
// the same tick of the kernel's coarse clock (or of a filesystem's
// timestamp granularity) would keep its ctime, and with mtime put back
// and the size the same, the change would go unseen. Once a fresh
// inode's ctime is past t, every later change gets a ctime past t too,
// so it differs from every ctime in the snapshot. The wait is at most one
// tick (a few milliseconds), and nothing when the tree was quiet; the
// probe file is unnamed (O_TMPFILE) where the filesystem allows, or
// removed at once. A ctime further ahead (the clock was set back) is not
// waited for: see hashRacy.
//
// The probe is skipped when the kernel's coarse clock, which stamps ctime
// on the filesystems that keep nanoseconds, is already past t: every
// later change is stamped from it, or from a finer clock that is never
// behind it. That is the common case, and it saves the probe's inode
// (over a millisecond on ext4).
func clockPast(dir string, t int64) (int64, error) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_REALTIME_COARSE, &ts) == nil && ts.Nano() > t && nanoTimestamps(dir) {
		return ts.Nano(), nil
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		var b [8]byte
		rand.Read(b[:])
		name := dir + "/.cordon-probe-" + hex.EncodeToString(b[:])
		fd, err = unix.Open(name, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return 0, fmt.Errorf("clock probe in %s: %w", dir, err)
		}
		unix.Unlink(name)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	for mode := uint32(0o400); ; mode ^= 0o200 {
		if err := unix.Fchmod(fd, mode); err != nil {
			return 0, fmt.Errorf("clock probe: %w", err)
		}
		if err := unix.Fstat(fd, &st); err != nil {
			return 0, fmt.Errorf("clock probe: %w", err)
		}
		now := st.Ctim.Nano()
		// Filesystems with coarse timestamps (FAT: 2 s) need the longest.
		if now > t || t-now > int64(3*time.Second) {
			return now, nil
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// nanoTimestamps reports whether the filesystem of dir stamps times from
// the kernel's clock to the nanosecond. Others (FAT, network filesystems,
// FUSE) get the probe.
func nanoTimestamps(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC, unix.TMPFS_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC,
		unix.F2FS_SUPER_MAGIC, unix.OVERLAYFS_SUPER_MAGIC:
		return true
	}
	return false
}

// hashRacy keeps a hash of the regular files whose ctime the clock has
// not passed (it was set back): for them an unchanged ctime proves
// nothing, and Diff compares content instead, as git does for its
// "racily clean" entries. Files over maxRacy are left to ctime.
func (s *Snap) hashRacy(probe int64) {
	s.racy = map[int32][32]byte{}
	for i, e := range s.entries {
		if e.ctime >= probe && e.mode&unix.S_IFMT == unix.S_IFREG && e.size <= maxRacy {
			if b, err := os.ReadFile(filepath.Join(s.realRoot, s.paths[i])); err == nil {
				s.racy[int32(i)] = sha256.Sum256(b)
			}
		}
	}
}

const maxRacy = 1 << 20

// readAt reads up to limit bytes of the regular file name in dirfd,
// without following a symlink.
func readAt(dirfd int, name string, limit int64) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errors.New("not a regular file")
	}
	buf := make([]byte, min(st.Size, limit))
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// changed is a path found different from the snapshot by the walk.
type changed struct {
	rel     string
	e       entry
	old     int32 // index in the snapshot, -1 if created
	target  string
	content []byte // a kept manifest's new content
	finds   []Finding
}

// Diff walks the tree again and reports what changed since the snapshot.
func (s *Snap) Diff() (*ChangeReport, error) {
	o := s.opts
	seen := make([]bool, len(s.paths))
	found := make([][]changed, o.Workers)
	scan := &scanBudget{left: o.MaxScanTotal}
	var mu sync.Mutex
	var denied []string
	err := walk(s.realRoot, o.Workers, func(w int, relb []byte, dirfd int, nameb []byte, e entry) {
		i, ok := s.index[string(relb)] // no allocation for the lookup
		if !ok {
			i = -1
		} else {
			// Distinct paths are distinct elements: no two workers write
			// the same one.
			seen[i] = true
			if same(s.entries[i], e) && !s.racyChanged(i, dirfd, nameb) {
				return
			}
		}
		rel, name := string(relb), string(nameb)
		c := changed{rel: rel, e: e, old: i}
		switch e.mode & unix.S_IFMT {
		case unix.S_IFLNK:
			c.target = readlinkAt(dirfd, name)
		case unix.S_IFREG:
			if place, _ := gitRule(rel); place == gitInternal || place == notGit && s.skip.skipped(rel) {
				break
			}
			if keepContent(name) && e.size <= maxKept {
				c.content, _ = readAt(dirfd, name, maxKept)
			}
			c.finds = scan.file(dirfd, name, rel, e, o)
		}
		found[w] = append(found[w], c)
	}, func(rel string) {
		mu.Lock()
		denied = append(denied, rel)
		mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	r := &ChangeReport{}
	r.Counts.Scanned, r.Counts.ScannedBytes, r.Counts.Unscanned = scan.files, o.MaxScanTotal-scan.left, scan.skipped
	var all []changed
	for _, f := range found {
		all = append(all, f...)
	}
	// A directory that cannot be read hides what is in it: its old
	// entries are not reported deleted, and if it was readable before,
	// that is a finding in itself (a chmod can hide a change as well as
	// a touch can).
	slices.Sort(denied)
	r.Counts.Unreadable = len(denied)
	for _, d := range denied {
		if !s.denied[d] {
			r.Findings = append(r.Findings, Finding{Kind: KindFile, Rule: "unreadable", Severity: SeverityHigh, Path: d,
				Action: ActionFlagged, Message: "directory can no longer be read; changes in it are not known"})
		}
	}
	for i, ok := range seen {
		if !ok && !under(s.paths[i], denied) {
			all = append(all, changed{rel: s.paths[i], old: int32(i)})
		}
	}
	slices.SortFunc(all, func(a, b changed) int { return strings.Compare(a.rel, b.rel) })

	type listed struct {
		c       Change
		list    *[]Change
		flagged bool
	}
	var cands []listed
	for _, c := range all {
		ch, list, findings := s.judge(c, r)
		r.Findings = append(r.Findings, findings...)
		if list != nil {
			cands = append(cands, listed{ch, list, len(findings) > 0})
		}
	}

	// Bound the lists: flagged changes first, then in path order.
	if len(cands) > o.MaxEntries {
		r.Truncated = true
		r.Counts.Unlisted = len(cands) - o.MaxEntries
		slices.SortStableFunc(cands, func(a, b listed) int {
			if a.flagged != b.flagged {
				if a.flagged {
					return -1
				}
				return 1
			}
			return 0
		})
		cands = cands[:o.MaxEntries]
		slices.SortStableFunc(cands, func(a, b listed) int { return strings.Compare(a.c.Path, b.c.Path) })
	}
	for _, l := range cands {
		*l.list = append(*l.list, l.c)
	}
	r.Counts.Findings = len(r.Findings)
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(b.Severity.Rank()-a.Severity.Rank(), strings.Compare(a.Path, b.Path))
	})
	if len(r.Findings) > o.MaxFindings {
		r.Truncated = true
		r.Findings = r.Findings[:o.MaxFindings]
	}
	return r, nil
}

// under says whether rel lies below one of dirs.
func under(rel string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(rel, d) && len(rel) > len(d) && rel[len(d)] == '/' {
			return true
		}
	}
	return false
}

// racyChanged compares a racy file's content with its hash.
func (s *Snap) racyChanged(i int32, dirfd int, name []byte) bool {
	h, ok := s.racy[i]
	if !ok {
		return false
	}
	b, err := readAt(dirfd, string(name), maxRacy+1)
	return err != nil || sha256.Sum256(b) != h
}

// same says whether a path is unchanged. For a file, ctime alone would
// do (see clockPast); the rest is cheap and covers a filesystem whose
// clock went back. A directory is only changed by its mode or identity:
// its entries are reported for themselves.
func same(a, b entry) bool {
	if a.mode != b.mode || a.ino != b.ino || a.dev != b.dev {
		return false
	}
	if a.mode&unix.S_IFMT == unix.S_IFDIR {
		return true
	}
	return a.ctime == b.ctime && a.mtime == b.mtime && a.size == b.size
}

func readlinkAt(dirfd int, name string) string {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return ""
		}
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

func kindOf(mode uint32) EntryKind {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return KindRegular
	case unix.S_IFDIR:
		return KindDir
	case unix.S_IFLNK:
		return KindSymlink
	}
	return KindOther
}

// fileMode converts a stat mode to an fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	fm := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		fm |= fs.ModeDir
	case unix.S_IFLNK:
		fm |= fs.ModeSymlink
	case unix.S_IFIFO:
		fm |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		fm |= fs.ModeSocket
	case unix.S_IFCHR:
		fm |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		fm |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		fm |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		fm |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		fm |= fs.ModeSticky
	}
	return fm
}

// judge turns a changed path into a Change, the list it belongs to (nil
// when it is only counted) and its findings. It counts it in r.
func (s *Snap) judge(c changed, r *ChangeReport) (Change, *[]Change, []Finding) {
	var ch Change
	var list *[]Change
	var old *entry
	if c.old >= 0 {
		old = &s.entries[c.old]
	}
	finding := func(rule string, sev Severity, msg string) Finding {
		return Finding{Kind: KindFile, Rule: rule, Severity: sev, Path: c.rel, Message: msg, Action: ActionFlagged}
	}
	switch {
	case c.e == entry{}: // deleted
		ch = Change{Path: c.rel, Kind: kindOf(old.mode), Size: old.size, Mode: fileMode(old.mode)}
		list = &r.Deleted
		r.Counts.Deleted++
	case old == nil:
		ch = Change{Path: c.rel, Kind: kindOf(c.e.mode), Size: c.e.size, Mode: fileMode(c.e.mode), Target: c.target}
		list = &r.Created
		r.Counts.Created++
	default:
		ch = Change{Path: c.rel, Kind: kindOf(c.e.mode), Size: c.e.size, Mode: fileMode(c.e.mode), Target: c.target}
		if old.mode != c.e.mode {
			ch.OldMode = fileMode(old.mode)
		}
		if k := kindOf(old.mode); k != ch.Kind {
			ch.OldKind = k
		}
		list = &r.Modified
		r.Counts.Modified++
	}
	place, grule := gitRule(c.rel)
	skipped := place == notGit && s.skip.skipped(c.rel)
	var finds []Finding
	deleted := list == &r.Deleted
	if !deleted {
		finds = append(finds, c.finds...)
		// Checks that hold everywhere, in .git and skipped trees too.
		if ch.Kind == KindSymlink {
			if out, why := s.outside(c.rel, c.target); out {
				finds = append(finds, finding("symlink-out", SeverityHigh,
					fmt.Sprintf("symlink to %q points outside the workspace (%s)", c.target, why)))
			}
		}
		if ch.Kind == KindRegular && c.e.mode&(unix.S_ISUID|unix.S_ISGID) != 0 &&
			(old == nil || old.mode&(unix.S_ISUID|unix.S_ISGID) != c.e.mode&(unix.S_ISUID|unix.S_ISGID)) {
			finds = append(finds, finding("setuid", SeverityHigh, "setuid or setgid bit set ("+fileMode(c.e.mode).String()+")"))
		}
		if ch.Kind == KindSymlink && ch.OldKind != "" {
			finds = append(finds, finding("type-change", SeverityMedium, fmt.Sprintf("%s replaced by a symlink", ch.OldKind)))
		}
		if ch.Kind == KindOther {
			sev := SeverityLow
			if c.e.mode&unix.S_IFMT == unix.S_IFCHR || c.e.mode&unix.S_IFMT == unix.S_IFBLK {
				sev = SeverityMedium
			}
			finds = append(finds, finding("special-file", sev, "special file ("+fileMode(c.e.mode).String()+")"))
		}
	}
	if !deleted && place == notGit {
		// A bare repository (x.git/, or any directory git init --bare
		// made) has no .git element: its hooks and config are found by
		// what the directory holds.
		if ctl := bareControl(s.realRoot, c.rel); ctl != "" {
			r.Git = append(r.Git, GitChange{Path: c.rel, Control: ctl, Kind: ch.Kind, Created: old == nil})
		}
	}
	if !deleted && place != notGit {
		if ctl := GitControl(c.rel); ctl != "" {
			g := GitChange{Path: c.rel, Control: ctl, Kind: ch.Kind, Created: old == nil}
			if old != nil && keepGit(c.rel) {
				g.Old, g.OldMode = s.kept[c.rel], fileMode(old.mode).Perm()
			}
			r.Git = append(r.Git, g)
		}
	}
	switch {
	case place == gitInternal:
		r.Counts.GitInternal++
		return ch, nil, finds
	case skipped:
		r.Counts.Skipped++
		return ch, nil, finds
	case deleted:
		return ch, list, finds
	}
	if ch.Kind == KindRegular && old != nil && kindOf(old.mode) == KindRegular &&
		old.mode&0o111 == 0 && c.e.mode&0o111 != 0 {
		finds = append(finds, finding("exec-bit", SeverityLow, "became executable ("+fileMode(c.e.mode).String()+")"))
	}
	rule := grule
	if place == notGit {
		rule = pathRuleFor(c.rel)
		switch path.Base(c.rel) {
		case "package.json", "pyproject.toml":
			switch {
			case ch.Kind == KindSymlink:
				rule = &pathRule{"package-scripts", SeverityMedium, "manifest is a symlink, not compared"}
			case ch.Kind != KindRegular:
			case c.content == nil || c.e.size > maxKept:
				rule = &pathRule{"package-scripts", SeverityMedium, "manifest too large to compare"}
			case path.Base(c.rel) == "package.json":
				rule = packageScripts(s.kept[c.rel], c.content)
			default:
				rule = pyprojectBuild(s.kept[c.rel], c.content)
			}
		}
		if rule == nil && ch.Kind == KindSymlink {
			rule = symlinkRule(c.rel)
		}
	}
	if rule != nil && ch.Kind != KindDir {
		verb := "modified"
		if old == nil {
			verb = "created"
		}
		finds = append(finds, finding(rule.rule, rule.severity, rule.what+" ("+verb+")"))
	}
	return ch, list, finds
}

// outside says whether a symlink at rel with the given target leads out
// of the workspace, lexically or once resolved, and how.
func (s *Snap) outside(rel, target string) (bool, string) {
	if target == "" {
		return true, "unreadable target"
	}
	var p string
	if filepath.IsAbs(target) {
		p = filepath.Clean(target)
		// The workspace may be reached by the path given or the
		// resolved one; both count as inside.
		if !within(p, s.realRoot) && !within(p, s.root) {
			return true, "absolute path"
		}
	} else {
		p = filepath.Join(s.realRoot, filepath.Dir(rel), target)
		if !within(p, s.realRoot) {
			return true, "via .."
		}
	}
	// Lexically inside, but a link in the chain may lead out.
	if res, err := filepath.EvalSymlinks(filepath.Join(s.realRoot, rel)); err == nil && !within(res, s.realRoot) {
		return true, "resolves to " + res
	}
	return false, ""
}

func within(p, root string) bool {
	return p == root || strings.HasPrefix(p, root+"/") || root == "/"
}

// scanBudget scans files for secrets within a total byte budget, from
// several walkers at once.
type scanBudget struct {
	mu      sync.Mutex
	left    int64
	files   int
	skipped int
}

func (b *scanBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		b.skipped++
		return false
	}
	b.left -= n
	b.files++
	return true
}

// file scans a created or modified regular file through a Stream with
// the detectors, and returns what they found as file findings.
func (b *scanBudget) file(dirfd int, name, rel string, e entry, o ChangeOptions) []Finding {
	if len(o.Detectors) == 0 || e.size == 0 {
		return nil
	}
	n := min(e.size, o.MaxScanFile)
	data, err := readAt(dirfd, name, n)
	if err != nil || isBinary(data[:min(len(data), sniffLen)]) {
		return nil
	}
	if !b.take(int64(len(data))) {
		return nil
	}
	st := NewStream(io.Discard, StreamOptions{Detectors: o.Detectors})
	st.Write(data)
	st.Close()
	found := st.Findings()
	out := found[:0]
	for _, f := range found {
		if f.Kind == KindBinary || f.Kind == KindTruncated {
			continue
		}
		f.Path, f.Stream, f.Action = rel, "", ActionFlagged
		if int64(len(data)) < e.size {
			f.Message += fmt.Sprintf(" (first %d of %d bytes scanned)", len(data), e.size)
		}
		out = append(out, f)
	}
	return out
}
