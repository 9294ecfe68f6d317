package guard

import (
	"context"
	"errors"
	"github.com/cordon-sh/cordon/approval"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

// fileSetup makes a workspace and a home of the test's own, with a fake
// private key where the default policy masks one, and a directory outside
// both that nothing may write to.
func fileSetup(t testing.TB) (g *Guard, ws, home, outside, logPath string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	must(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	must(t, os.WriteFile(filepath.Join(home, ".ssh", "id_rsa"), []byte("FAKE PRIVATE KEY\n"), 0o600))
	ws = t.TempDir()
	must(t, os.MkdirAll(filepath.Join(ws, ".git", "hooks"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	outside = t.TempDir()
	pol, err := policy.Load(policy.Options{Workspace: ws})
	must(t, err)
	logPath = filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(logPath, audit.Options{Sync: audit.SyncBehind})
	must(t, err)
	t.Cleanup(func() { l.Close() })
	g = &Guard{Policy: pol, Backend: linux.Backend{}, Audit: l, Home: home}
	return g, ws, home, outside, logPath
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantDenied checks that err is a denial by one of rules: the policy's
// path rule comes first, the sandbox view's own check behind it (see
// TestViewAlone).
func wantDenied(t *testing.T, err error, rules ...string) {
	t.Helper()
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("want a denial by %v, got %v", rules, err)
	}
	if !slices.Contains(rules, denied.Decision.Rule) {
		t.Fatalf("denied by %s (%s), want %v", denied.Decision.Rule, denied.Decision.Reason, rules)
	}
}

// The sandbox view's checks hold on their own, whatever the policy said.
func TestViewAlone(t *testing.T) {
	g, ws, home, outside, _ := fileSetup(t)
	v, err := g.view(ws)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.resolveRead(ws, filepath.Join(home, ".ssh", "id_rsa"))
	wantDenied(t, err, RuleFileMasked, "masked")
	must(t, os.Symlink(filepath.Join(home, ".ssh"), filepath.Join(ws, "keys")))
	_, err = v.resolveRead(ws, "keys/id_rsa")
	wantDenied(t, err, RuleFileMasked, "masked")
	_, err = v.resolveRead(ws, "/proc/self/environ")
	wantDenied(t, err, RuleFileHost)
	for _, rel := range []string{".git/hooks/pre-commit", ".git/config", ".envrc", ".cordon.yaml",
		// The same in a repository nested in the workspace, and in a
		// submodule's git directory.
		"sub/.git/hooks/pre-commit", "sub/.git/config", "a/b/.git/config.worktree", "sub/.git",
		".git/modules/lib/hooks/post-checkout", "sub/.git/modules/lib/config"} {
		wantDenied(t, v.checkWrite(rel), RuleFileProtected)
	}
	for _, rel := range []string{"sub/.git/info/exclude", "sub/.gitignore", "sub/git/config", "sub/.github/x"} {
		if err := v.checkWrite(rel); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	wantDenied(t, v.checkWrite("../x"), RuleFileOutside)

	// A person approves a write the policy asks about; a symlink planted
	// in the workspace still cannot carry it outside.
	g.Approve = func(context.Context, *approval.Request) *audit.Approval {
		return &audit.Approval{Granted: true, How: "test"}
	}
	must(t, os.Symlink(outside, filepath.Join(ws, "out")))
	_, err = g.WriteFile(context.Background(), &FileRequest{Workspace: ws, Path: "out/escape"}, []byte("x"))
	wantDenied(t, err, RuleFileSymlink)
	if _, err := os.Lstat(filepath.Join(outside, "escape")); err == nil {
		t.Fatal("written through a symlink out of the workspace")
	}
}

func TestReadFile(t *testing.T) {
	g, ws, home, _, logPath := fileSetup(t)
	ctx := context.Background()
	resp, err := g.ReadFile(ctx, &FileRequest{Workspace: ws, Path: "main.go", Agent: "test"}, 0)
	if err != nil || !strings.Contains(string(resp.Content), "func main") {
		t.Fatalf("read main.go: %v %q", err, resp.Content)
	}
	resp, err = g.ReadFile(ctx, &FileRequest{Workspace: ws, Path: "main.go"}, 4)
	if err != nil || string(resp.Content) != "pack" || !resp.Truncated {
		t.Fatalf("read 4 bytes: %v %q %v", err, resp.Content, resp.Truncated)
	}

	key := filepath.Join(home, ".ssh", "id_rsa")
	_, err = g.ReadFile(ctx, &FileRequest{Workspace: ws, Path: key}, 0)
	wantDenied(t, err, RuleFileMasked, "masked")
	// Through a symlink planted in the workspace: judged by its target.
	must(t, os.Symlink(filepath.Join(home, ".ssh"), filepath.Join(ws, "keys")))
	resp, err = g.ReadFile(ctx, &FileRequest{Workspace: ws, Path: "keys/id_rsa"}, 0)
	wantDenied(t, err, RuleFileMasked, "masked", "credentials-redirect")
	if resp != nil && len(resp.Content) > 0 {
		t.Fatalf("masked content returned: %q", resp.Content)
	}
	_, err = g.ListDir(ctx, &FileRequest{Workspace: ws, Path: filepath.Join(home, ".ssh")})
	wantDenied(t, err, RuleFileMasked, "masked")

	// The host's /proc is not what the sandbox sees: cordon's own
	// environment is there.
	_, err = g.ReadFile(ctx, &FileRequest{Workspace: ws, Path: "/proc/self/environ"}, 0)
	wantDenied(t, err, RuleFileHost, "credentials-redirect")

	ls, err := g.ListDir(ctx, &FileRequest{Workspace: ws, Path: "."})
	if err != nil || len(ls.Entries) != 3 || ls.Entries[0].Name != ".git" || ls.Entries[2].Type != "file" {
		t.Fatalf("list: %v %+v", err, ls)
	}

	recs := records(t, logPath)
	if len(recs) != 7 {
		t.Fatalf("%d records", len(recs))
	}
	if r := recs[0]; r.Command != "read_file main.go" || r.Decision.Verdict != "allow" || r.Agent != "test" {
		t.Fatalf("record of a read: %+v %+v", r, r.Decision)
	}
	if r := recs[2]; r.Decision.Verdict != "deny" || (r.Decision.Rule != RuleFileMasked && r.Decision.Rule != "masked") {
		t.Fatalf("record of a refused read: %+v", r.Decision)
	}
}

func TestWriteFile(t *testing.T) {
	g, ws, _, outside, _ := fileSetup(t)
	ctx := context.Background()
	write := func(path, content string) error {
		_, err := g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: path}, []byte(content))
		return err
	}
	must(t, write("pkg/sub/new.go", "package sub\n"))
	if b, _ := os.ReadFile(filepath.Join(ws, "pkg/sub/new.go")); string(b) != "package sub\n" {
		t.Fatalf("written: %q", b)
	}
	must(t, write(filepath.Join(ws, "main.go"), "package main\n"))

	hook := filepath.Join(ws, ".git", "hooks", "pre-commit")
	wantDenied(t, write(".git/hooks/pre-commit", "#!/bin/sh\n"), RuleFileProtected, "protected")
	wantDenied(t, write("./x/../.git/hooks/pre-commit", "#!/bin/sh\n"), RuleFileProtected, "protected")
	wantDenied(t, write(".git/config", "[core]\n"), RuleFileProtected, "protected")
	// A protected path that does not exist yet.
	wantDenied(t, write(".envrc", "export X=1\n"), RuleFileProtected, "protected")
	// Reached through a symlink inside the workspace.
	must(t, os.Symlink(".git/hooks", filepath.Join(ws, "hooks")))
	wantDenied(t, write("hooks/pre-commit", "#!/bin/sh\n"), RuleFileSymlink, "protected")
	if _, err := os.Lstat(hook); err == nil {
		t.Fatal("a protected hook was written")
	}

	// Out of the workspace, by name or through symlinks.
	wantDenied(t, write("../escape", "x"), RuleFileOutside, "outside-workspace")
	wantDenied(t, write(filepath.Join(outside, "escape"), "x"), RuleFileOutside, "outside-workspace")
	must(t, os.Symlink(outside, filepath.Join(ws, "out")))
	wantDenied(t, write("out/escape", "x"), RuleFileSymlink, "outside-workspace")
	victim := filepath.Join(outside, "victim")
	must(t, os.WriteFile(victim, []byte("original"), 0o644))
	must(t, os.Symlink(victim, filepath.Join(ws, "link")))
	wantDenied(t, write("link", "overwritten"), RuleFileSymlink, "outside-workspace")
	if b, _ := os.ReadFile(victim); string(b) != "original" {
		t.Fatalf("written through a symlink: %q", b)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Fatalf("files appeared outside: %v", ents)
	}
}

const goodPatch = `diff --git a/main.go b/main.go
--- a/main.go
+++ b/main.go
@@ -1,3 +1,3 @@
 package main
 
-func main() {}
+func main() { println("hi") }
diff --git a/util.go b/util.go
new file mode 100644
--- /dev/null
+++ b/util.go
@@ -0,0 +1 @@
+package main
`

func TestApplyPatch(t *testing.T) {
	g, ws, _, _, logPath := fileSetup(t)
	ctx := context.Background()
	apply := func(p string) (*FileResponse, error) {
		return g.ApplyPatch(ctx, &FileRequest{Workspace: ws}, p)
	}
	orig, _ := os.ReadFile(filepath.Join(ws, "main.go"))

	// A patch whose second file does not apply changes nothing.
	bad := strings.Replace(goodPatch, "new file mode 100644\n--- /dev/null", "--- a/util.go", 1)
	bad = strings.Replace(bad, "@@ -0,0 +1 @@", "@@ -1 +1 @@\n-package other", 1)
	if _, err := apply(bad); err == nil {
		t.Fatal("a patch that does not apply was applied")
	}
	// Nor does one that touches a protected path.
	hooked := goodPatch + "diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\nnew file mode 100755\n--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+#!/bin/sh\n"
	_, err := apply(hooked)
	wantDenied(t, err, RuleFileProtected, "protected")
	escaping := "--- a/../escape.txt\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+x\n"
	_, err = apply(escaping)
	wantDenied(t, err, RuleFileOutside)
	if b, _ := os.ReadFile(filepath.Join(ws, "main.go")); string(b) != string(orig) {
		t.Fatalf("a refused patch changed main.go: %q", b)
	}
	if _, err := os.Stat(filepath.Join(ws, "util.go")); err == nil {
		t.Fatal("a refused patch created util.go")
	}

	resp, err := apply(goodPatch)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "main.go")); !strings.Contains(string(b), `println("hi")`) {
		t.Fatalf("main.go: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "util.go")); string(b) != "package main\n" {
		t.Fatalf("util.go: %q", b)
	}
	if len(resp.Changes) != 2 || resp.Changes[0].Op != "modify" || resp.Changes[1].Op != "create" {
		t.Fatalf("changes: %+v", resp.Changes)
	}
	// diff -u with a/ b/ prefixes and no git header.
	_, err = apply("--- a/util.go\n+++ b/util.go\n@@ -1 +1,2 @@\n package main\n+// more\n")
	must(t, err)
	if b, _ := os.ReadFile(filepath.Join(ws, "util.go")); string(b) != "package main\n// more\n" {
		t.Fatalf("util.go: %q", b)
	}
	recs := records(t, logPath)
	if r := recs[len(recs)-2]; r.Command != "apply_patch" || len(r.Changes) != 2 {
		t.Fatalf("record of a patch: %+v", r)
	}
}

// Whatever the patch, nothing is written outside the workspace or to a
// protected path.
func FuzzApplyPatch(f *testing.F) {
	f.Add(goodPatch)
	f.Add("--- a/../x\n+++ b/../x\n@@ -0,0 +1 @@\n+x\n")
	f.Add("diff --git a/out/x b/out/x\nnew file mode 100644\n--- /dev/null\n+++ b/out/x\n@@ -0,0 +1 @@\n+x\n")
	f.Add("diff --git a/main.go b/.git/hooks/pre-commit\nrename from main.go\nrename to .git/hooks/pre-commit\n")
	g, ws, _, outside, _ := fileSetup(f)
	if err := os.Symlink(outside, filepath.Join(ws, "out")); err != nil {
		f.Fatal(err)
	}
	g.Audit = nil
	f.Fuzz(func(t *testing.T, patch string) {
		g.ApplyPatch(context.Background(), &FileRequest{Workspace: ws}, patch)
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("written outside: %v", ents)
		}
		if ents, _ := os.ReadDir(filepath.Join(ws, ".git", "hooks")); len(ents) != 0 {
			t.Fatalf("written to hooks: %v", ents)
		}
	})
}
