package guard

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A bare repository nested in the workspace has no .git element in its
// paths, so GitControl ignores its hooks and config altogether. git run on
// the host that pushes to it (a local remote, as tests of deployment
// scripts use) runs its pre-receive and reference-transaction hooks.
func TestReviewGitBareRepositoryMissed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	g, _ := newGuard(t, t.TempDir())
	ws := t.TempDir()
	gitRepo(t, ws)
	gitRepo(t, filepath.Join(ws, "sub"))
	git(t, filepath.Join(ws, "sub"), "commit", "--allow-empty", "-qm", "first")
	marks := t.TempDir()
	lines := []string{
		"set -e",
		"git init -q --bare remote",
		"printf '#!/bin/sh\\ntouch %s\\n' '" + filepath.Join(marks, "pre-receive") + "' > remote/hooks/pre-receive",
		"chmod +x remote/hooks/pre-receive",
		"",
	}
	resp := runScript(t, g, ws, "plant.sh", strings.Join(lines, "\n"))
	t.Logf("warnings: %q", resp.Warnings)
	t.Logf("git push: %s", gitOnHost(filepath.Join(ws, "sub"), "push", "-q", filepath.Join(ws, "remote"), "HEAD:refs/heads/main"))
	if _, err := os.Stat(filepath.Join(marks, "pre-receive")); err == nil {
		t.Error("git push on the host ran the pre-receive hook the command planted in a nested bare repository")
	}
}

// A .git file whose gitdir leads to a git directory that GitControl never
// looks into: the hooks and config there are not checked, and git run on
// the host in the directory holding the .git file runs them.
//
//   - into-dot-git: gitdir: ../sub/.git/x, a whole git directory made
//     inside another repository's .git under a name other than modules/
//     or worktrees/. gitRisk accepts the pointer because its target has a
//     .git element; gitRule files sub/.git/x/hooks/* and sub/.git/x/config
//     as git internals.
//   - two-line-gitdir: git takes everything after "gitdir: " up to the
//     trailing newlines, newlines inside included; gitdirTarget reads only
//     the first line. "gitdir: ../x/.git\n/../../evil" is, for git,
//     x/".git\n"/../../evil = evil, a directory with no .git element,
//     while gitRisk sees x/.git and lets it be.
func TestReviewGitPointerMissed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	cases := []struct {
		name    string
		gitdir  string // where the script moves the planted git directory
		pointer string // content of other/.git
		extra   []string
	}{
		{"into-dot-git", "sub/.git/x", "gitdir: ../sub/.git/x\\n", nil},
		{"two-line-gitdir", "evil", "gitdir: ../x/.git\\n/../../evil\\n", []string{"mkdir -p 'x/.git\n'"}},
		// A submodule's git directory (modules/m, which gitRisk accepts as
		// a pointer's target) whose commondir leads to evil: git takes
		// config and hooks from the common directory, and gitRule files
		// modules/m/commondir as a git internal, never checked.
		{"modules-commondir", "evil", "gitdir: ../sub/.git/modules/m\\n", []string{
			"mkdir -p sub/.git/modules/m",
			"cp evil/HEAD sub/.git/modules/m/HEAD",
			"printf '../../../../evil\\n' > sub/.git/modules/m/commondir",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, _ := newGuard(t, t.TempDir())
			ws := t.TempDir()
			gitRepo(t, ws)
			gitRepo(t, filepath.Join(ws, "sub"))
			marks := t.TempDir() // outside the workspace: only the host can write there
			lines := []string{
				"set -e",
				"git init -q planted",
				"mv planted/.git " + c.gitdir,
				"rmdir planted",
				"printf '#!/bin/sh\\ntouch %s\\n' '" + filepath.Join(marks, "hook") + "' > " + c.gitdir + "/hooks/pre-commit",
				"chmod +x " + c.gitdir + "/hooks/pre-commit",
				"git config -f " + c.gitdir + "/config core.fsmonitor 'touch " + filepath.Join(marks, "fsmonitor") + "'",
				"mkdir other",
			}
			lines = append(lines, c.extra...)
			lines = append(lines, "printf '"+c.pointer+"' > other/.git", "")
			resp := runScript(t, g, ws, "plant.sh", strings.Join(lines, "\n"))
			t.Logf("warnings: %q", resp.Warnings)

			// From the host: ordinary git work in other/.
			must(t, os.MkdirAll(filepath.Join(ws, "other"), 0o755))
			must(t, os.WriteFile(filepath.Join(ws, "other", "f"), []byte("x\n"), 0o644))
			for _, args := range [][]string{
				{"status"},
				{"add", "f"},
				{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x"},
			} {
				t.Logf("git %s: %s", strings.Join(args, " "), gitOnHost(filepath.Join(ws, "other"), args...))
			}
			ents, _ := os.ReadDir(marks)
			for _, e := range ents {
				t.Errorf("git on the host ran what the command planted: %s exists", e.Name())
			}
		})
	}
}
