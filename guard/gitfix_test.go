package guard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRepo makes a repository at dir on the host, with an identity, so
// that commits work inside the sandbox and out.
func gitRepo(t *testing.T, dir string) {
	t.Helper()
	git(t, filepath.Dir(dir), "init", "-q", dir)
	git(t, dir, "config", "user.email", "t@example.com")
	git(t, dir, "config", "user.name", "t")
	git(t, dir, "config", "commit.gpgsign", "false")
}

// runScript writes script to the workspace as name and runs it through
// the pipeline, as an agent's allowed "sh name"; it must exit 0.
func runScript(t *testing.T, g *Guard, ws, name, script string) *Response {
	t.Helper()
	must(t, os.WriteFile(filepath.Join(ws, name), []byte(script), 0o644))
	resp, err := g.Run(context.Background(), &Request{Text: "sh " + name, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result.ExitCode != 0 {
		t.Fatalf("%s exited %d: %s", name, resp.Result.ExitCode, resp.Stderr)
	}
	return resp
}

// gitOnHost runs git on the host the way a person would later, without
// failing the test: whether it runs what was planted is what is checked.
func gitOnHost(dir string, args ...string) []byte {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, _ := cmd.CombinedOutput()
	return out
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// A command the policy allows (a workspace script) plants code for git in
// a repository nested in the workspace, whose .git the sandbox does not
// hold read-only: a hook, a config entry, a .git file pointing at hooks
// made as ordinary files. The pipeline puts each right after the command,
// and git run on the host afterwards runs none of it.
func TestGitNestedRepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	g, logPath := newGuard(t, t.TempDir())
	ws := t.TempDir()
	gitRepo(t, ws)
	gitRepo(t, filepath.Join(ws, "sub"))
	marks := t.TempDir() // outside the workspace: only the host can write there
	hook := "#!/bin/sh\ntouch " + filepath.Join(marks, "hook") + "\n"
	fsmonitor := "touch " + filepath.Join(marks, "fsmonitor")
	script := strings.Join([]string{
		"set -e",
		"printf '%s' '" + hook + "' > sub/.git/hooks/pre-commit",
		"chmod +x sub/.git/hooks/pre-commit",
		"git -C sub config core.fsmonitor '" + fsmonitor + "'",
		"mkdir -p evil/hooks other",
		"printf '%s' '" + strings.Replace(hook, "/hook\n", "/pointer\n", 1) + "' > evil/hooks/pre-commit",
		"chmod +x evil/hooks/pre-commit",
		"printf 'gitdir: ../evil\\n' > other/.git",
		"",
	}, "\n")
	resp := runScript(t, g, ws, "setup.sh", script)
	warnings := strings.Join(resp.Warnings, "\n")
	for _, want := range []string{"sub/.git/hooks/pre-commit: a git hook", "sub/.git/config: the command added git config",
		"core.fsmonitor=" + fsmonitor, "old content put back", "other/.git: a .git the command made points git at evil"} {
		if !strings.Contains(warnings, want) {
			t.Errorf("no warning %q in:\n%s", want, warnings)
		}
	}

	// From the host: git commits in both repositories and runs nothing
	// the command left.
	must(t, os.WriteFile(filepath.Join(ws, "sub", "f"), []byte("x\n"), 0o644))
	git(t, filepath.Join(ws, "sub"), "add", "f")
	git(t, filepath.Join(ws, "sub"), "commit", "-qm", "after")
	git(t, filepath.Join(ws, "sub"), "status")
	if got := git(t, filepath.Join(ws, "sub"), "config", "user.email"); got != "t@example.com" {
		t.Errorf("the old config was not put back: user.email %q", got)
	}
	must(t, os.MkdirAll(filepath.Join(ws, "other"), 0o755))
	gitOnHost(filepath.Join(ws, "other"), "commit", "--allow-empty", "-qm", "x") // other is no repository any more: git refuses, or commits to ws
	ents, _ := os.ReadDir(marks)
	for _, e := range ents {
		t.Errorf("git on the host ran what the command planted: %s exists", e.Name())
	}
	if _, err := os.Lstat(filepath.Join(ws, "other", ".git")); err == nil {
		t.Error("other/.git is still there")
	}
	aside, _ := filepath.Glob(filepath.Join(ws, "sub", ".git", "hooks", "pre-commit.quarantined-*"))
	if len(aside) != 1 {
		t.Errorf("the hook was not kept aside: %v", aside)
	}

	// The record says what was put right.
	recs := records(t, logPath)
	last := recs[len(recs)-1]
	if !strings.Contains(strings.Join(last.Warnings, "\n"), "sub/.git/hooks/pre-commit") {
		t.Errorf("the audit record has no warning about the hook: %v", last.Warnings)
	}
}

// Ordinary git work in a nested repository is left as it is: a commit, a
// config change that runs nothing, a clone.
func TestGitNestedRepositoryWork(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	g, _ := newGuard(t, t.TempDir())
	ws := t.TempDir()
	gitRepo(t, ws)
	gitRepo(t, filepath.Join(ws, "sub"))
	script := strings.Join([]string{
		"set -e",
		"git -C sub config user.name Someone",
		"echo hi > sub/f",
		"git -C sub add f",
		"git -C sub commit -qm add",
		"git clone -q sub sub2",
		"git -C sub2 log --oneline",
		"git -C sub2 remote set-url origin https://example.com/sub.git",
		"",
	}, "\n")
	resp := runScript(t, g, ws, "work.sh", script)
	for _, w := range resp.Warnings {
		if strings.Contains(w, ".git") {
			t.Errorf("ordinary git work was put right: %s", w)
		}
	}
	if got := git(t, filepath.Join(ws, "sub"), "config", "user.name"); got != "Someone" {
		t.Errorf("user.name %q", got)
	}
	if got := git(t, filepath.Join(ws, "sub2"), "remote", "get-url", "origin"); got != "https://example.com/sub.git" {
		t.Errorf("origin %q", got)
	}
	git(t, filepath.Join(ws, "sub2"), "status")
}
