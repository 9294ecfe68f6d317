package linux_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
	"golang.org/x/sys/unix"
)

// Each test here makes a real attempt to get out of the sandbox with the
// attack binary and expects it to be refused; where the attempt would leave
// a mark on the host (a file, a process, a packet), the test also looks for
// the mark from outside. A failure that starts with SANDBOX ESCAPE is the
// sandbox failing, not the test.

// TestEscape_KernelSurface tries the system calls and socket families the
// seccomp filter, the capability drop and no_new_privs exist to refuse.
// They leave nothing on the host to look at; the attack's own errno is the
// evidence, and an attack that got a descriptor says ESCAPED.
func TestEscape_KernelSurface(t *testing.T) {
	for _, args := range [][]string{
		{"bpf"},
		{"perf"},
		{"userfaultfd"},
		{"io-uring"},
		{"keyctl"},
		{"module"},
		{"kexec"},
		{"reboot"},
		{"swapon"},
		{"acct"},
		{"syslog"},
		{"iopl"},
		{"settime"},
		{"kcmp"},
		{"process-vm-readv"},
		{"personality"},
		{"seccomp-abi"},
		{"userns"},
		{"namespaces"},
		{"setns"},
		{"chroot"},
		{"pivot-root"},
		{"open-by-handle"},
		{"caps"},
		{"seccomp-status"},
		{"af-packet"},
		{"af-netlink"},
		{"af-vsock"},
		{"af-alg"},
		{"af-other"},
		{"mptcp"},
		{"dev-open"},
		{"cgroup"},
	} {
		t.Run(args[0], func(t *testing.T) {
			if (args[0] == "iopl" || args[0] == "seccomp-abi") && runtime.GOARCH != "amd64" {
				t.Skip("an x86 attack")
			}
			ws := workspace(t, nil)
			expectBlocked(t, attack(t, ws, nil, args...))
		})
	}
}

// fsEnv is one filesystem case's workspace and the host files beside it.
type fsEnv struct {
	ws      string // the workspace
	outside string // a host directory outside the workspace
	victim  string // a file in outside
}

const victimContent = "host data, not for the sandbox\n"

// TestEscape_Filesystem writes, moves and removes host files outside the
// workspace by every route, and checks the host files afterwards.
func TestEscape_Filesystem(t *testing.T) {
	unchanged := func(t *testing.T, e *fsEnv) { expectFile(t, e.victim, victimContent) }
	// write-same leaves no mark even where it gets through; its verdict is
	// the evidence.
	noMark := func(t *testing.T, e *fsEnv) {}
	toolchain := toolchainFile()
	toolchainContent, err := os.ReadFile(toolchain)
	if err != nil {
		t.Fatalf("a toolchain file to attack: %v", err)
	}
	cases := []struct {
		name  string
		args  func(e *fsEnv) []string
		check func(t *testing.T, e *fsEnv)
	}{
		{"create-outside", func(e *fsEnv) []string { return []string{"write", filepath.Join(e.outside, "new")} },
			func(t *testing.T, e *fsEnv) { expectAbsent(t, filepath.Join(e.outside, "new")) }},
		{"overwrite-outside", func(e *fsEnv) []string { return []string{"write", e.victim} }, unchanged},
		{"append-outside", func(e *fsEnv) []string { return []string{"append", e.victim} }, unchanged},
		{"truncate-outside", func(e *fsEnv) []string { return []string{"truncate", e.victim} }, unchanged},
		{"chmod-outside", func(e *fsEnv) []string { return []string{"chmod", e.victim} },
			func(t *testing.T, e *fsEnv) { expectMode(t, e.victim, 0o644) }},
		{"unlink-outside", func(e *fsEnv) []string { return []string{"unlink", e.victim} }, unchanged},
		{"rename-outside", func(e *fsEnv) []string { return []string{"rename", e.victim, e.victim + ".moved"} }, unchanged},
		{"rename-into-workspace", func(e *fsEnv) []string { return []string{"rename", e.victim, filepath.Join(e.ws, "stolen")} }, unchanged},
		{"mkdir-outside", func(e *fsEnv) []string { return []string{"mkdir", filepath.Join(e.outside, "d")} },
			func(t *testing.T, e *fsEnv) { expectAbsent(t, filepath.Join(e.outside, "d")) }},
		{"rmdir-outside", func(e *fsEnv) []string { return []string{"rmdir", filepath.Join(e.outside, "empty")} },
			func(t *testing.T, e *fsEnv) { expectDir(t, filepath.Join(e.outside, "empty")) }},
		{"symlink-write-existing", func(e *fsEnv) []string {
			return []string{"symlink-write", filepath.Join(e.ws, "link"), e.victim}
		}, unchanged},
		{"symlink-write-new", func(e *fsEnv) []string {
			return []string{"symlink-write", filepath.Join(e.ws, "link"), filepath.Join(e.outside, "planted")}
		}, func(t *testing.T, e *fsEnv) { expectAbsent(t, filepath.Join(e.outside, "planted")) }},
		{"hardlink-into-workspace", func(e *fsEnv) []string {
			return []string{"hardlink", filepath.Join(e.ws, "hl"), e.victim}
		}, func(t *testing.T, e *fsEnv) {
			expectFile(t, e.victim, victimContent)
			expectAbsent(t, filepath.Join(e.ws, "hl"))
		}},
		{"mknod", func(e *fsEnv) []string { return []string{"mknod", filepath.Join(e.ws, "null")} },
			func(t *testing.T, e *fsEnv) { expectAbsent(t, filepath.Join(e.ws, "null")) }},
		{"mount", func(e *fsEnv) []string { return []string{"mount", filepath.Join(e.ws, "mnt")} },
			func(t *testing.T, e *fsEnv) { expectEmptyDir(t, filepath.Join(e.ws, "mnt")) }},
		{"landlock-status", func(e *fsEnv) []string {
			return []string{"landlock-status", filepath.Join(e.outside, "ll")}
		}, func(t *testing.T, e *fsEnv) { expectAbsent(t, filepath.Join(e.outside, "ll")) }},
		// The toolchain and system directories: as root, file modes alone
		// would allow these.
		{"write-etc", func(e *fsEnv) []string { return []string{"write", "/etc/cordon-escape"} },
			func(t *testing.T, e *fsEnv) { expectAbsent(t, "/etc/cordon-escape") }},
		{"append-toolchain", func(e *fsEnv) []string { return []string{"append", toolchain} },
			func(t *testing.T, e *fsEnv) { expectFile(t, toolchain, string(toolchainContent)) }},
		{"write-bin", func(e *fsEnv) []string { return []string{"write", "/usr/local/bin/cordon-escape"} },
			func(t *testing.T, e *fsEnv) { expectAbsent(t, "/usr/local/bin/cordon-escape") }},
		{"write-cgroup-release-agent", func(e *fsEnv) []string {
			return []string{"write-same", "/sys/fs/cgroup/memory/release_agent"}
		}, noMark},
		// Moving itself to the root cgroup would take the command out from
		// under the run's limits; the process is gone by the time anyone
		// could look.
		{"write-cgroup-procs", func(e *fsEnv) []string { return []string{"write", "/sys/fs/cgroup/pids/cgroup.procs", "0"} }, noMark},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &fsEnv{ws: workspace(t, map[string]string{"mnt/": ""}), outside: scratch(t, "outside")}
			e.victim = filepath.Join(e.outside, "victim")
			if err := os.WriteFile(e.victim, []byte(victimContent), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(e.victim, 0o644)
			mustMkdir(t, filepath.Join(e.outside, "empty"))
			expectBlocked(t, attack(t, e.ws, nil, c.args(e)...))
			c.check(t, e)
		})
	}
}

// toolchainFile is a file of an installed toolchain, which the sandbox shows
// read-only: the go command's VERSION file, or the shell when there is no
// go.
func toolchainFile() string {
	if goBin, err := exec.LookPath("go"); err == nil {
		if real, err := filepath.EvalSymlinks(goBin); err == nil {
			p := filepath.Join(filepath.Dir(filepath.Dir(real)), "VERSION")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	real, _ := filepath.EvalSymlinks("/bin/sh")
	return real
}

func expectMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("SANDBOX ESCAPE?: %s: %v", path, err)
		return
	}
	if st.Mode().Perm() != want {
		t.Errorf("SANDBOX ESCAPE: %s mode changed to %v", path, st.Mode().Perm())
	}
}

func expectDir(t *testing.T, path string) {
	t.Helper()
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		t.Errorf("SANDBOX ESCAPE: directory %s is gone (%v)", path, err)
	}
}

func expectEmptyDir(t *testing.T, path string) {
	t.Helper()
	names, err := os.ReadDir(path)
	if err != nil || len(names) != 0 {
		t.Errorf("%s should be an empty directory: %v %v", path, names, err)
	}
}

// TestEscape_Credentials reads credential stores the default Spec masks,
// under a home directory made for the test, and the host's /tmp, which the
// sandbox replaces. The secret must not appear in the output.
func TestEscape_Credentials(t *testing.T) {
	home := scratch(t, "home")
	const secret = "-----BEGIN OPENSSH PRIVATE KEY----- cordon-test-secret"
	files := map[string]string{
		".ssh/id_test":              secret,
		".aws/credentials":          "[default]\naws_secret_access_key = " + secret,
		".config/gh/hosts.yml":      "oauth_token: " + secret,
		".netrc":                    "machine example.com password " + secret,
		".docker/config.json":       `{"auths":{"x":{"auth":"` + secret + `"}}}`,
		".git-credentials":          "https://u:" + secret + "@example.com",
		".claude/.credentials.json": `{"token":"` + secret + `"}`,
	}
	for p, c := range files {
		mustMkdir(t, filepath.Join(home, filepath.Dir(p)))
		if err := os.WriteFile(filepath.Join(home, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// NewSpec masks below HOME as it finds it when called.
	t.Setenv("HOME", home)
	hostTmp, err := os.CreateTemp("", "cordon-host-tmp-")
	if err != nil {
		t.Fatal(err)
	}
	hostTmp.WriteString(secret)
	hostTmp.Close()
	t.Cleanup(func() { os.Remove(hostTmp.Name()) })

	cases := [][]string{
		{"read", filepath.Join(home, ".ssh/id_test")},
		{"read", filepath.Join(home, ".ssh")},
		{"read", filepath.Join(home, ".aws/credentials")},
		{"read", filepath.Join(home, ".config/gh/hosts.yml")},
		{"read", filepath.Join(home, ".netrc")},
		{"read", filepath.Join(home, ".docker/config.json")},
		{"read", filepath.Join(home, ".git-credentials")},
		{"read", filepath.Join(home, ".claude/.credentials.json")},
		// The same file by other names that resolve around the mount.
		{"read", "/proc/self/root" + filepath.Join(home, ".ssh/id_test")},
		{"read", "/proc/1/root" + filepath.Join(home, ".ssh/id_test")},
		{"read", "/proc/1/cwd/../" + filepath.Base(home) + "/.ssh/id_test"},
		{"umount", filepath.Join(home, ".ssh")},
		{"open-by-handle", filepath.Join(home, ".ssh/id_test")},
		{"read", hostTmp.Name()},
	}
	if os.Getuid() == 0 {
		// Root reads anything its mode bits allow; only the mask stops it.
		cases = append(cases, []string{"read", "/etc/shadow"}, []string{"read", "/root"})
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ws := workspace(t, nil)
			o := attack(t, ws, nil, args...)
			expectBlocked(t, o)
			if strings.Contains(o.stdout+o.stderr, "cordon-test-secret") {
				t.Errorf("SANDBOX ESCAPE: the secret was printed:\n%s", o.tail())
			}
		})
	}
	// The masks hide; they must not destroy.
	expectFile(t, filepath.Join(home, ".ssh/id_test"), secret)
}

// TestEscape_ProtectedPaths attacks the git hooks and config of a
// workspace that is a repository (what git runs later, on the host) by
// every route around a read-only mount: writing, renaming, replacing,
// linking, and moving the directories above them out of the way.
func TestEscape_ProtectedPaths(t *testing.T) {
	type env struct{ ws string }
	p := func(e *env, rel string) string { return filepath.Join(e.ws, rel) }
	config := gitLayout[".git/config"]
	configKept := func(t *testing.T, e *env) { expectFile(t, p(e, ".git/config"), config) }
	noHook := func(t *testing.T, e *env) {
		expectAbsent(t, p(e, ".git/hooks/pre-commit"))
		expectFile(t, p(e, ".git/config"), config)
	}
	cases := []struct {
		name  string
		args  func(e *env) []string
		check func(t *testing.T, e *env)
	}{
		{"write-hook", func(e *env) []string { return []string{"write", p(e, ".git/hooks/pre-commit")} }, noHook},
		{"overwrite-sample-hook", func(e *env) []string { return []string{"write", p(e, ".git/hooks/pre-commit.sample")} },
			func(t *testing.T, e *env) {
				expectFile(t, p(e, ".git/hooks/pre-commit.sample"), gitLayout[".git/hooks/pre-commit.sample"])
			}},
		{"write-config", func(e *env) []string { return []string{"write", p(e, ".git/config"), "[core]\n\tfsmonitor = evil\n"} }, configKept},
		{"append-config", func(e *env) []string { return []string{"append", p(e, ".git/config")} }, configKept},
		{"truncate-config", func(e *env) []string { return []string{"truncate", p(e, ".git/config")} }, configKept},
		{"chmod-config", func(e *env) []string { return []string{"chmod", p(e, ".git/config")} },
			func(t *testing.T, e *env) { expectMode(t, p(e, ".git/config"), 0o644) }},
		{"unlink-config", func(e *env) []string { return []string{"unlink", p(e, ".git/config")} }, configKept},
		{"rename-config", func(e *env) []string { return []string{"rename", p(e, ".git/config"), p(e, ".git/config.old")} }, configKept},
		{"replace-config", func(e *env) []string { return []string{"rename", p(e, "main.go"), p(e, ".git/config")} }, configKept},
		{"hardlink-config", func(e *env) []string { return []string{"hardlink", p(e, "cfg"), p(e, ".git/config")} },
			func(t *testing.T, e *env) {
				configKept(t, e)
				expectAbsent(t, p(e, "cfg"))
			}},
		{"rename-hooks-and-recreate", func(e *env) []string {
			return []string{"rename-recreate", p(e, ".git/hooks"), "pre-commit"}
		}, noHook},
		{"rename-git-and-recreate", func(e *env) []string {
			return []string{"rename-recreate", p(e, ".git"), "hooks/pre-commit"}
		}, func(t *testing.T, e *env) {
			noHook(t, e)
			expectAbsent(t, p(e, ".git.cordon-moved"))
		}},
		{"rmdir-hooks", func(e *env) []string { return []string{"rmdir", p(e, ".git/hooks")} },
			func(t *testing.T, e *env) { expectDir(t, p(e, ".git/hooks")) }},
		{"symlink-policy", func(e *env) []string { return []string{"symlink", p(e, ".cordon.yaml"), p(e, "main.go")} },
			func(t *testing.T, e *env) { expectAbsent(t, p(e, ".cordon.yaml")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &env{ws: workspace(t, gitLayout)}
			expectBlocked(t, attack(t, e.ws, nil, c.args(e)...))
			c.check(t, e)
		})
	}
}

// TestEscape_ProtectedMissing creates each default protected path that
// does not exist yet (cordon's policy, agents' and editors' settings,
// direnv's .envrc), both directly and by renaming whatever holds its place
// away first. Afterwards the path must not exist on the host.
func TestEscape_ProtectedMissing(t *testing.T) {
	for _, rel := range sandbox.DefaultProtected {
		if strings.HasPrefix(rel, ".git/") {
			continue // TestEscape_ProtectedPaths and TestEscape_ProtectedNotYetThere
		}
		for _, how := range []string{"write", "rename-recreate"} {
			t.Run(how+" "+rel, func(t *testing.T) {
				ws := workspace(t, gitLayout)
				target := filepath.Join(ws, rel)
				args := []string{"write", target, "cordon-escape\n"}
				if how == "rename-recreate" {
					args = []string{"rename-recreate", target, "settings.json"}
				}
				expectBlocked(t, attack(t, ws, nil, args...))
				expectNoTrace(t, target)
			})
		}
	}
}

// expectNoTrace fails the test if path, which did not exist before the
// run, exists after it: with content it is an escape, as an empty
// directory a placeholder the sandbox failed to remove.
func expectNoTrace(t *testing.T, path string) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		return
	}
	if names, derr := os.ReadDir(path); st.IsDir() && derr == nil && len(names) == 0 {
		t.Errorf("the sandbox left its placeholder %s behind", path)
		return
	}
	t.Errorf("SANDBOX ESCAPE: %s was created (%s)", path, st.Mode())
}

// TestEscape_ProtectedThroughSymlink: .git/hooks is a symlink to another
// directory of the workspace; git would run what lands there, so that
// directory must be read-only too, by either name, and the link must stay.
func TestEscape_ProtectedThroughSymlink(t *testing.T) {
	for _, c := range []struct {
		name string
		args func(ws string) []string
	}{
		{"write-via-link", func(ws string) []string { return []string{"write", filepath.Join(ws, ".git/hooks/pre-commit")} }},
		{"write-target", func(ws string) []string { return []string{"write", filepath.Join(ws, "hooks-real/pre-commit")} }},
		{"replace-link", func(ws string) []string { return []string{"unlink", filepath.Join(ws, ".git/hooks")} }},
		{"rename-target-and-recreate", func(ws string) []string {
			return []string{"rename-recreate", filepath.Join(ws, "hooks-real"), "pre-commit"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t, map[string]string{".git/config": gitLayout[".git/config"], "hooks-real/": ""})
			if err := os.Symlink("../hooks-real", filepath.Join(ws, ".git/hooks")); err != nil {
				t.Fatal(err)
			}
			expectBlocked(t, attack(t, ws, nil, c.args(ws)...))
			expectAbsent(t, filepath.Join(ws, "hooks-real/pre-commit"))
			if target, err := os.Readlink(filepath.Join(ws, ".git/hooks")); err != nil || target != "../hooks-real" {
				t.Errorf("SANDBOX ESCAPE: .git/hooks no longer links to ../hooks-real: %q %v", target, err)
			}
		})
	}
}

// TestEscape_ProtectedNotYetThere: the repository has no hooks directory
// yet; creating it, or a symlink in its place, must fail all the same.
func TestEscape_ProtectedNotYetThere(t *testing.T) {
	for _, c := range []struct {
		name string
		args func(ws, elsewhere string) []string
	}{
		{"mkdir-hooks", func(ws, _ string) []string { return []string{"mkdir", filepath.Join(ws, ".git/hooks")} }},
		{"write-hook", func(ws, _ string) []string { return []string{"write", filepath.Join(ws, ".git/hooks/pre-commit")} }},
		{"symlink-hooks", func(ws, elsewhere string) []string {
			return []string{"symlink", filepath.Join(ws, ".git/hooks"), elsewhere}
		}},
		{"symlink-hooks-in-workspace", func(ws, _ string) []string {
			return []string{"symlink", filepath.Join(ws, ".git/hooks"), filepath.Join(ws, "mine")}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t, map[string]string{".git/config": gitLayout[".git/config"], "mine/": ""})
			elsewhere := scratch(t, "elsewhere")
			expectBlocked(t, attack(t, ws, nil, c.args(ws, elsewhere)...))
			expectAbsent(t, filepath.Join(ws, ".git/hooks"))
			expectAbsent(t, filepath.Join(ws, "mine/pre-commit"))
		})
	}
}

// TestEscape_GitTakeover reaches git's configuration and hooks by the
// paths next to the protected ones: .git/commondir, which makes git read
// config and hooks from a directory of the attacker's choosing; the git
// directory of a submodule; and, in a workspace without a repository, one
// made during the run to carry them. git run later on the host, outside
// the sandbox, must not run anything the attacker planted.
func TestEscape_GitTakeover(t *testing.T) {
	gitBin, gitErr := exec.LookPath("git")
	t.Run("commondir", func(t *testing.T) {
		ws := workspace(t, gitLayout)
		expectBlocked(t, attack(t, ws, nil, "git-commondir", ws))
		expectAbsent(t, filepath.Join(ws, ".git/commondir"))
		if gitErr != nil {
			return
		}
		expectGitInert(t, gitBin, ws)
	})
	// A repository made in the run is inspected afterwards; whatever it
	// was made to carry, git on the host must not run the attacker's
	// commands in the workspace.
	for _, c := range []struct{ name, script string }{
		{"new-repo-hook", "git init -q . && printf '#!/bin/sh\\necho cordon-escape\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"},
		{"new-repo-fsmonitor", "git init -q . && git config core.fsmonitor 'echo cordon-escape'"},
		{"new-repo-commondir", "git init -q . && ATTACK git-commondir \"$PWD\""},
		// A comment line longer than a line reader's buffer before the key.
		{"new-repo-long-line", "git init -q . && git config core.fsmonitor 'echo cordon-escape' && " +
			"{ head -c 70000 /dev/zero | tr '\\0' '#'; echo; cat .git/config; } > config.new && mv config.new .git/config"},
		{"new-repo-symlink", "mkdir -p evil/objects evil/refs/heads && printf 'ref: refs/heads/main\\n' > evil/HEAD && " +
			"printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = echo cordon-escape\\n' > evil/config && ln -s evil .git"},
		{"new-repo-gitfile", "mkdir -p evil/objects evil/refs/heads && printf 'ref: refs/heads/main\\n' > evil/HEAD && " +
			"printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = echo cordon-escape\\n' > evil/config && echo 'gitdir: evil' > .git"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if gitErr != nil {
				t.Skip("no git")
			}
			ws := workspace(t, map[string]string{"main.go": "package main\n"})
			script := strings.ReplaceAll(c.script, "ATTACK", attackBin)
			o := runSpec(t, newSpec(t, ws, "sh", "-c", script))
			if o.res.ExitCode != 0 && o.res.ExitCode != 1 {
				t.Fatalf("the attack script failed: exit %d\n%s", o.res.ExitCode, o.tail())
			}
			expectGitInert(t, gitBin, ws)
			if len(o.res.Warnings) > 0 {
				t.Logf("warnings: %s", strings.Join(o.res.Warnings, "; "))
			}
		})
	}
	submodule := map[string]string{
		".git/config":                  gitLayout[".git/config"],
		".git/HEAD":                    gitLayout[".git/HEAD"],
		".git/hooks/":                  "",
		".gitmodules":                  "[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n",
		".git/modules/lib/config":      "[core]\n\trepositoryformatversion = 0\n\tworktree = ../../../lib\n",
		".git/modules/lib/HEAD":        "ref: refs/heads/main\n",
		".git/modules/lib/hooks/":      "",
		".git/modules/lib/objects/":    "",
		".git/modules/lib/refs/heads/": "",
		"lib/.git":                     "gitdir: ../.git/modules/lib\n",
	}
	for _, c := range []struct{ name, path, content string }{
		{"submodule-hook", ".git/modules/lib/hooks/pre-commit", "#!/bin/sh\n"},
		{"submodule-config", ".git/modules/lib/config", "[core]\n\tfsmonitor = echo cordon-escape\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t, submodule)
			expectBlocked(t, attack(t, ws, nil, "write", filepath.Join(ws, c.path), c.content))
			if want, existed := submodule[c.path]; existed {
				expectFile(t, filepath.Join(ws, c.path), want)
			} else {
				expectAbsent(t, filepath.Join(ws, c.path))
			}
		})
	}
}

// expectGitInert asks git on the host, without letting it run anything,
// what a git command in ws would use: its config must name no command
// planted by an attack and its hooks must be the repository's own.
func expectGitInert(t *testing.T, gitBin, ws string) {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command(gitBin, append([]string{"-C", ws, "-c", "safe.directory=*"}, args...)...)
		// Stop at the workspace: a repository further up is not the test's.
		cmd.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(ws))
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	if v := git("config", "--get", "core.fsmonitor"); v != "" {
		t.Errorf("SANDBOX ESCAPE: git on the host would run core.fsmonitor = %q", v)
	}
	if v := git("config", "--get", "core.hooksPath"); v != "" {
		t.Errorf("SANDBOX ESCAPE: git on the host takes hooks from %s", v)
	}
	if dir := git("rev-parse", "--git-common-dir"); dir != "" {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(ws, dir)
		}
		if dir != filepath.Join(ws, ".git") {
			t.Errorf("SANDBOX ESCAPE: git on the host takes config and hooks from %s", dir)
		}
		hooks, _ := os.ReadDir(filepath.Join(dir, "hooks"))
		for _, h := range hooks {
			if !strings.HasSuffix(h.Name(), ".sample") {
				t.Errorf("SANDBOX ESCAPE: git on the host would run the hook %s", filepath.Join(dir, "hooks", h.Name()))
			}
		}
	}
}

// TestEscape_HostProcesses aims at a process running on the host: it must
// be invisible, unkillable and untraceable, and still alive afterwards.
func TestEscape_HostProcesses(t *testing.T) {
	sleeper := startHostProcess(t, "sleep", "600")
	pid := sleeper.pid()
	for _, args := range [][]string{
		{"see-pid", pid},
		{"kill", pid},
		{"ptrace", pid},
		{"process-vm-readv", pid},
		{"proc-peek", pid},
		{"setns", "/proc/" + pid + "/ns/net", "/proc/" + pid + "/ns/mnt", "/proc/" + pid + "/ns/user"},
		// The sandbox's own init: it must not give away the caller's
		// environment, its root or its descriptors either.
		{"proc-peek", "1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ws := workspace(t, nil)
			expectBlocked(t, attack(t, ws, nil, args...))
			if !sleeper.alive() {
				t.Fatalf("SANDBOX ESCAPE: host process %s died", pid)
			}
		})
	}
}

// TestEscape_OutlivingTheRun leaves processes behind: a daemon that
// double-forks into a session of its own, a plain background child, and a
// fork bomb's sleeping children. Once Run returns, none may run, and the
// marker files they append to must stop growing.
func TestEscape_OutlivingTheRun(t *testing.T) {
	for _, c := range []struct {
		name string
		args func(marker string) []string
	}{
		{"daemon", func(m string) []string { return []string{"daemon", m, "60"} }},
		{"background", func(m string) []string { return []string{"background", m, "60"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t, nil)
			marker := filepath.Join(ws, "marker")
			o := attack(t, ws, nil, c.args(marker)...)
			expectVerdict(t, o, "STARTED")
			// runSpec has checked that no process is left; the marker must
			// agree.
			time.Sleep(500 * time.Millisecond)
			before := fileSize(marker)
			time.Sleep(500 * time.Millisecond)
			if after := fileSize(marker); after != before {
				t.Errorf("SANDBOX ESCAPE: %s still grows after the run (%d → %d bytes)", marker, before, after)
			}
		})
	}
	t.Run("forkbomb-children", func(t *testing.T) {
		ws := workspace(t, nil)
		o := attack(t, ws, nil, "forkbomb", "40", "leave")
		if w, d := o.verdict(); w != "ESCAPED" {
			t.Fatalf("the fork bomb could not leave 40 children (%s %s); nothing to check", w, d)
		}
		// runSpec checked that none of the 40 survived.
	})
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// listener counts what reaches a socket the test listens on, on the host.
type listener struct {
	addr  string
	count atomic.Int64
}

func listenStream(t *testing.T, network, addr string) *listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.count.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

func listenUDP(t *testing.T) *listener {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{addr: pc.LocalAddr().String()}
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			l.count.Add(1)
			pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return l
}

// TestEscape_Network reaches for the host's network from the sandbox's
// own namespace: listeners on the host's loopback, TCP and UDP, a named
// and an abstract unix socket, the outside world. The listeners count what
// arrives, which must be nothing.
func TestEscape_Network(t *testing.T) {
	tcp := listenStream(t, "tcp4", "127.0.0.1:0")
	udp := listenUDP(t)
	sockDir := scratch(t, "sock")
	named := listenStream(t, "unix", filepath.Join(sockDir, "host.sock"))
	abstractName := fmt.Sprintf("cordon-test-%d-%d", os.Getpid(), rand.Int())
	abstract := listenStream(t, "unix", "@"+abstractName)
	// A socket known to the kernel under the name it was bound to, but
	// reachable under another: moved, and hard-linked.
	moved := listenStream(t, "unix", filepath.Join(sockDir, "bound.sock"))
	movedPath := filepath.Join(sockDir, "moved.sock")
	if err := os.Rename(filepath.Join(sockDir, "bound.sock"), movedPath); err != nil {
		t.Fatal(err)
	}
	linkedPath := filepath.Join(sockDir, "linked.sock")
	if err := os.Link(named.addr, linkedPath); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		args []string
		l    *listener
	}{
		{"tcp-loopback", []string{"tcp-connect", tcp.addr}, tcp},
		{"udp-loopback", []string{"udp-send", udp.addr}, udp},
		{"unix-named", []string{"unix-connect", named.addr}, named},
		{"unix-abstract", []string{"unix-abstract", abstractName}, abstract},
		{"unix-moved", []string{"unix-connect", movedPath}, moved},
		{"unix-hardlinked", []string{"unix-connect", linkedPath}, named},
		{"tcp-internet", []string{"tcp-connect", "1.1.1.1:443"}, nil},
		{"udp-dns", []string{"udp-send", "8.8.8.8:53"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := workspace(t, nil)
			expectBlocked(t, attack(t, ws, nil, c.args...))
			if c.l != nil {
				// Let a late packet land before counting.
				time.Sleep(100 * time.Millisecond)
				if n := c.l.count.Load(); n != 0 {
					t.Errorf("SANDBOX ESCAPE: the host listener on %s got %d connections or packets", c.l.addr, n)
				}
			}
		})
	}

	// A socket bound in another network namespace of the host (a
	// container's, a service's with a private network) is listed nowhere
	// the caller looks, yet its file is on the host's filesystem.
	t.Run("unix-other-netns", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("making a network namespace for the listener needs root")
		}
		// In a directory of its own: next to a socket of the host's
		// namespace it would be hidden with that one's directory.
		l := listenInNewNetns(t, filepath.Join(scratch(t, "netns-sock"), "netns.sock"))
		ws := workspace(t, nil)
		o := attack(t, ws, nil, "unix-connect", l.addr)
		if w, d := o.verdict(); w == "ESCAPED" && l.count.Load() > 0 {
			// Sockets are found in /proc/net/unix, which lists the caller's
			// network namespace only; Landlock rules for unix sockets,
			// which would close this whatever the path, are newer than
			// this kernel. Known and documented (README, Known limits).
			t.Skipf("known gap on this kernel: a socket bound in another network namespace, outside /run, stays reachable (%s)", d)
		}
		expectBlocked(t, o)
		if n := l.count.Load(); n != 0 {
			t.Errorf("SANDBOX ESCAPE: the listener in the other network namespace got %d connections", n)
		}
	})

	// A listener inside must not be reachable from the host: the host
	// knocks on the port for as long as the sandbox listens.
	t.Run("tcp-listen", func(t *testing.T) {
		ws := workspace(t, nil)
		port := freePort(t)
		done := make(chan outcome, 1)
		go func() { done <- attack(t, ws, nil, "tcp-bind", strconv.Itoa(port), "3") }()
		var reached int
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
			if c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
				reached++
				c.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
		expectBlocked(t, <-done)
		if reached > 0 {
			t.Errorf("SANDBOX ESCAPE: the host reached the sandbox's listener %d times", reached)
		}
	})

	// With RestrictTCP, Landlock refuses TCP even inside the namespace: the
	// second line holds on its own.
	for _, args := range [][]string{{"tcp-bind", "8080"}, {"tcp-connect", "127.0.0.1:8080"}} {
		t.Run("landlock-"+args[0], func(t *testing.T) {
			ws := workspace(t, nil)
			o := attack(t, ws, func(s *sandbox.Spec) { s.Network.RestrictTCP = true }, args...)
			if !o.res.Enforced.LandlockNet {
				t.Skipf("Landlock TCP rules are not available: %s", o.res.Enforced.Missing[sandbox.ProtectLandNet])
			}
			expectBlocked(t, o)
			if _, d := o.verdict(); !strings.Contains(d, "EACCES") {
				t.Errorf("want Landlock's EACCES, got %s", d)
			}
		})
	}
}

// listenInNewNetns listens on a unix socket at path from a helper process
// in a network namespace of its own, as a container's or a sandboxed
// service's socket would be: the caller's /proc/net/unix does not list it.
func listenInNewNetns(t *testing.T, path string) *listener {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=unix-listen", helperArgEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("listener in a new network namespace: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	l := &listener{addr: path}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			switch line := sc.Text(); line {
			case "conn":
				l.count.Add(1)
			default:
				ready <- line
			}
		}
		close(ready)
	}()
	if line := <-ready; line != "ready" {
		t.Fatalf("listener in a new network namespace: %q", line)
	}
	return l
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// secretVars are variables that carry credentials in agents' environments.
var secretVars = []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
	"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SSH_AUTH_SOCK", "NPM_TOKEN", "DATABASE_URL"}

// TestEscape_Environment sets secrets in the caller's environment; the
// command must not get them, and nor may the init that started it keep
// them where the command could read them (/proc/1/environ).
func TestEscape_Environment(t *testing.T) {
	for _, v := range secretVars {
		t.Setenv(v, "cordon-test-secret-"+strings.ToLower(v))
	}
	ws := workspace(t, nil)
	o := attack(t, ws, nil, append([]string{"env"}, secretVars...)...)
	expectBlocked(t, o)
	o = attack(t, ws, nil, "proc-peek", "1")
	expectBlocked(t, o)
	if strings.Contains(o.stdout, "cordon-test-secret") {
		t.Errorf("SANDBOX ESCAPE: a secret was printed: %s", o.tail())
	}
}

// TestEscape_InheritedFds holds a secret file open without close-on-exec,
// as a careless caller would; the command must not inherit it.
func TestEscape_InheritedFds(t *testing.T) {
	secret := filepath.Join(scratch(t, "fds"), "secret")
	if err := os.WriteFile(secret, []byte("cordon-test-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(secret, unix.O_RDONLY, 0) // no O_CLOEXEC, on purpose
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	ws := workspace(t, nil)
	expectBlocked(t, attack(t, ws, nil, "fds"))
	expectBlocked(t, attack(t, ws, nil, "read", fmt.Sprintf("/proc/self/fd/%d", fd)))
}

// TestEscape_SysVIPC creates SysV objects on the host; the sandbox's own
// IPC namespace must not find them.
func TestEscape_SysVIPC(t *testing.T) {
	key := int(rand.Int32N(1<<30) + 1)
	shm, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o666)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.SysvShmCtl(shm, unix.IPC_RMID, nil) })
	msg, _, e := unix.Syscall(unix.SYS_MSGGET, uintptr(key), unix.IPC_CREAT|unix.IPC_EXCL|0o666, 0)
	if e != 0 {
		t.Fatal(e)
	}
	t.Cleanup(func() { unix.Syscall(unix.SYS_MSGCTL, msg, unix.IPC_RMID, 0) })
	sem, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(key), 1, unix.IPC_CREAT|unix.IPC_EXCL|0o666)
	if e != 0 {
		t.Fatal(e)
	}
	t.Cleanup(func() { unix.Syscall(unix.SYS_SEMCTL, sem, 0, unix.IPC_RMID) })
	for _, a := range []string{"sysv-shm", "sysv-msg", "sysv-sem"} {
		t.Run(a, func(t *testing.T) {
			expectBlocked(t, attack(t, workspace(t, nil), nil, a, strconv.Itoa(key)))
		})
	}
}

// TestEscape_HostSettings changes host-wide settings: the hostname, and
// kernel settings under /proc/sys (and /proc/sysrq-trigger). The host's
// values must be as they were.
func TestEscape_HostSettings(t *testing.T) {
	hostname, _ := os.Hostname()
	corePattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	for _, args := range [][]string{
		{"hostname", "cordon-escaped"},
		{"write", "/proc/sys/kernel/hostname", "cordon-escaped"},
		{"proc-sys"},
	} {
		t.Run(args[0], func(t *testing.T) {
			expectBlocked(t, attack(t, workspace(t, nil), nil, args...))
			if h, _ := os.Hostname(); h != hostname {
				t.Errorf("SANDBOX ESCAPE: the host's hostname changed to %q", h)
			}
			if cp, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); string(cp) != string(corePattern) {
				t.Errorf("SANDBOX ESCAPE: core_pattern changed to %q", cp)
			}
		})
	}
}

// TestEscape_TIOCSTI gives the command a terminal of the test's as stdin,
// as an interactive caller would, and the command tries to type into it.
// Nothing may arrive in the terminal's input.
func TestEscape_TIOCSTI(t *testing.T) {
	slave := openPty(t)
	ws := workspace(t, nil)
	o := attack(t, ws, func(s *sandbox.Spec) { s.Stdin = slave }, "tiocsti")
	expectBlocked(t, o)
	if _, d := o.verdict(); !strings.Contains(d, "made controlling terminal") {
		// The kernel refuses TIOCSTI on a terminal that is not the
		// caller's own, so only that check was put to the test.
		t.Logf("the command could not take the terminal as its own: %s", d)
	}
	if err := unix.SetNonblock(int(slave.Fd()), true); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := unix.Read(int(slave.Fd()), buf)
	if n > 0 {
		t.Errorf("SANDBOX ESCAPE: %q was typed into the caller's terminal", buf[:n])
	} else if err != nil && err != unix.EAGAIN {
		t.Logf("reading the terminal: %v", err)
	}
}

// openPty opens a pseudo-terminal and returns its terminal end in raw mode,
// so that its input can be read back byte by byte without blocking. The
// master end stays open until the test ends.
func openPty(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 0, 0
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return s
}

var wroteBytes = regexp.MustCompile(`wrote (\d+) bytes`)

// TestEscape_Limits exhausts each resource the Spec limits and checks that
// the limit stopped the command, said why, and left the host as it was.
func TestEscape_Limits(t *testing.T) {
	t.Run("forkbomb", func(t *testing.T) {
		const limit = 64
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) {
			s.Limits.Processes = limit
			s.Limits.Timeout = 20 * time.Second
		}, "forkbomb", "100000", "leave")
		w, d := o.verdict()
		if w == "ESCAPED" {
			t.Fatalf("SANDBOX ESCAPE: the process limit of %d did not hold: %s", limit, d)
		}
		if o.res.Reason != sandbox.ReasonPids {
			var n int
			if _, err := fmt.Sscanf(d, "fork refused after %d children", &n); w != "BLOCKED" || err != nil || n > limit {
				t.Errorf("want reason pids or a refused fork within %d processes; got reason %s, %s %s\n%s", limit, o.res.Reason, w, d, o.tail())
			}
		}
		if o.res.Reason == sandbox.ReasonTimeout {
			t.Errorf("the fork bomb ran into the timeout instead of the process limit")
		}
	})
	// Without a cgroup only rlimits hold, and RLIMIT_NPROC does not bind a
	// caller that is root on the host: the PID namespace's pid_max is the
	// bound then, and the kernel allows none below 300. A smaller limit
	// must be refused rather than pretended; one the bound can hold must
	// hold.
	t.Run("forkbomb-no-cgroup", func(t *testing.T) {
		limit := 64
		if os.Getuid() == 0 {
			spec := newSpec(t, workspace(t, nil), attackBin, "forkbomb", "2000", "leave")
			spec.NoCgroup = true
			spec.Limits.Processes = limit
			if _, err := tryRun(t, spec); err == nil || !strings.Contains(err.Error(), "cannot be enforced") {
				t.Errorf("a root run without a cgroup accepted a process limit of %d it cannot hold (err %v)", limit, err)
			}
			limit = 320
		}
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) {
			s.NoCgroup = true
			s.Limits.Processes = limit
			s.Limits.Timeout = 20 * time.Second
		}, "forkbomb", "2000", "leave")
		w, d := o.verdict()
		var n int
		if _, err := fmt.Sscanf(d, "fork refused after %d children", &n); w != "BLOCKED" || err != nil || n > limit {
			t.Errorf("SANDBOX ESCAPE: without a cgroup the process limit of %d did not hold: %s %s (reason %s)", limit, w, d, o.res.Reason)
		}
	})
	t.Run("membomb-no-cgroup", func(t *testing.T) {
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) {
			s.NoCgroup = true
			s.Limits.Memory = 64 << 20
		}, "membomb", "512")
		if w, d := o.verdict(); w == "ESCAPED" {
			t.Errorf("SANDBOX ESCAPE: without a cgroup the memory limit of 64 MiB did not hold: %s", d)
		}
	})
	// The memory limit is for the whole sandbox: eight processes each
	// under any per-process cap must not hold more than it between them.
	t.Run("membomb-tree", func(t *testing.T) {
		const limit, each, n = 64 << 20, 30, 8
		script := fmt.Sprintf("for i in $(seq %d); do %s membomb %d 3 & done; wait", n, attackBin, each)
		spec := newSpec(t, workspace(t, nil), "sh", "-c", script)
		spec.Limits.Memory = limit
		o := runSpec(t, spec)
		if o.res.Enforced.Cgroup == "" {
			t.Skipf("no cgroup on this host, only per-process limits: %s", o.res.Enforced.Missing[sandbox.ProtectCgroup])
		}
		held := strings.Count(o.stdout, "ESCAPED")
		if held*each<<20 > limit {
			t.Errorf("SANDBOX ESCAPE: %d processes held %d MiB each at once, over the sandbox's %d MiB (reason %s)",
				held, each, limit>>20, o.res.Reason)
		}
	})
	t.Run("membomb", func(t *testing.T) {
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) { s.Limits.Memory = 64 << 20 }, "membomb", "512")
		if w, d := o.verdict(); w == "ESCAPED" {
			t.Fatalf("SANDBOX ESCAPE: the memory limit of 64 MiB did not hold: %s", d)
		} else if o.res.Reason != sandbox.ReasonOOM && w != "BLOCKED" {
			t.Errorf("want reason oom or a refused allocation; got reason %s, %s %s\n%s", o.res.Reason, w, d, o.tail())
		}
	})
	for _, dir := range []string{"/tmp", "/dev/shm"} {
		t.Run("fill"+strings.ReplaceAll(dir, "/", "-"), func(t *testing.T) {
			const size = 8 << 20
			o := attack(t, workspace(t, nil), func(s *sandbox.Spec) { s.Filesystem.TmpSize = size }, "diskfill", dir+"/fill", "64")
			d := expectVerdict(t, o, "BLOCKED")
			m := wroteBytes.FindStringSubmatch(d)
			if m == nil {
				t.Fatalf("no byte count in %q", d)
			}
			if n, _ := strconv.ParseInt(m[1], 10, 64); n > size {
				t.Errorf("SANDBOX ESCAPE: %d bytes went into %s, limited to %d", n, dir, size)
			}
		})
	}
	t.Run("file-size", func(t *testing.T) {
		const size = 4 << 20
		ws := workspace(t, nil)
		big := filepath.Join(ws, "big")
		o := attack(t, ws, func(s *sandbox.Spec) { s.Limits.FileSize = size }, "diskfill", big, "64")
		w, d := o.verdict()
		if w == "ESCAPED" {
			t.Errorf("SANDBOX ESCAPE: the file-size limit did not hold: %s", d)
		} else if o.res.Reason != sandbox.ReasonFSize && !strings.Contains(d, "EFBIG") {
			t.Errorf("want reason fsize or EFBIG; got reason %s, %s %s", o.res.Reason, w, d)
		}
		if n := fileSize(big); n > size {
			t.Errorf("SANDBOX ESCAPE: %s is %d bytes on the host, limited to %d", big, n, size)
		}
	})
	t.Run("output-flood", func(t *testing.T) {
		const limit = 1 << 20
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) { s.Limits.OutputBytes = limit }, "flood", "100")
		if o.res.Reason != sandbox.ReasonOutput {
			t.Errorf("want reason output, got %s", o.res.Reason)
		}
		if n := len(o.stdout) + len(o.stderr); n > limit+64<<10 {
			t.Errorf("SANDBOX ESCAPE: %d bytes of output got through a limit of %d", n, limit)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) { s.Limits.Timeout = 500 * time.Millisecond }, "sleep", "30")
		if o.res.Reason != sandbox.ReasonTimeout {
			t.Errorf("want reason timeout, got %s", o.res.Reason)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("a 500ms timeout took %s to end the run", took)
		}
		expectNotVerdict(t, o, "ESCAPED")
	})
	t.Run("cpu-time", func(t *testing.T) {
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) { s.Limits.CPUTime = time.Second }, "spin", "30")
		if o.res.Reason != sandbox.ReasonCPU {
			t.Errorf("want reason cpu, got %s (cpu %s)", o.res.Reason, o.res.CPUTime)
		}
		expectNotVerdict(t, o, "ESCAPED")
	})
	t.Run("open-files", func(t *testing.T) {
		o := attack(t, workspace(t, nil), func(s *sandbox.Spec) { s.Limits.OpenFiles = 64 }, "nofile", "1000")
		d := expectVerdict(t, o, "BLOCKED")
		if !strings.Contains(d, "EMFILE") {
			t.Errorf("want EMFILE, got %s", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		spec := newSpec(t, workspace(t, nil), attackBin, "sleep", "30")
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		res, err := linux.Backend{}.Run(ctx, spec)
		expectNoSurvivors(t)
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != sandbox.ReasonKilled {
			t.Errorf("want reason killed, got %s", res.Reason)
		}
	})
}

func expectNotVerdict(t *testing.T, o outcome, not string) {
	t.Helper()
	if w, d := o.verdict(); w == not {
		t.Errorf("SANDBOX ESCAPE: %q: %s %s", o.args, w, d)
	}
}

// TestEscape_OrdinaryWork is the other half of every protection above: the
// work an agent is there to do still runs, with the same defaults.
func TestEscape_OrdinaryWork(t *testing.T) {
	t.Run("shell-writes-workspace", func(t *testing.T) {
		ws := workspace(t, nil)
		o := runSpec(t, newSpec(t, ws, "sh", "-c", "echo hi > out.txt"))
		if o.res.ExitCode != 0 {
			t.Fatalf("exit %d\n%s", o.res.ExitCode, o.tail())
		}
		expectFile(t, filepath.Join(ws, "out.txt"), "hi\n")
	})
	t.Run("exit-status", func(t *testing.T) {
		o := runSpec(t, newSpec(t, workspace(t, nil), "sh", "-c", "exit 7"))
		if o.res.ExitCode != 7 || o.res.Reason != sandbox.ReasonExit {
			t.Errorf("want exit 7 (reason exit), got %d (%s)", o.res.ExitCode, o.res.Reason)
		}
	})
	t.Run("command-not-found", func(t *testing.T) {
		o, err := tryRun(t, newSpec(t, workspace(t, nil), "cordon-no-such-command"))
		switch {
		case err != nil:
			if !errors.Is(err, linux.ErrNotFound) || !strings.Contains(err.Error(), "cordon-no-such-command") {
				t.Errorf("want an error naming the missing command, got %v", err)
			}
		case o.res.ExitCode != 127:
			t.Errorf("want an error or exit 127, got exit %d", o.res.ExitCode)
		}
	})
	t.Run("loopback-server", func(t *testing.T) {
		expectVerdict(t, attack(t, workspace(t, nil), nil, "loopback"), "OK")
	})
	t.Run("go-build-and-test", func(t *testing.T) {
		goBin, err := exec.LookPath("go")
		if err != nil {
			t.Skip("no go toolchain")
		}
		ws := workspace(t, map[string]string{
			"go.mod":       "module example.com/hello\n\ngo 1.21\n",
			"main.go":      "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(greeting()) }\n\nfunc greeting() string { return \"hello\" }\n",
			"main_test.go": "package main\n\nimport \"testing\"\n\nfunc TestGreeting(t *testing.T) {\n\tif greeting() != \"hello\" {\n\t\tt.Fatal(greeting())\n\t}\n}\n",
		})
		spec := newSpec(t, ws, "sh", "-c", goBin+" build -o hello . && ./hello && "+goBin+" test ./...")
		spec.Env = append(spec.Env, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		spec.Limits.Timeout = 5 * time.Minute
		o := runSpec(t, spec)
		if o.res.ExitCode != 0 || !strings.Contains(o.stdout, "hello") || !strings.Contains(o.stdout, "ok") {
			t.Fatalf("go build/test in the sandbox: exit %d (%s)\n%s", o.res.ExitCode, o.res.Reason, o.tail())
		}
		if _, err := os.Stat(filepath.Join(ws, "hello")); err != nil {
			t.Errorf("the built binary is not in the workspace: %v", err)
		}
	})
	gitBin, gitErr := exec.LookPath("git")
	gitEnv := []string{"GIT_AUTHOR_NAME=cordon", "GIT_AUTHOR_EMAIL=cordon@example.com",
		"GIT_COMMITTER_NAME=cordon", "GIT_COMMITTER_EMAIL=cordon@example.com", "GIT_CONFIG_NOSYSTEM=1"}
	t.Run("git-commit-existing-repo", func(t *testing.T) {
		if gitErr != nil {
			t.Skip("no git")
		}
		ws := workspace(t, map[string]string{"main.go": "package main\n"})
		host := exec.Command(gitBin, "init", "-q", ws)
		if b, err := host.CombinedOutput(); err != nil {
			t.Fatalf("git init on the host: %v\n%s", err, b)
		}
		spec := newSpec(t, ws, "sh", "-c", "git add . && git commit -qm 'from the sandbox' && git status --short && git log --oneline")
		spec.Env = append(spec.Env, gitEnv...)
		o := runSpec(t, spec)
		if o.res.ExitCode != 0 {
			t.Fatalf("git add/commit in the sandbox: exit %d\n%s", o.res.ExitCode, o.tail())
		}
		expectCommits(t, gitBin, ws, 1)
	})
	t.Run("git-init-in-sandbox", func(t *testing.T) {
		if gitErr != nil {
			t.Skip("no git")
		}
		ws := workspace(t, map[string]string{"main.go": "package main\n"})
		spec := newSpec(t, ws, "sh", "-c", "git init -q . && git add . && git commit -qm 'from the sandbox'")
		spec.Env = append(spec.Env, gitEnv...)
		o := runSpec(t, spec)
		if o.res.ExitCode != 0 {
			t.Fatalf("git init/add/commit of a new repository in the sandbox: exit %d\n%s", o.res.ExitCode, o.tail())
		}
		expectCommits(t, gitBin, ws, 1)
	})
}

// expectCommits checks from the host that the repository in ws has n
// commits.
func expectCommits(t *testing.T, gitBin, ws string, n int) {
	t.Helper()
	cmd := exec.Command(gitBin, "-C", ws, "-c", "safe.directory=*", "rev-list", "--count", "HEAD")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git on the host: %v\n%s", err, b)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(n) {
		t.Errorf("want %d commits seen from the host, got %s", n, got)
	}
}

// TestAttacksWorkUnsandboxed runs attacks outside any sandbox, where they
// must succeed: an attack that fails everywhere proves nothing when it
// fails inside. Only attacks harmless to the host are run, those needing
// root only as root, and those needing a kernel feature are skipped where
// it is missing (optional).
func TestAttacksWorkUnsandboxed(t *testing.T) {
	root := os.Getuid() == 0
	dir := scratch(t, "unsandboxed")
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("x"), 0o644)
	mustMkdir(t, filepath.Join(dir, "empty"))
	mustMkdir(t, filepath.Join(dir, "mnt"))
	sleeper := startHostProcess(t, "sleep", "600")
	tcp := listenStream(t, "tcp4", "127.0.0.1:0")
	udp := listenUDP(t)
	named := listenStream(t, "unix", filepath.Join(dir, "host.sock"))
	abstractName := fmt.Sprintf("cordon-test-%d-%d", os.Getpid(), rand.Int())
	listenStream(t, "unix", "@"+abstractName)
	key := int(rand.Int32N(1<<30) + 1)
	shm, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.SysvShmCtl(shm, unix.IPC_RMID, nil) })
	secret, err := os.Open(victim)
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Close()

	type tc struct {
		args     []string
		root     bool // needs root
		optional bool // needs a kernel feature or setting the host may lack
		sys      *syscall.SysProcAttr
		env      []string
		extra    []*os.File
	}
	cases := []tc{
		{args: []string{"perf"}, optional: true},
		{args: []string{"userfaultfd"}, optional: !root},
		{args: []string{"io-uring"}, optional: true},
		{args: []string{"keyctl"}},
		{args: []string{"kcmp"}},
		{args: []string{"process-vm-readv"}},
		{args: []string{"personality"}},
		{args: []string{"seccomp-status"}},
		{args: []string{"caps"}},
		{args: []string{"seccomp-abi"}, optional: true},
		{args: []string{"userns"}, optional: true},
		{args: []string{"af-netlink"}},
		{args: []string{"af-vsock"}, optional: true},
		{args: []string{"mptcp"}, optional: true},
		{args: []string{"write", filepath.Join(dir, "new")}},
		{args: []string{"append", victim}},
		{args: []string{"truncate", victim}},
		{args: []string{"read", "/etc/hostname"}},
		{args: []string{"mkdir", filepath.Join(dir, "d")}},
		{args: []string{"symlink-write", filepath.Join(dir, "link"), filepath.Join(dir, "via-link")}},
		{args: []string{"hardlink", filepath.Join(dir, "hl"), victim}},
		{args: []string{"rename", filepath.Join(dir, "d"), filepath.Join(dir, "d2")}},
		{args: []string{"rename-recreate", filepath.Join(dir, "d2"), "hooks/pre-commit"}},
		{args: []string{"chmod", victim}},
		{args: []string{"unlink", filepath.Join(dir, "new")}},
		{args: []string{"rmdir", filepath.Join(dir, "empty")}},
		{args: []string{"landlock-status", filepath.Join(dir, "ll")}},
		{args: []string{"env", "CORDON_TEST_SECRET"}, env: []string{"CORDON_TEST_SECRET=x"}},
		{args: []string{"fds"}, extra: []*os.File{secret}},
		{args: []string{"sysv-shm", strconv.Itoa(key)}},
		{args: []string{"see-pid", sleeper.pid()}},
		{args: []string{"proc-peek", sleeper.pid()}},
		{args: []string{"process-vm-readv", sleeper.pid()}},
		{args: []string{"ptrace", sleeper.pid()}, optional: !root},
		{args: []string{"tcp-connect", tcp.addr}},
		{args: []string{"udp-send", udp.addr}},
		{args: []string{"unix-connect", named.addr}},
		{args: []string{"unix-abstract", abstractName}},
		{args: []string{"forkbomb", "20"}},
		{args: []string{"membomb", "20"}},
		{args: []string{"nofile", "100"}},
		{args: []string{"sleep", "1"}},
		{args: []string{"spin", "1"}},
		{args: []string{"bpf"}, root: true},
		{args: []string{"syslog"}, root: true},
		{args: []string{"settime"}, root: true},
		{args: []string{"namespaces"}, root: true},
		{args: []string{"chroot"}, root: true},
		{args: []string{"pivot-root"}, root: true},
		{args: []string{"open-by-handle"}, root: true},
		{args: []string{"af-packet"}, root: true},
		{args: []string{"mknod", filepath.Join(dir, "null")}, root: true},
		{args: []string{"setns"}, root: true},
		{args: []string{"dev-open"}, root: true, optional: true},
		// In namespaces of their own, so that nothing on the host changes.
		{args: []string{"mount", filepath.Join(dir, "mnt")}, root: true,
			sys: &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}},
		{args: []string{"hostname", "cordon-escaped"}, root: true,
			sys: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			if c.root && !root {
				t.Skip("needs root")
			}
			if c.args[0] == "seccomp-abi" && runtime.GOARCH != "amd64" {
				t.Skip("amd64 only")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, attackBin, c.args...)
			cmd.Env = append(os.Environ(), c.env...)
			cmd.SysProcAttr = c.sys
			cmd.ExtraFiles = c.extra
			b, _ := cmd.Output()
			out := strings.TrimSpace(string(b))
			if strings.HasPrefix(out, "ESCAPED") {
				return
			}
			if c.optional && strings.HasPrefix(out, "BLOCKED") {
				t.Skipf("this host refuses it even unsandboxed: %s", out)
			}
			t.Errorf("unsandboxed, %q should get through: %s", c.args, out)
		})
	}
}
