package guard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A command in a session, with the policy's leave to keep background
// processes, starts one that plants a hook in a nested repository once
// the command has returned. fixGit runs after the command ("every process
// of the command being gone", which a kept process is not), and the next
// command's change report starts from a snapshot taken when it starts, so
// the hook, written between the two, is in neither report: it stays in
// place, and git on the host runs it.
func TestReview2GitKeptBackgroundPlantsHookBetweenCommands(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ws := t.TempDir()
	g, _ := newGuard(t, ws)
	g.Policy.Session.KeepBackground = true
	gitRepo(t, ws)
	gitRepo(t, filepath.Join(ws, "sub"))
	marks := t.TempDir() // outside the workspace: only the host can write there
	hook := "#!/bin/sh\ntouch " + filepath.Join(marks, "hook") + "\n"
	script := strings.Join([]string{
		"(sleep 1",
		" printf '%s' '" + hook + "' > sub/.git/hooks/pre-commit",
		" chmod +x sub/.git/hooks/pre-commit) >/dev/null 2>&1 &",
		"echo started",
		"",
	}, "\n")
	must(t, os.WriteFile(filepath.Join(ws, "later.sh"), []byte(script), 0o644))

	ctx := context.Background()
	s, err := g.StartSession(ctx, &SessionRequest{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := s.Run(ctx, &Request{Text: "sh later.sh", KeepBackground: true})
	if err != nil || string(resp.Stdout) != "started\n" {
		t.Fatalf("first command: %v %q", err, resp.Stdout)
	}
	if _, err := os.Lstat(filepath.Join(ws, "sub", ".git", "hooks", "pre-commit")); err == nil {
		t.Fatal("the hook was written before the command returned; the case does not hold")
	}
	time.Sleep(2 * time.Second)
	resp, err = s.Run(ctx, &Request{Text: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(ws, "sub", ".git", "hooks", "pre-commit")); err != nil {
		// Gone: it must have been planted and moved aside, and said so.
		aside, _ := filepath.Glob(filepath.Join(ws, "sub", ".git", "hooks", "pre-commit.quarantined-*"))
		if len(aside) != 1 || !strings.Contains(strings.Join(resp.Warnings, "\n"), "between commands: sub/.git/hooks/pre-commit") {
			t.Fatalf("the hook is neither in place nor moved aside with a warning (%v, %q); the case does not hold", aside, resp.Warnings)
		}
	}
	// The hook is in place after both commands and no warning said so.
	must(t, os.WriteFile(filepath.Join(ws, "sub", "f"), []byte("x\n"), 0o644))
	git(t, filepath.Join(ws, "sub"), "add", "f")
	git(t, filepath.Join(ws, "sub"), "commit", "-qm", "after")
	if _, err := os.Stat(filepath.Join(marks, "hook")); err == nil {
		t.Errorf("git on the host ran a hook a kept background process planted between commands; warnings: %q", resp.Warnings)
	}
}

// A bare repository whose HEAD or objects is a symlink is a repository
// for git (validate_headref accepts a HEAD symlink into refs/; objects
// need only be a directory it can enter), but bareControl wants both as
// the real thing (Lstat), so the hooks planted there are not checked, and
// git push on the host runs them.
func TestReview2GitBareRepositorySymlinkMissed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	for name, twist := range map[string]string{
		"HEAD symlink":    "rm remote/HEAD && ln -s refs/heads/main remote/HEAD",
		"objects symlink": "mv remote/objects remote/store && ln -s store remote/objects",
	} {
		t.Run(name, func(t *testing.T) {
			g, _ := newGuard(t, t.TempDir())
			ws := t.TempDir()
			gitRepo(t, ws)
			gitRepo(t, filepath.Join(ws, "sub"))
			git(t, filepath.Join(ws, "sub"), "commit", "--allow-empty", "-qm", "first")
			marks := t.TempDir()
			lines := []string{
				"set -e",
				"git init -q --bare remote",
				twist,
				"printf '#!/bin/sh\\ntouch %s\\n' '" + filepath.Join(marks, "pre-receive") + "' > remote/hooks/pre-receive",
				"chmod +x remote/hooks/pre-receive",
				"",
			}
			resp := runScript(t, g, ws, "plant.sh", strings.Join(lines, "\n"))
			t.Logf("git push: %s", gitOnHost(filepath.Join(ws, "sub"), "push", "-q", filepath.Join(ws, "remote"), "HEAD:refs/heads/main"))
			if _, err := os.Stat(filepath.Join(marks, "pre-receive")); err == nil {
				t.Errorf("git push on the host ran the pre-receive hook planted in a bare repository (%s); warnings: %q", name, resp.Warnings)
			}
		})
	}
}

// gpg.ssh.defaultKeyCommand is a command git runs to find the signing key
// when a commit is signed in ssh format without user.signingKey; the
// commandKeys list gpg.program, gpg.ssh.program and gpg.x509.program but
// not it, and commit.gpgSign and gpg.format are not listed either. A
// command sets the three in a nested repository; git commit on the host
// runs the command.
func TestReview2GitSSHDefaultKeyCommandMissed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	g, _ := newGuard(t, t.TempDir())
	ws := t.TempDir()
	gitRepo(t, ws)
	gitRepo(t, filepath.Join(ws, "sub"))
	marks := t.TempDir()
	lines := []string{
		"set -e",
		"git -C sub config commit.gpgSign true",
		"git -C sub config gpg.format ssh",
		"git -C sub config gpg.ssh.defaultKeyCommand 'touch " + filepath.Join(marks, "keycommand") + "'",
		"",
	}
	resp := runScript(t, g, ws, "plant.sh", strings.Join(lines, "\n"))
	t.Logf("git commit: %s", gitOnHost(filepath.Join(ws, "sub"), "commit", "--allow-empty", "-qm", "x"))
	if _, err := os.Stat(filepath.Join(marks, "keycommand")); err == nil {
		t.Errorf("git commit on the host ran gpg.ssh.defaultKeyCommand the command set; warnings: %q", resp.Warnings)
	}
}

// The old content of a config put back after a risky change gets mode
// 0644 whatever its mode was: a config of mode 0600 (a remote URL with a
// token in it) becomes readable by everyone.
func TestReview2GitConfigRestoredWithWrongMode(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	g, _ := newGuard(t, t.TempDir())
	ws := t.TempDir()
	gitRepo(t, ws)
	gitRepo(t, filepath.Join(ws, "sub"))
	cfg := filepath.Join(ws, "sub", ".git", "config")
	must(t, os.Chmod(cfg, 0o600))
	script := "git -C sub config core.fsmonitor /nonexistent/review2\n"
	resp := runScript(t, g, ws, "setup.sh", script)
	if !strings.Contains(strings.Join(resp.Warnings, "\n"), "old content put back") {
		t.Fatalf("the config was not put right; the case does not hold: %q", resp.Warnings)
	}
	st, err := os.Stat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the config put back has mode %o, was 0600", st.Mode().Perm())
	}
}
