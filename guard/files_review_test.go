package guard

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Review tests: each one performs a write the sandbox would not let a
// command make and checks that the file tools refuse it too.

// In a git worktree or a submodule, .git is a file naming the git
// directory. The sandbox holds that file read-only (planProtected pins "a
// file where a directory was expected"); rewritten, it sends git to a
// directory of the agent's choosing, whose config (core.fsmonitor,
// core.hooksPath) runs commands on the host at the user's next git status.
func TestReviewGitFileIsProtected(t *testing.T) {
	g, ws, _, _, _ := fileSetup(t)
	ctx := context.Background()
	dotgit := filepath.Join(ws, ".git")
	must(t, os.RemoveAll(dotgit))
	const orig = "gitdir: /srv/repo/.git/worktrees/ws\n"
	must(t, os.WriteFile(dotgit, []byte(orig), 0o644))
	// The agent's git directory, with a config that runs a command.
	must(t, os.MkdirAll(filepath.Join(ws, "evil", "refs"), 0o755))
	must(t, os.MkdirAll(filepath.Join(ws, "evil", "objects"), 0o755))
	_, err := g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: "evil/HEAD"}, []byte("ref: refs/heads/main\n"))
	must(t, err)
	_, err = g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: "evil/config"}, []byte("[core]\n\tfsmonitor = touch /tmp/pwned\n"))
	must(t, err)

	_, err = g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: ".git"}, []byte("gitdir: evil\n"))
	if b, _ := os.ReadFile(dotgit); string(b) != orig {
		t.Errorf("write_file rewrote the .git file: %q (err %v)", b, err)
		must(t, os.WriteFile(dotgit, []byte(orig), 0o644))
	}
	patch := "diff --git a/.git b/.git\n--- a/.git\n+++ b/.git\n@@ -1 +1 @@\n-" + orig + "+gitdir: evil\n"
	_, err = g.ApplyPatch(ctx, &FileRequest{Workspace: ws}, patch)
	if b, _ := os.ReadFile(dotgit); string(b) != orig {
		t.Errorf("apply_patch rewrote the .git file: %q (err %v)", b, err)
		must(t, os.WriteFile(dotgit, []byte(orig), 0o644))
	}
	del := "diff --git a/.git b/.git\ndeleted file mode 100644\n--- a/.git\n+++ /dev/null\n@@ -1 +0,0 @@\n-" + orig
	_, err = g.ApplyPatch(ctx, &FileRequest{Workspace: ws}, del)
	if _, serr := os.Lstat(dotgit); serr != nil {
		t.Errorf("apply_patch deleted the .git file (err %v)", err)
	}
}

// A workspace without .git: the sandbox lets a command make one, but
// moves it aside after the run when it is not a plain directory (see
// checkWatched). The file tools have no such after-check, so a .git file
// they write stays and points git at the agent's config.
func TestReviewNewGitFileIsRefused(t *testing.T) {
	g, ws, _, _, _ := fileSetup(t)
	ctx := context.Background()
	must(t, os.RemoveAll(filepath.Join(ws, ".git")))
	_, err := g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: "evil/config"}, []byte("[core]\n\tfsmonitor = touch /tmp/pwned\n"))
	must(t, err)
	_, err = g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: ".git"}, []byte("gitdir: evil\n"))
	if st, serr := os.Lstat(filepath.Join(ws, ".git")); serr == nil && st.Mode().IsRegular() {
		t.Errorf("write_file created a .git file pointing elsewhere (err %v)", err)
	}
}

// A protected path below a symlink whose tail does not exist yet: .git is
// a link to a git directory in the workspace that has no hooks directory
// (git init --template= makes none). The sandbox follows the link and
// holds repo.git/hooks with a placeholder; the file tools resolve the
// protected path only when all of it exists, so repo.git/hooks/pre-commit
// is writable by its real name.
func TestReviewProtectedBehindSymlinkWithMissingTail(t *testing.T) {
	g, ws, _, _, _ := fileSetup(t)
	ctx := context.Background()
	must(t, os.RemoveAll(filepath.Join(ws, ".git")))
	must(t, os.MkdirAll(filepath.Join(ws, "repo.git", "objects"), 0o755))
	must(t, os.MkdirAll(filepath.Join(ws, "repo.git", "refs"), 0o755))
	must(t, os.WriteFile(filepath.Join(ws, "repo.git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644))
	must(t, os.Symlink("repo.git", filepath.Join(ws, ".git")))

	for _, rel := range []string{"repo.git/hooks/pre-commit", "repo.git/config"} {
		_, err := g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: rel}, []byte("#!/bin/sh\n"))
		if _, serr := os.Lstat(filepath.Join(ws, rel)); serr == nil {
			t.Errorf("wrote %s, protected as .git/%s through the .git symlink (err %v)", rel, rel[len("repo.git/"):], err)
		}
	}
}

// Writing to a file replaces it with a new one of the old file's mode.
// The kernel clears set-user-ID and set-group-ID when a file's content is
// written; carrying them over to new content (owned by cordon's user,
// root when cordon runs as root) makes a set-user-ID program whose
// content the agent chose.
func TestReviewWriteDropsSetuid(t *testing.T) {
	g, ws, _, _, _ := fileSetup(t)
	ctx := context.Background()
	p := filepath.Join(ws, "tool")
	must(t, os.WriteFile(p, []byte("harmless\n"), 0o755))
	must(t, os.Chmod(p, 0o755|os.ModeSetuid|os.ModeSetgid))
	_, err := g.WriteFile(ctx, &FileRequest{Workspace: ws, Path: "tool"}, []byte("agent content\n"))
	must(t, err)
	st, err := os.Stat(p)
	must(t, err)
	if st.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
		t.Errorf("new content kept the set-ID bits: %v", st.Mode())
	}
}

// The same writes by a sandboxed command fail: the file tools are looser
// than the sandbox they claim to mirror. (This test passes; it shows the
// reference behaviour for the two tests above.)
func TestReviewSandboxHoldsThese(t *testing.T) {
	g, ws, _, _, _ := fileSetup(t)
	ctx := context.Background()
	run := func(script string) {
		t.Helper()
		resp, err := g.Run(ctx, &Request{Argv: []string{"sh", "-c", script}, Workspace: ws})
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		t.Logf("%s: %s", script, resp.Stderr)
	}
	dotgit := filepath.Join(ws, ".git")
	must(t, os.RemoveAll(dotgit))
	const orig = "gitdir: /srv/repo/.git/worktrees/ws\n"
	must(t, os.WriteFile(dotgit, []byte(orig), 0o644))
	run("printf 'gitdir: evil\\n' > .git")
	if b, _ := os.ReadFile(dotgit); string(b) != orig {
		t.Errorf("the sandbox rewrote the .git file: %q", b)
	}

	must(t, os.Remove(dotgit))
	must(t, os.MkdirAll(filepath.Join(ws, "repo.git", "objects"), 0o755))
	must(t, os.Symlink("repo.git", dotgit))
	run("mkdir -p repo.git/hooks; printf x > repo.git/hooks/pre-commit; printf x > repo.git/config")
	for _, rel := range []string{"repo.git/hooks/pre-commit", "repo.git/config"} {
		if b, err := os.ReadFile(filepath.Join(ws, rel)); err == nil && len(b) > 0 {
			t.Errorf("the sandbox wrote %s", rel)
		}
	}
}

// Informational: whether a sandboxed command can set the set-user-ID bit
// on a file it made in the workspace. When cordon runs as root the file
// is root's, and the bit survives on the host (nosuid holds only inside
// A sandboxed command cannot give a file a set-ID bit: when cordon runs as
// root the file is root's, and the bit would survive on the host (nosuid
// holds only inside the sandbox's mounts). Tried with chmod and with a
// creating open, from a script the policy cannot read.
func TestReviewSandboxSetuid(t *testing.T) {
	g, ws, _, _, _ := fileSetup(t)
	// A script in the workspace is what the policy cannot read.
	must(t, os.WriteFile(filepath.Join(ws, "mode.py"), []byte("import os\n"+
		"open('s', 'w').write('x')\n"+
		"try:\n    os.chmod('s', 0o4755)\nexcept OSError as e:\n    print(e)\n"+
		"try:\n    os.close(os.open('o', os.O_CREAT | os.O_WRONLY, 0o6755))\nexcept OSError as e:\n    print(e)\n"), 0o644))
	resp, err := g.Run(context.Background(), &Request{Argv: []string{"python3", "mode.py"}, Workspace: ws})
	must(t, err)
	t.Logf("uid %d: %s%s", os.Getuid(), resp.Stdout, resp.Stderr)
	for _, name := range []string{"s", "o"} {
		st, err := os.Stat(filepath.Join(ws, name))
		if err != nil {
			continue // refused before the file was made
		}
		if st.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("a sandboxed command made a set-ID file %s on the host: %v", name, st.Mode())
		}
	}
}
