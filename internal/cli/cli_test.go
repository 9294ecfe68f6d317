package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/cordon-sh/cordon/sandbox/linux"
)

func TestMain(m *testing.M) {
	linux.Init()
	// Runs record to an audit log of the tests' own, not the user's.
	state, err := os.MkdirTemp("", "cordon-cli-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_STATE_HOME", state)
	code := m.Run()
	os.RemoveAll(state)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// cordonBinary builds cmd/cordon once for the tests that run it as a
// process, statically as it ships, outside /tmp (the sandbox's own).
func cordonBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		base := os.Getenv("CORDON_TEST_DIR")
		if base == "" {
			base = "/var/tmp"
		}
		if binDir, binErr = os.MkdirTemp(base, "cordon-bin-"); binErr != nil {
			return
		}
		os.Chmod(binDir, 0o755)
		binPath = filepath.Join(binDir, "cordon")
		build := exec.Command("go", "build", "-o", binPath, "github.com/cordon-sh/cordon/cmd/cordon")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// workspace returns a directory outside /tmp (the sandbox has its own /tmp).
func workspace(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CORDON_TEST_DIR")
	if base == "" {
		base = "/var/tmp"
	}
	dir, err := os.MkdirTemp(base, "cordon-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExecBadInput(t *testing.T) {
	ws := workspace(t)
	home, _ := os.UserHomeDir()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing workspace", []string{"exec", "-w", filepath.Join(ws, "nope"), "--", "true"}, ExitUsage, "no such file"},
		{"workspace is /", []string{"exec", "-w", "/", "--", "true"}, ExitCordon, "cannot be /"},
		{"workspace is home", []string{"exec", "-w", home, "--", "true"}, ExitCordon, "home directory"},
		{"workspace is /etc", []string{"exec", "-w", "/etc", "--", "true"}, ExitCordon, "system directory"},
		{"workspace holds home", []string{"exec", "-w", filepath.Dir(home), "--", "true"}, ExitCordon, "cannot be"},
		{"writable is /usr", []string{"exec", "-w", ws, "--writable", "/usr", "--", "true"}, ExitCordon, "system directory"},
		{"relative writable", []string{"exec", "-w", ws, "--writable", "cache", "--", "true"}, ExitUsage, "must be absolute"},
		{"writable root", []string{"exec", "-w", ws, "--writable", "/", "--", "true"}, ExitUsage, "whole host"},
		{"writable and masked", []string{"exec", "-w", ws, "--writable", "/var/tmp/x", "--mask", "/var/tmp/x", "--", "true"}, ExitUsage, "conflicts"},
		{"no-cgroup and require cgroup", []string{"exec", "-w", ws, "--no-cgroup", "--require", "cgroup", "--", "true"}, ExitUsage, "conflicts"},
		{"unknown protection", []string{"exec", "-w", ws, "--require", "magic", "--", "true"}, ExitUsage, "unknown protection"},
		{"bad size", []string{"exec", "-w", ws, "--memory", "lots", "--", "true"}, ExitUsage, "--memory"},
		{"bad disk", []string{"exec", "-w", ws, "--disk", "lots", "--", "true"}, ExitUsage, "--disk"},
		{"bad disk reserve", []string{"exec", "-w", ws, "--disk-reserve", "auto-ish", "--", "true"}, ExitUsage, "--disk-reserve"},
		{"no command", []string{"exec", "-w", ws}, ExitUsage, "requires at least 1 arg"},
		{"network mode", []string{"exec", "-w", ws, "--network", "host", "--", "true"}, ExitUsage, "--network"},
		{"command not found", []string{"exec", "-w", ws, "--approve=allow", "--", "no-such-command-here"}, ExitNotFound, "not found in the sandbox"},
		{"protected path outside", []string{"exec", "-w", ws, "--protect", "../elsewhere", "--", "true"}, ExitCordon, "not inside the workspace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.msg) {
				t.Errorf("stderr %q does not say %q", stderr, tt.msg)
			}
			// Nothing of a sandbox is left behind in the workspace.
			if entries, _ := os.ReadDir(ws); len(entries) != 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("left in the workspace: %v", names)
			}
		})
	}
}

func TestExecStatus(t *testing.T) {
	ws := workspace(t)
	code, stdout, stderr := run(t, "exec", "-w", ws, "--", "sh", "-c", "echo out; echo err >&2; exit 7")
	if code != 7 || stdout != "out\n" || stderr != "err\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = run(t, "exec", "-w", ws, "--timeout", "300ms", "--", "sleep", "30")
	if code != 137 || !strings.Contains(stderr, "timeout") {
		t.Fatalf("timeout: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, "exec", "-w", ws, "--disk", "4M", "--", "sh", "-c", "head -c 67108864 /dev/zero > fill; sleep 10")
	if code != 137 || !strings.Contains(stderr, "cordon: stopped: disk: ") || !strings.Contains(stderr, "disk limit of 4M") {
		t.Fatalf("disk: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(t, "exec", "-w", ws, "--json", "--", "true")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Reason   string `json:"reason"`
		Enforced struct {
			Seccomp bool `json:"seccomp"`
		} `json:"enforced"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stderr)), &res); err != nil || res.Reason != "exit" || !res.Enforced.Seccomp {
		t.Fatalf("--json: %v %+v from %q", err, res, stderr)
	}
}

func TestDoctor(t *testing.T) {
	code, stdout, _ := run(t, "doctor", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var h linux.Host
	if err := json.Unmarshal([]byte(stdout), &h); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, stdout)
	}
	if h.Kernel == "" {
		t.Error("no kernel in the report")
	}
	// The disk bound, for the current directory's filesystem, as the
	// kernel reports it.
	var d struct {
		Disk *linux.DiskInfo `json:"disk"`
	}
	json.Unmarshal([]byte(stdout), &d)
	var sf syscall.Statfs_t
	if err := syscall.Statfs(".", &sf); err != nil {
		t.Fatal(err)
	}
	if d.Disk == nil || d.Disk.Size != int64(sf.Blocks)*sf.Bsize || d.Disk.Free <= 0 || d.Disk.Free > d.Disk.Size ||
		d.Disk.Reserve <= 0 || d.Disk.Reserve > d.Disk.Size {
		t.Errorf("doctor --json disk: %+v (statfs: %d blocks of %d)", d.Disk, sf.Blocks, sf.Bsize)
	}
	code, stdout, _ = run(t, "doctor")
	if code != 0 || !strings.Contains(stdout, "Landlock") || !strings.Contains(stdout, "seccomp") || !strings.Contains(stdout, "disk bound") {
		t.Fatalf("doctor: exit %d\n%s", code, stdout)
	}
}
