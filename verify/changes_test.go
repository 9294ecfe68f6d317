package verify

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeSecret is what the test detector looks for; it is not a credential.
const fakeSecret = "FAKE_TOKEN_0123456789abcdef"

var testDetectors = []Detector{literal{fakeSecret, "[R]", PrioritySecret}}

func write(t testing.TB, root, rel, content string, mode fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func snap(t testing.TB, root string, opts ChangeOptions) *Snap {
	t.Helper()
	s, err := Snapshot(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func diff(t testing.TB, s *Snap) *ChangeReport {
	t.Helper()
	r, err := s.Diff()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findChange(list []Change, p string) *Change {
	for i := range list {
		if list[i].Path == p {
			return &list[i]
		}
	}
	return nil
}

func findFinding(fs []Finding, p, rule string) *Finding {
	for i := range fs {
		if fs[i].Path == p && fs[i].Rule == rule {
			return &fs[i]
		}
	}
	return nil
}

// A tree that was only read reports nothing: reading moves atime, and
// atime is not a change.
func TestChangesNone(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "alpha\n", 0o644)
	write(t, root, "src/main.go", "package main\n", 0o644)
	write(t, root, "package.json", `{"scripts":{"postinstall":"node x.js"}}`, 0o644)
	write(t, root, ".github/workflows/ci.yml", "on: push\n", 0o644)
	write(t, root, "secret.txt", fakeSecret, 0o600)
	os.Symlink("/etc/passwd", filepath.Join(root, "old-link"))
	s := snap(t, root, ChangeOptions{Detectors: testDetectors})
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if d.Type().IsRegular() {
			os.ReadFile(p)
		}
		return nil
	})
	// Times set to now, not changed: still atime only in effect.
	for range 2 {
		r := diff(t, s)
		if len(r.Created)+len(r.Modified)+len(r.Deleted)+len(r.Findings) != 0 || r.Counts != (Counts{}) {
			t.Fatalf("unchanged tree reported: %+v", r)
		}
	}
}

func TestChangesReport(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "alpha\n", 0o644)
	write(t, root, "b.txt", "bravo\n", 0o644)
	write(t, root, "c.txt", "charlie\n", 0o644)
	write(t, root, "keep.txt", "kept\n", 0o644)
	write(t, root, "run.sh", "echo hi\n", 0o644)
	write(t, root, "tool", "binary-ish\n", 0o755)
	write(t, root, "dir/x.txt", "x\n", 0o644)
	write(t, root, "package.json", `{"name":"p","scripts":{"test":"go test"}}`, 0o644)
	write(t, root, "sub/package.json", `{"name":"q","version":"1.0.0","scripts":{"test":"t"}}`, 0o644)
	s := snap(t, root, ChangeOptions{Detectors: testDetectors})

	write(t, root, "new.txt", "new\n", 0o644)
	// Same size, mtime put back: only ctime gives it away.
	st, _ := os.Stat(filepath.Join(root, "a.txt"))
	write(t, root, "a.txt", "ALPHA\n", 0o644)
	if err := os.Chtimes(filepath.Join(root, "a.txt"), st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(root, "b.txt"))
	os.Chmod(filepath.Join(root, "run.sh"), 0o755)
	os.Remove(filepath.Join(root, "c.txt"))
	os.Symlink("/etc/passwd", filepath.Join(root, "c.txt"))
	os.Symlink("../../x", filepath.Join(root, "dir/up"))
	os.Symlink("../keep.txt", filepath.Join(root, "dir/in"))
	os.Symlink(".", filepath.Join(root, "dir/self"))
	write(t, root, "package.json", `{"name":"p","scripts":{"test":"go test","postinstall":"node setup.js"}}`, 0o644)
	write(t, root, "sub/package.json", `{"name":"q","version":"1.0.1","scripts":{"test":"t"}}`, 0o644)
	write(t, root, ".github/workflows/ci.yml", "on: push\n", 0o644)
	write(t, root, "config/app.env", "API_TOKEN="+fakeSecret+"\n", 0o644)
	write(t, root, "suid", "x\n", 0o755)
	os.Chmod(filepath.Join(root, "suid"), 0o755|fs.ModeSetuid)
	r := diff(t, s)

	for _, p := range []string{"new.txt", "dir/up", "dir/in", "dir/self", ".github", ".github/workflows", ".github/workflows/ci.yml", "config", "config/app.env", "suid"} {
		if findChange(r.Created, p) == nil {
			t.Errorf("created %s not reported", p)
		}
	}
	for _, p := range []string{"a.txt", "run.sh", "c.txt", "package.json", "sub/package.json"} {
		if findChange(r.Modified, p) == nil {
			t.Errorf("modified %s not reported", p)
		}
	}
	if findChange(r.Deleted, "b.txt") == nil {
		t.Error("deleted b.txt not reported")
	}
	if len(r.Created) != 10 || len(r.Modified) != 5 || len(r.Deleted) != 1 {
		t.Errorf("extra changes: %+v", r)
	}
	if c := findChange(r.Modified, "run.sh"); c != nil && (c.OldMode != 0o644 || c.Mode != 0o755) {
		t.Errorf("run.sh modes: %+v", c)
	}
	if c := findChange(r.Modified, "c.txt"); c != nil && (c.Kind != KindSymlink || c.OldKind != KindRegular || c.Target != "/etc/passwd") {
		t.Errorf("c.txt: %+v", c)
	}
	want := []struct {
		path, rule string
		sev        Severity
	}{
		{"run.sh", "exec-bit", SeverityLow},
		{"c.txt", "symlink-out", SeverityHigh},
		{"c.txt", "type-change", SeverityMedium},
		{"dir/up", "symlink-out", SeverityHigh},
		{"package.json", "package-scripts", SeverityHigh},
		{".github/workflows/ci.yml", "ci-workflow", SeverityHigh},
		{"config/app.env", fakeSecret, SeverityHigh},
		{"suid", "setuid", SeverityHigh},
	}
	for _, w := range want {
		f := findFinding(r.Findings, w.path, w.rule)
		if f == nil {
			t.Errorf("no %s finding for %s", w.rule, w.path)
			continue
		}
		if f.Severity != w.sev || f.Stream != "" || f.Action != ActionFlagged {
			t.Errorf("finding %v", f)
		}
	}
	if f := findFinding(r.Findings, "config/app.env", fakeSecret); f != nil && (f.Kind != KindSecret || f.Offset != int64(len("API_TOKEN=")) || f.Length != int64(len(fakeSecret))) {
		t.Errorf("secret finding %+v", f)
	}
	if len(r.Findings) != len(want) {
		t.Errorf("%d findings, want %d: %v", len(r.Findings), len(want), r.Findings)
	}
	if r.Truncated || r.Counts.Scanned == 0 {
		t.Errorf("counts %+v", r.Counts)
	}
}

// A file written just before the snapshot and again right after it,
// same size, mtime restored, is still seen: the snapshot waits for the
// filesystem's clock to pass the newest ctime it saw.
func TestChangesSameTick(t *testing.T) {
	root := t.TempDir()
	for i := range 50 {
		p := filepath.Join(root, fmt.Sprintf("f%d", i))
		os.WriteFile(p, []byte("aaaa"), 0o644)
		st, _ := os.Stat(p)
		s := snap(t, root, ChangeOptions{})
		os.WriteFile(p, []byte("bbbb"), 0o644)
		os.Chtimes(p, st.ModTime(), st.ModTime())
		r := diff(t, s)
		if findChange(r.Modified, filepath.Base(p)) == nil {
			t.Fatalf("round %d: rewrite in the same tick not seen: %+v", i, r)
		}
	}
}

// Hiding a change: a file swapped by rename for one with the same
// content length and times, and a link that stays inside the workspace
// by its text but leads out through an older link.
func TestChangesHidden(t *testing.T) {
	root := t.TempDir()
	write(t, root, "conf.txt", "safe=1\n", 0o644)
	os.Symlink("/etc", filepath.Join(root, "sys"))
	s := snap(t, root, ChangeOptions{})

	p := filepath.Join(root, "conf.txt")
	st, _ := os.Stat(p)
	write(t, root, ".conf.tmp", "safe=0\n", 0o644)
	os.Chtimes(filepath.Join(root, ".conf.tmp"), st.ModTime(), st.ModTime())
	if err := os.Rename(filepath.Join(root, ".conf.tmp"), p); err != nil {
		t.Fatal(err)
	}
	os.Symlink("sys/passwd", filepath.Join(root, "inside-looking"))
	r := diff(t, s)
	if findChange(r.Modified, "conf.txt") == nil {
		t.Errorf("file replaced by rename not reported: %+v", r)
	}
	if f := findFinding(r.Findings, "inside-looking", "symlink-out"); f == nil || !strings.Contains(f.Message, "resolves to /etc/passwd") {
		t.Errorf("chained link out not flagged: %v", r.Findings)
	}
	if len(r.Findings) != 1 || len(r.Created) != 1 || len(r.Modified) != 1 || len(r.Deleted) != 0 {
		t.Errorf("report %+v", r)
	}
}

// A directory made unreadable hides its contents: that is a finding,
// and its old entries are not reported deleted. Root reads everything,
// so as root the test runs itself again as nobody.
func TestChangesUnreadable(t *testing.T) {
	if os.Getuid() == 0 {
		if os.Getenv("CORDON_TEST_AS_NOBODY") != "" {
			t.Fatal("still root")
		}
		bin, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		// The test binary's own directory is root's: copy it where
		// nobody can run it.
		dir, err := os.MkdirTemp("", "cordon-test-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		b, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "verify.test"), b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(dir, "verify.test"), "-test.run", "^TestChangesUnreadable$", "-test.v")
		cmd.Env = append(os.Environ(), "CORDON_TEST_AS_NOBODY=1")
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestChangesUnreadable") {
			t.Fatalf("as nobody: %v\n%s", err, out)
		}
		return
	}
	root, err := os.MkdirTemp("", "cordon-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	write(t, root, "a/old.txt", "old\n", 0o644)
	write(t, root, "b/keep.txt", "keep\n", 0o644)
	write(t, root, "c/x", "x\n", 0o644)
	os.Chmod(filepath.Join(root, "c"), 0o300)
	s := snap(t, root, ChangeOptions{})
	write(t, root, "a/new.txt", "new\n", 0o644)
	os.Chmod(filepath.Join(root, "a"), 0)
	defer os.Chmod(filepath.Join(root, "a"), 0o755)
	defer os.Chmod(filepath.Join(root, "c"), 0o755)
	r := diff(t, s)
	if f := findFinding(r.Findings, "a", "unreadable"); f == nil || f.Severity != SeverityHigh {
		t.Errorf("no unreadable finding: %v", r.Findings)
	}
	if r.Counts.Unreadable != 2 || len(r.Deleted) != 0 || len(r.Findings) != 1 {
		t.Errorf("report %+v", r)
	}
	if c := findChange(r.Modified, "a"); c == nil || c.OldMode != fs.ModeDir|0o755 {
		t.Errorf("mode change of a not reported: %+v", r.Modified)
	}
}

func TestChangesGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	write(t, root, "main.go", "package main\n", 0o644)
	git("add", ".")
	git("commit", "-q", "-m", "one")
	s := snap(t, root, ChangeOptions{Detectors: testDetectors})

	for i := range 20 {
		write(t, root, fmt.Sprintf("f%d.go", i), fmt.Sprintf("package main // %d\n", i), 0o644)
	}
	git("add", ".")
	git("commit", "-q", "-m", "two")
	git("config", "core.editor", "true")
	write(t, root, ".git/hooks/pre-commit", "#!/bin/sh\nexit 0\n", 0o755)
	write(t, root, ".gitattributes", "*.go text\n", 0o644)
	write(t, root, ".git/info/exclude", "token="+fakeSecret+"\n", 0o644)
	r := diff(t, s)

	if r.Counts.GitInternal < 20 {
		t.Errorf("git internals counted: %d", r.Counts.GitInternal)
	}
	for _, l := range [][]Change{r.Created, r.Modified, r.Deleted} {
		for _, c := range l {
			if strings.HasPrefix(c.Path, ".git/objects") || strings.HasPrefix(c.Path, ".git/logs") || c.Path == ".git/index" {
				t.Errorf("git internal listed: %s", c.Path)
			}
		}
	}
	if findChange(r.Created, "f7.go") == nil {
		t.Error("work tree file not listed")
	}
	for _, w := range []struct{ path, rule string }{
		{".git/hooks/pre-commit", "git-hooks"}, {".git/config", "git-config"}, {".gitattributes", "git-config"},
		{".git/info/exclude", fakeSecret},
	} {
		if findFinding(r.Findings, w.path, w.rule) == nil {
			t.Errorf("no %s finding for %s: %v", w.rule, w.path, r.Findings)
		}
	}
	if len(r.Findings) != 4 {
		t.Errorf("findings: %v", r.Findings)
	}
}

// 50,000 new files make a report of bounded size, with exact counts, and
// the flagged change among them is listed.
func TestChangesBound(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 50,000 files")
	}
	root := t.TempDir()
	s := snap(t, root, ChangeOptions{})
	// File creation waits on the disk here: several at once.
	var wg sync.WaitGroup
	for d := range 100 {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", d))
		os.Mkdir(dir, 0o755)
		wg.Go(func() {
			for f := range 500 {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", f)), nil, 0o644); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	write(t, root, "zz/.gitlab-ci.yml", "x\n", 0o644)
	r := diff(t, s)
	if r.Counts.Created != 50_000+100+2 || !r.Truncated || r.Counts.Unlisted != r.Counts.Created-1000 {
		t.Fatalf("counts %+v, truncated %v", r.Counts, r.Truncated)
	}
	if len(r.Created) != 1000 {
		t.Fatalf("%d listed", len(r.Created))
	}
	if findChange(r.Created, "zz/.gitlab-ci.yml") == nil || findFinding(r.Findings, "zz/.gitlab-ci.yml", "ci-workflow") == nil {
		t.Fatal("flagged change not listed")
	}
}

// Skipped trees are counted, yet a symlink out of the workspace in them
// is still a finding.
func TestChangesSkip(t *testing.T) {
	root := t.TempDir()
	write(t, root, "node_modules/a/index.js", "x\n", 0o644)
	s := snap(t, root, ChangeOptions{Skip: []string{"node_modules", "build/out"}, Detectors: testDetectors})
	write(t, root, "node_modules/b/index.js", fakeSecret, 0o644)
	write(t, root, "node_modules/.bin/b", "x\n", 0o755)
	os.Chmod(filepath.Join(root, "node_modules/a/index.js"), 0o755)
	os.Symlink("/home", filepath.Join(root, "node_modules/evil"))
	write(t, root, "build/out/x", "x", 0o644)
	write(t, root, "build/other", "x", 0o644)
	r := diff(t, s)
	if r.Counts.Skipped != 8 {
		t.Errorf("skipped %d, want 8: %+v", r.Counts.Skipped, r)
	}
	if len(r.Created) != 2 || findChange(r.Created, "build") == nil || findChange(r.Created, "build/other") == nil || len(r.Modified) != 0 {
		t.Errorf("listed: %+v %+v", r.Created, r.Modified)
	}
	if len(r.Findings) != 1 || findFinding(r.Findings, "node_modules/evil", "symlink-out") == nil {
		t.Errorf("findings: %v", r.Findings)
	}
}

func TestChangesManifests(t *testing.T) {
	root := t.TempDir()
	write(t, root, "pyproject.toml", "[project]\nname = \"p\"\n\n[build-system]\nrequires = [\"setuptools\"]\n", 0o644)
	write(t, root, "web/package.json", `{"scripts":{"build":"vite"}}`, 0o644)
	write(t, root, "other/pyproject.toml", "[project]\nname = \"q\"\n", 0o644)
	s := snap(t, root, ChangeOptions{})
	write(t, root, "pyproject.toml", "[project]\nname = \"p\"\n\n[build-system]\nrequires = [\"setuptools\"]\nbackend-path = [\".\"]\n", 0o644)
	write(t, root, "web/package.json", `{"scripts":{"build":"vite --mode x"}}`, 0o644)
	write(t, root, "other/pyproject.toml", "[project]\nname = \"q\"\nversion = \"2\"\n", 0o644)
	write(t, root, "CLAUDE.md", "be nice\n", 0o644)
	write(t, root, ".vscode/tasks.json", "{}", 0o644)
	write(t, root, ".claude/settings.json", "{}", 0o644)
	r := diff(t, s)
	want := map[string]Severity{"pyproject.toml": SeverityMedium, "web/package.json": SeverityMedium,
		"CLAUDE.md": SeverityMedium, ".vscode/tasks.json": SeverityHigh, ".claude/settings.json": SeverityHigh}
	for _, f := range r.Findings {
		if sev, ok := want[f.Path]; !ok || sev != f.Severity {
			t.Errorf("unexpected finding %v", f)
		}
		delete(want, f.Path)
	}
	if len(want) != 0 {
		t.Errorf("missing findings for %v", want)
	}
}

// A symlink where a rule's directory would be is flagged under that
// rule, and a manifest too large to compare is flagged anyway.
func TestChangesSymlinkedPlaces(t *testing.T) {
	root := t.TempDir()
	s := snap(t, root, ChangeOptions{})
	write(t, root, "elsewhere/workflows/ci.yml", "on: push\n", 0o644)
	os.Symlink("elsewhere", filepath.Join(root, ".github"))
	os.Symlink("elsewhere", filepath.Join(root, ".vscode"))
	big := `{"scripts":{"postinstall":"x"},"pad":"` + strings.Repeat("x", maxKept) + `"}`
	write(t, root, "package.json", big, 0o644)
	write(t, root, "web/scripts.json", `{"scripts":{"postinstall":"x"}}`, 0o644)
	os.Symlink("scripts.json", filepath.Join(root, "web/package.json"))
	r := diff(t, s)
	for _, w := range []struct {
		path, rule string
		sev        Severity
	}{
		{".github", "ci-workflow", SeverityHigh},
		{".vscode", "agent-config", SeverityHigh},
		{"package.json", "package-scripts", SeverityMedium},
		{"web/package.json", "package-scripts", SeverityMedium},
	} {
		if f := findFinding(r.Findings, w.path, w.rule); f == nil || f.Severity != w.sev {
			t.Errorf("%s: want %s %s, findings %v", w.path, w.sev, w.rule, r.Findings)
		}
	}
}

// Files whose ctime the clock has not passed are compared by content:
// unchanged ones are not reported, a changed one is seen.
func TestChangesRacy(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a", "aaaa", 0o644)
	write(t, root, "b", "bbbb", 0o644)
	s := snap(t, root, ChangeOptions{})
	s.hashRacy(0) // as if the clock had been set back past every file
	if len(s.racy) != 2 {
		t.Fatalf("%d racy files", len(s.racy))
	}
	if r := diff(t, s); r.Counts != (Counts{}) {
		t.Fatalf("unchanged racy files reported: %+v", r)
	}
	dir, _ := os.Open(root)
	defer dir.Close()
	os.WriteFile(filepath.Join(root, "a"), []byte("AAAA"), 0o644)
	if !s.racyChanged(s.index["a"], int(dir.Fd()), []byte("a")) || s.racyChanged(s.index["b"], int(dir.Fd()), []byte("b")) {
		t.Fatal("content comparison wrong")
	}
}

func TestGitRule(t *testing.T) {
	for _, c := range []struct {
		rel   string
		place gitPlace
		rule  string
	}{
		{"main.go", notGit, ""},
		{".gitignore", notGit, ""},
		{"a.git/config", notGit, ""},
		{".git", gitListed, "git-config"},
		{".git/config", gitListed, "git-config"},
		{"sub/.git/config", gitListed, "git-config"},
		{".git/hooks/post-checkout", gitListed, "git-hooks"},
		{".git/hooks/pre-commit.sample", gitListed, ""},
		{".git/info/attributes", gitListed, "git-config"},
		{".git/info/exclude", gitListed, ""},
		{".git/objects/ab/cdef", gitInternal, ""},
		{".git/logs/HEAD", gitInternal, ""},
		{".git/index", gitInternal, ""},
		{".git/modules/lib/hooks/pre-push", gitListed, "git-hooks"},
		{".git/modules/lib/config", gitListed, "git-config"},
		{".git/modules/lib/objects/x", gitInternal, ""},
		{".git/worktrees/w/config.worktree", gitListed, "git-config"},
	} {
		place, r := gitRule(c.rel)
		rule := ""
		if r != nil {
			rule = r.rule
		}
		if place != c.place || rule != c.rule {
			t.Errorf("%s: %v %q, want %v %q", c.rel, place, rule, c.place, c.rule)
		}
	}
}

func TestSkipper(t *testing.T) {
	s := newSkipper([]string{"node_modules", "target/", "build/out", "*.tmp"})
	for rel, want := range map[string]bool{
		"node_modules": true, "a/node_modules/x/y": true, "target/debug/x": true, "x/target": true,
		"build/out": true, "build/out/x": true, "x/build/out": false, "build/outer": false,
		"a.tmp": true, "d/a.tmp/x": true, "src/main.go": false, "node_modules2/x": false,
	} {
		if got := s.skipped(rel); got != want {
			t.Errorf("%s: %v, want %v", rel, got, want)
		}
	}
}

// The benchmark tree: 100,000 files in 10,000 directories (100 × 100,
// 10 files each), made once, under $CORDON_BENCH_DIR if set (to compare
// filesystems), else the temporary directory.
var bench struct {
	once sync.Once
	root string
	err  error
}

func benchTree(b *testing.B) string {
	bench.once.Do(func() {
		bench.root, bench.err = os.MkdirTemp(os.Getenv("CORDON_BENCH_DIR"), "cordon-changes-bench-")
		if bench.err != nil {
			return
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				for j := range 100 {
					dir := filepath.Join(bench.root, fmt.Sprintf("d%02d", i), fmt.Sprintf("e%02d", j))
					err := os.MkdirAll(dir, 0o755)
					for k := range 10 {
						if err == nil {
							err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%d.go", k)), []byte("package x\n"), 0o644)
						}
					}
					if err != nil {
						mu.Lock()
						bench.err = err
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.root
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.root != "" {
		os.RemoveAll(bench.root)
	}
	os.Exit(code)
}

// cpuTime reports, beside the wall time, the CPU time (user and system,
// all threads, and children such as find) per operation: on a shared machine the wall time says how
// busy the neighbours were, the CPU time what the work costs.
func cpuTime(b *testing.B) func() {
	used := func() int64 {
		var self, children syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
		return self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano()
	}
	before := used()
	return func() {
		ns := used() - before
		b.ReportMetric(float64(ns)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkChangesSnapshot(b *testing.B) {
	root := benchTree(b)
	// What a snapshot keeps, per path.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := snap(b, root, ChangeOptions{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(s.paths))
	runtime.KeepAlive(s)

	defer cpuTime(b)()
	for b.Loop() {
		snap(b, root, ChangeOptions{})
	}
	b.ReportMetric(kept, "kept-B/path") // after Loop, which resets metrics
}

func BenchmarkChangesDiff(b *testing.B) {
	root := benchTree(b)
	s := snap(b, root, ChangeOptions{})
	defer cpuTime(b)()
	for b.Loop() {
		if r := diff(b, s); r.Counts != (Counts{}) {
			b.Fatalf("changes in the benchmark tree: %+v", r.Counts)
		}
	}
}

// A diff that finds work: 10,000 of the 100,000 files modified (their
// times set, so ctime moves), each scanned for secrets.
func BenchmarkChangesDiffModified(b *testing.B) {
	root := benchTree(b)
	s := snap(b, root, ChangeOptions{Detectors: testDetectors})
	now := time.Now()
	for i := range 100 {
		for j := range 10 {
			for k := range 10 {
				p := filepath.Join(root, fmt.Sprintf("d%02d", i), fmt.Sprintf("e%02d", j), fmt.Sprintf("file%d.go", k))
				if err := os.Chtimes(p, now, now); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	defer cpuTime(b)()
	for b.Loop() {
		if r := diff(b, s); r.Counts.Modified != 10_000 || r.Counts.Scanned != 10_000 {
			b.Fatalf("counts %+v", r.Counts)
		}
	}
}

// The same walk with the standard library, for comparison: WalkDir and
// an Lstat per entry.
func BenchmarkChangesWalkDir(b *testing.B) {
	root := benchTree(b)
	defer cpuTime(b)()
	for b.Loop() {
		n := 0
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if _, err := d.Info(); err == nil {
				n++
			}
			return nil
		})
		if n < 110_000 {
			b.Fatal(n)
		}
	}
}

// find(1) stating every path, one thread: the yardstick for what a walk
// costs in the kernel.
func BenchmarkChangesFind(b *testing.B) {
	if _, err := exec.LookPath("find"); err != nil {
		b.Skip("no find")
	}
	root := benchTree(b)
	defer cpuTime(b)()
	for b.Loop() {
		cmd := exec.Command("find", root, "-printf", "%i %s %C@ %T@ %m\\n")
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGitControl(t *testing.T) {
	for rel, want := range map[string]string{
		".git":                                 "gitdir",
		"sub/.git":                             "gitdir",
		".git/hooks":                           "hook",
		"sub/.git/hooks/pre-commit":            "hook",
		"sub/.git/hooks/pre-commit.sample":     "",
		".git/modules/lib/hooks":               "hook",
		".git/modules/lib/hooks/post-checkout": "hook",
		"a/b/.git/config":                      "config",
		".git/modules/lib/config":              "config",
		"sub/.git/config.worktree":             "config",
		"sub/.git/worktrees/w/commondir":       "commondir",
		"sub/.git/info/attributes":             "",
		"sub/.git/objects/ab/cdef":             "",
		"sub/.git/index":                       "",
		"sub/.github/workflows/ci.yml":         "",
		"sub/git/config":                       "",
		"x.git/config":                         "",
	} {
		if got := GitControl(rel); got != want {
			t.Errorf("GitControl(%q) = %q, want %q", rel, got, want)
		}
	}
}

// The report lists every change git would obey, untruncated, with a
// modified config's old content.
func TestChangeReportGit(t *testing.T) {
	root := t.TempDir()
	write(t, root, "sub/.git/config", "[core]\n\tbare = false\n", 0o644)
	write(t, root, "sub/.git/HEAD", "ref: refs/heads/main\n", 0o644)
	s, err := Snapshot(root, ChangeOptions{MaxEntries: 1, MaxFindings: 1})
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, "sub/.git/config", "[core]\n\tbare = false\n\tfsmonitor = x\n", 0o644)
	write(t, root, "sub/.git/HEAD", "ref: refs/heads/other\n", 0o644)
	for i := range 5 {
		write(t, root, fmt.Sprintf("r%d/.git/hooks/post-checkout", i), "#!/bin/sh\n", 0o755)
	}
	r, err := s.Diff()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]GitChange{}
	for _, g := range r.Git {
		got[g.Path] = g
	}
	if c := got["sub/.git/config"]; c.Control != "config" || c.Created || string(c.Old) != "[core]\n\tbare = false\n" {
		t.Errorf("config: %+v", c)
	}
	for i := range 5 {
		if c := got[fmt.Sprintf("r%d/.git/hooks/post-checkout", i)]; c.Control != "hook" || !c.Created {
			t.Errorf("hook %d: %+v", i, c)
		}
	}
	if _, ok := got["sub/.git/HEAD"]; ok {
		t.Error("HEAD listed")
	}
}
