package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An interrupted cordon kills the sandbox and cleans up after it: no
// process, no placeholder, no cgroup is left.
func TestInterruptCleansUp(t *testing.T) {
	ws := workspace(t)
	bin := cordonBinary(t)

	const marker = "4242.4242"
	cmd := exec.Command(bin, "exec", "-w", ws, "--", "sh", "-c", "sleep "+marker+" & sleep "+marker)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the command runs inside.
	deadline := time.Now().Add(10 * time.Second)
	for !sleeperAlive(marker) {
		if time.Now().After(deadline) {
			t.Fatal("the command did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("cordon did not end within 5s of SIGINT")
	}
	if code := cmd.ProcessState.ExitCode(); code != 137 || !strings.Contains(stderr.String(), "killed") {
		t.Errorf("exit %d, stderr %q; want 137 and the reason", code, stderr.String())
	}
	if sleeperAlive(marker) {
		t.Error("a process of the run survived the interrupt")
	}
	if entries, _ := os.ReadDir(ws); len(entries) != 0 {
		t.Errorf("left in the workspace: %d entries", len(entries))
	}
	pid := cmd.Process.Pid
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"} {
		matches, _ := filepath.Glob(filepath.Join(dir, "*", "cordon-"+strconv.Itoa(pid)+"-*"))
		more, _ := filepath.Glob(filepath.Join(dir, "cordon-"+strconv.Itoa(pid)+"-*"))
		if len(matches)+len(more) > 0 {
			t.Errorf("cgroups left: %v %v", matches, more)
		}
	}
}

// sleeperAlive reports whether a process with marker in its command line
// runs on the host.
func sleeperAlive(marker string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), marker) && !strings.Contains(string(b), "exec") {
			return true
		}
	}
	return false
}
