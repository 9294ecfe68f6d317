package linux_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

// startSession starts a session on spec, skipping the test where this host
// cannot build a sandbox, and closes it at the end of the test.
func startSession(t *testing.T, spec *sandbox.Spec) *linux.Session {
	t.Helper()
	s, err := linux.Backend{}.Start(context.Background(), spec)
	var req *sandbox.RequireError
	if errors.As(err, &req) && req.Protection == sandbox.ProtectUserNS {
		t.Skipf("this host cannot build a sandbox: %v", err)
	}
	if err != nil {
		t.Fatalf("start session: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sessionRun runs args in s and fails the test if it could not.
func sessionRun(t *testing.T, s *linux.Session, c sandbox.Command) outcome {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if c.Stdout == nil {
		c.Stdout = &stdout
	}
	if c.Stderr == nil {
		c.Stderr = &stderr
	}
	res, err := s.Run(context.Background(), &c)
	if err != nil {
		t.Fatalf("run %q: %v", c.Args, err)
	}
	return outcome{args: c.Args, res: res, stdout: stdout.String(), stderr: stderr.String()}
}

func sh(script string) sandbox.Command {
	return sandbox.Command{Args: []string{"/bin/sh", "-c", script}}
}

func TestSessionStatePersists(t *testing.T) {
	ws := workspace(t, nil)
	s := startSession(t, newSpec(t, ws))
	o := sessionRun(t, s, sh("echo ws > file; echo tmp > /tmp/file; echo out; echo err >&2; exit 3"))
	if o.res.ExitCode != 3 || o.res.Reason != sandbox.ReasonExit || o.stdout != "out\n" || o.stderr != "err\n" {
		t.Fatalf("command 1: exit %d (%s), stdout %q, stderr %q", o.res.ExitCode, o.res.Reason, o.stdout, o.stderr)
	}
	o = sessionRun(t, s, sandbox.Command{Args: []string{"cat", "file", "/tmp/file"}})
	if o.res.ExitCode != 0 || o.stdout != "ws\ntmp\n" || o.stderr != "" {
		t.Fatalf("command 2: exit %d, stdout %q, stderr %q", o.res.ExitCode, o.stdout, o.stderr)
	}
	if o.res.OutputBytes != 7 {
		t.Errorf("command 2 counted %d output bytes, want 7 (its own only)", o.res.OutputBytes)
	}
	expectFile(t, filepath.Join(ws, "file"), "ws\n")
	// Per-command environment, directory and stdin.
	mustMkdir(t, filepath.Join(ws, "sub"))
	o = sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", `echo "$X $(pwd) $(cat)"`},
		Env: []string{"X=x", "PATH=/usr/bin:/bin"}, Dir: "sub", Stdin: strings.NewReader("in")})
	if want := "x " + filepath.Join(ws, "sub") + " in\n"; o.stdout != want {
		t.Errorf("env, dir and stdin: got %q, want %q", o.stdout, want)
	}
	if _, err := s.Run(context.Background(), &sandbox.Command{Args: []string{"no-such-command-here"}}); !errors.Is(err, linux.ErrNotFound) {
		t.Errorf("a missing command: got %v, want ErrNotFound", err)
	}
	if o := sessionRun(t, s, sh("true")); o.res.ExitCode != 0 {
		t.Errorf("the session is not usable after a missing command: exit %d", o.res.ExitCode)
	}
}

// TestSessionNoSurvivors starts a background child and a double-forked
// daemon in a session of its own; both must be gone when the command
// returns, seen from the host and from the next command.
func TestSessionNoSurvivors(t *testing.T) {
	ws := workspace(t, nil)
	s := startSession(t, newSpec(t, ws))
	for _, c := range []struct{ name, script string }{
		{"sleep", "sleep 1000 & echo started"},
		{"background", attackBin + " background bg.marker 60"},
		{"daemon", attackBin + " daemon daemon.marker 60"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := sessionRun(t, s, sh(c.script))
			if o.res.ExitCode != 0 {
				t.Fatalf("exit %d\n%s", o.res.ExitCode, o.tail())
			}
			// Right away: the command's processes are gone before Run
			// returns, not eventually.
			if left := processesRunning(attackBin); len(left) > 0 {
				t.Errorf("SANDBOX ESCAPE: processes outlived the command: %s", strings.Join(left, "; "))
			}
			if left := descendants(s.Pid()); len(left) > 0 {
				t.Errorf("SANDBOX ESCAPE: processes outlived the command: %v", left)
			}
			o = sessionRun(t, s, sh(`for d in /proc/[0-9]*; do echo "${d#/proc/} $(cat $d/comm)"; done`))
			for _, line := range strings.Split(strings.TrimSpace(o.stdout), "\n") {
				pid, comm, _ := strings.Cut(line, " ")
				if comm == "sleep" || comm == "attack" || (pid != "1" && comm != "sh" && comm != "cat") {
					t.Errorf("SANDBOX ESCAPE: the next command sees %q in /proc:\n%s", line, o.stdout)
				}
			}
		})
	}
	for _, m := range []string{"bg.marker", "daemon.marker"} {
		before, _ := os.ReadFile(filepath.Join(ws, m))
		time.Sleep(300 * time.Millisecond)
		after, _ := os.ReadFile(filepath.Join(ws, m))
		if len(after) != len(before) {
			t.Errorf("SANDBOX ESCAPE: %s still grows after its command returned", m)
		}
	}
}

// descendants lists the host PIDs of pid's children, recursively.
func descendants(pid int) []int {
	var out []int
	var b []byte
	// The init has several threads; children hang off the one that forked.
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		b = append(b, ' ')
		b = append(b, c...)
	}
	seen := map[int]bool{}
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil && !seen[c] {
			seen[c] = true
			out = append(out, c)
			out = append(out, descendants(c)...)
		}
	}
	return out
}

func TestSessionTimeout(t *testing.T) {
	s := startSession(t, newSpec(t, workspace(t, nil)))
	start := time.Now()
	o := sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", "echo before; sleep 30"}, Timeout: 300 * time.Millisecond})
	if o.res.Reason != sandbox.ReasonTimeout || o.res.Signal != int(syscall.SIGKILL) || o.stdout != "before\n" {
		t.Errorf("got reason %s, signal %d, stdout %q; want a timeout", o.res.Reason, o.res.Signal, o.stdout)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %s", d)
	}
	o = sessionRun(t, s, sh("echo still here"))
	if o.res.Reason != sandbox.ReasonExit || o.stdout != "still here\n" {
		t.Errorf("after a timeout: reason %s, stdout %q", o.res.Reason, o.stdout)
	}
	// The output limit is per command too.
	o = sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", "while :; do echo xxxxxxxxxxxxxxx; done"}, OutputBytes: 1000})
	if o.res.Reason != sandbox.ReasonOutput || len(o.stdout) != 1000 {
		t.Errorf("output limit: reason %s, %d bytes", o.res.Reason, len(o.stdout))
	}
	// Cancelling the context ends the command, not the session.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := s.Run(ctx, &sandbox.Command{Args: []string{"sleep", "30"}})
	if err != nil || res.Reason != sandbox.ReasonKilled {
		t.Errorf("cancelled: %v, %+v", err, res)
	}
	if o := sessionRun(t, s, sh("exit 7")); o.res.ExitCode != 7 {
		t.Errorf("after a cancel: exit %d", o.res.ExitCode)
	}
}

// TestSessionIsolation runs two sessions side by side: neither sees,
// signals or reads the other.
func TestSessionIsolation(t *testing.T) {
	a := startSession(t, newSpec(t, workspace(t, nil)))
	b := startSession(t, newSpec(t, workspace(t, nil)))
	sessionRun(t, a, sh("echo secret-of-a > /tmp/secret"))
	// A command of a that runs while b looks.
	marker := filepath.Join(scratch(t, "iso"), "a.marker")
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(context.Background(), &sandbox.Command{Args: []string{attackBin, "_marker-loop", marker, "20"}, Timeout: 20 * time.Second})
		done <- err
	}()
	var hostPid int
	for i := 0; i < 100 && hostPid == 0; i++ {
		for _, p := range processesRunning(marker) {
			pid, _, _ := strings.Cut(p, ":")
			hostPid, _ = strconv.Atoi(pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if hostPid == 0 {
		t.Fatal("a's command did not start")
	}
	o := sessionRun(t, b, sh("cat /tmp/secret; ls /proc; cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '"))
	if strings.Contains(o.stdout, "secret-of-a") || strings.Contains(o.stdout, "a.marker") {
		t.Errorf("SANDBOX ESCAPE: b sees a's /tmp or processes:\n%s", o.stdout)
	}
	for _, args := range [][]string{
		{"kill", strconv.Itoa(hostPid)},
		{"see-pid", strconv.Itoa(hostPid)},
		{"read", fmt.Sprintf("/proc/%d/root/tmp/secret", a.Pid())},
	} {
		o := sessionRun(t, b, sandbox.Command{Args: append([]string{attackBin}, args...)})
		expectBlocked(t, o)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", hostPid)); err != nil {
		t.Errorf("SANDBOX ESCAPE: a's command is gone after b tried to kill it: %v", err)
	}
	a.Close()
	if err := <-done; !errors.Is(err, linux.ErrSessionClosed) {
		t.Errorf("a's command, its session closed: %v, want ErrSessionClosed", err)
	}
}

// TestSessionClose checks that Close leaves no process and no cgroup.
func TestSessionClose(t *testing.T) {
	s := startSession(t, newSpec(t, workspace(t, nil)))
	sessionRun(t, s, sh("true"))
	pid := s.Pid()
	dirs := cgroupDirs(t, pid)
	t.Logf("cgroups of the session: %v", dirs)
	runErr := make(chan error, 1)
	go func() {
		_, err := s.Run(context.Background(), &sandbox.Command{Args: []string{attackBin, "sleep", "60"}})
		runErr <- err
	}()
	for i := 0; i < 100 && len(processesRunning(attackBin)) == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Errorf("Wait after Close: %v", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("the init %d outlived Close", pid)
	}
	expectNoSurvivors(t)
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s outlived Close", d)
		}
	}
	if running := <-runErr; !errors.Is(running, linux.ErrSessionClosed) {
		t.Errorf("the command running at Close: %v, want ErrSessionClosed", running)
	}
	if _, err := s.Run(context.Background(), &sandbox.Command{Args: []string{"true"}}); !errors.Is(err, linux.ErrSessionClosed) {
		t.Errorf("Run after Close: %v, want ErrSessionClosed", err)
	}
}

// cgroupDirs are the cgroup directories of pid other than the caller's own.
func cgroupDirs(t *testing.T, pid int) []string {
	t.Helper()
	own, _ := os.ReadFile("/proc/self/cgroup")
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(string(own), line) {
			continue // not a cgroup of the session's
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrl := strings.TrimPrefix(strings.Split(parts[1], ",")[0], "name=")
		out = append(out, filepath.Join("/sys/fs/cgroup", ctrl, parts[2]))
	}
	for _, d := range out {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("cgroup dir %s not found: %v", d, err)
		}
	}
	return out
}

func TestSessionIdle(t *testing.T) {
	spec := newSpec(t, workspace(t, nil))
	spec.Limits.Idle = 300 * time.Millisecond
	s := startSession(t, spec)
	sessionRun(t, s, sh("sleep 0.5")) // longer than the idle timeout: a command is not idleness
	pid := s.Pid()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if !errors.Is(err, linux.ErrSessionIdle) {
			t.Errorf("Wait: %v, want ErrSessionIdle", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not close after its idle timeout")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("the init %d outlived the idle timeout", pid)
	}
	if _, err := s.Run(context.Background(), &sandbox.Command{Args: []string{"true"}}); !errors.Is(err, linux.ErrSessionClosed) {
		t.Errorf("Run after the idle timeout: %v", err)
	}
}

// TestSessionOwnerDies kills the process that owns a session while a
// command runs in it: nothing of the session may remain. The owner starts
// the session from a goroutine locked to a thread that then ends, which
// must not end the session.
func TestSessionOwnerDies(t *testing.T) {
	ws := workspace(t, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=session-owner", helperArgEnv+"="+ws, "CORDON_ATTACK_BIN="+attackBin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	var initPid int
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "skip ") {
			cmd.Wait()
			t.Skip(line)
		}
		if p, ok := strings.CutPrefix(line, "running "); ok {
			initPid, _ = strconv.Atoi(p)
			break
		}
		t.Logf("owner: %s", line)
	}
	if initPid == 0 {
		cmd.Wait()
		t.Fatal("the owner did not start its session")
	}
	if len(processesRunning(attackBin)) == 0 {
		t.Fatal("the session's command is not running")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", initPid)); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", initPid)); err == nil {
		t.Errorf("SANDBOX ESCAPE: the init %d outlived its owner", initPid)
	}
	expectNoSurvivors(t)
}

// sessionOwner is the helper process of TestSessionOwnerDies.
func sessionOwner(ws string) int {
	attackBin = os.Getenv("CORDON_ATTACK_BIN")
	spec, err := sandbox.NewSpec(ws, nil)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	// The main goroutine keeps the main thread, so the goroutine below
	// runs on another, which Go ends when the goroutine ends locked.
	runtime.LockOSThread()
	started := make(chan *linux.Session)
	go func() {
		// This goroutine's thread ends with it (it stays locked).
		runtime.LockOSThread()
		s, err := linux.Backend{}.Start(context.Background(), spec)
		var req *sandbox.RequireError
		if errors.As(err, &req) && req.Protection == sandbox.ProtectUserNS {
			fmt.Println("skip", err)
			os.Exit(0)
		}
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		started <- s
	}()
	s := <-started
	time.Sleep(200 * time.Millisecond) // let the locked thread end
	if o, err := s.Run(context.Background(), &sandbox.Command{Args: []string{"true"}}); err != nil || o.ExitCode != 0 {
		fmt.Println("the session died with the thread that started it:", err)
		return 1
	}
	go func() {
		for len(processesRunning(attackBin)) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("running", s.Pid())
	}()
	s.Run(context.Background(), &sandbox.Command{Args: []string{attackBin, "sleep", "60"}})
	return 0
}

// TestSessionEscapes repeats representative attacks of the escape suite in
// a session command, after a first command has run: the restrictions hold
// for every command, not only the first.
func TestSessionEscapes(t *testing.T) {
	ws := workspace(t, nil)
	secret := filepath.Join(scratch(t, "masked"), "secret")
	if err := os.WriteFile(secret, []byte("cordon-test-secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, ws)
	spec.Filesystem.Masked = append(spec.Filesystem.Masked, secret)
	s := startSession(t, spec)
	sessionRun(t, s, sh("true"))
	for _, args := range [][]string{
		{"ptrace", "1"},
		{"proc-peek", "1"},
		{"fds"},
		{"caps"},
		{"seccomp-status"},
		{"bpf"},
		{"userns"},
		{"namespaces"},
		{"mount", ws},
		{"setns"},
		{"chroot"},
		{"tcp-connect", "1.1.1.1:443"},
		{"read", secret},
		{"write", "/etc/cordon-session-escape", "x"},
	} {
		t.Run(args[0], func(t *testing.T) {
			o := sessionRun(t, s, sandbox.Command{Args: append([]string{attackBin}, args...)})
			if w, _ := o.verdict(); w == "ERROR" && strings.Contains(o.stdout, "unknown attack") {
				t.Skipf("no attack %s", args[0])
			}
			expectBlocked(t, o)
		})
	}
	expectAbsent(t, "/etc/cordon-session-escape")
}

// TestSessionSignalsToInit sends the init every signal a command can
// send: none may end the session.
func TestSessionSignalsToInit(t *testing.T) {
	s := startSession(t, newSpec(t, workspace(t, nil)))
	o := sessionRun(t, s, sh("for s in HUP INT QUIT ILL TRAP ABRT BUS FPE USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS STOP KILL; do kill -s $s 1 2>/dev/null; done; echo sent"))
	if o.stdout != "sent\n" {
		t.Fatalf("%s", o.tail())
	}
	if o := sessionRun(t, s, sh("echo alive")); o.stdout != "alive\n" {
		t.Errorf("the session did not survive signals to its init: %s", o.tail())
	}
}

// TestSessionGitGuard checks what each command leaves in a workspace that
// had no repository: an inert one stays, hooks added by a later command
// are moved aside when that command ends.
func TestSessionGitGuard(t *testing.T) {
	ws := workspace(t, nil)
	s := startSession(t, newSpec(t, ws))
	o := sessionRun(t, s, sh("mkdir .git && echo 'ref: refs/heads/main' > .git/HEAD"))
	if len(o.res.Warnings) != 0 {
		t.Errorf("an inert repository was flagged: %q", o.res.Warnings)
	}
	o = sessionRun(t, s, sh("mkdir .git/hooks && printf '#!/bin/sh\\nexit 0\\n' > .git/hooks/pre-commit"))
	if len(o.res.Warnings) != 1 || !strings.Contains(o.res.Warnings[0], "hook pre-commit") {
		t.Errorf("a hook added by the second command: warnings %q", o.res.Warnings)
	}
	expectAbsent(t, filepath.Join(ws, ".git"))
}

// TestSessionProxy runs two commands through the proxy of one session:
// the relay outlives the first command.
func TestSessionProxy(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	connect := func(proto string, c net.Conn) {
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		body := "proxied " + req.URL.Host
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
	}
	spec := newSpec(t, workspace(t, nil))
	spec.Network = sandbox.Network{Mode: sandbox.NetworkProxy, Connect: connect}
	s := startSession(t, spec)
	for _, host := range []string{"one.test", "two.test"} {
		o := sessionRun(t, s, sandbox.Command{Args: []string{"curl", "-s", "-m", "5", "http://" + host + "/"}})
		if o.res.ExitCode != 0 || o.stdout != "proxied "+host {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", host, o.res.ExitCode, o.stdout, o.stderr)
		}
	}
}

// TestSessionLimitsApart runs a fork bomb in one session, against its
// process limit, while another session works: the other is not starved,
// and the bombed session stays usable.
func TestSessionLimitsApart(t *testing.T) {
	spec := newSpec(t, workspace(t, nil))
	spec.Limits.Processes = 64
	bombed := startSession(t, spec)
	other := startSession(t, newSpec(t, workspace(t, nil)))
	done := make(chan outcome, 1)
	go func() {
		var out bytes.Buffer
		res, err := bombed.Run(context.Background(), &sandbox.Command{Args: []string{attackBin, "forkbomb", "100000", "leave"}, Stdout: &out, Timeout: 20 * time.Second})
		if err != nil {
			t.Errorf("fork bomb: %v", err)
		}
		done <- outcome{res: res, stdout: out.String()}
	}()
	for i := 0; i < 20; i++ {
		o := sessionRun(t, other, sh("i=0; while [ $i -lt 100 ]; do i=$((i+1)); done; echo $i"))
		if o.res.ExitCode != 0 || o.stdout != "100\n" {
			t.Fatalf("the other session, during the fork bomb: exit %d (%s)\n%s", o.res.ExitCode, o.res.Reason, o.tail())
		}
	}
	o := <-done
	if o.res == nil {
		t.FailNow()
	}
	if w, _ := o.verdict(); w == "ESCAPED" {
		t.Errorf("SANDBOX ESCAPE: the fork bomb went past its limit: %s (reason %s)", o.stdout, o.res.Reason)
	}
	t.Logf("fork bomb: reason %s, %s", o.res.Reason, strings.TrimSpace(o.stdout))
	if o := sessionRun(t, bombed, sh("echo ok")); o.stdout != "ok\n" {
		t.Errorf("the bombed session is not usable: %s", o.tail())
	}
}

// TestSessionKeepBackground keeps a background process of one command
// through later commands, whose own background processes still end with
// them, until the session closes.
func TestSessionKeepBackground(t *testing.T) {
	ws := workspace(t, nil)
	s := startSession(t, newSpec(t, ws))
	kept := filepath.Join(ws, "kept.marker")
	grows := func(path string) bool {
		before, _ := os.ReadFile(path)
		time.Sleep(300 * time.Millisecond)
		after, _ := os.ReadFile(path)
		return len(after) > len(before)
	}
	c := sandbox.Command{Args: []string{"/bin/sh", "-c", attackBin + " background kept.marker 60 && echo started"}, KeepBackground: true}
	o := sessionRun(t, s, c)
	if o.res.ExitCode != 0 || !strings.Contains(o.stdout, "started") {
		t.Fatalf("keep: exit %d\n%s", o.res.ExitCode, o.tail())
	}
	if !grows(kept) {
		t.Fatal("the kept process does not run after its command")
	}
	for _, script := range []string{
		"sleep 1000 & echo started",
		attackBin + " daemon daemon.marker 60",
		attackBin + " background bg.marker 60",
	} {
		o := sessionRun(t, s, sh(script))
		if o.res.ExitCode != 0 {
			t.Fatalf("%s: exit %d\n%s", script, o.res.ExitCode, o.tail())
		}
	}
	// A timeout ends its command and not the kept process.
	o = sessionRun(t, s, sandbox.Command{Args: []string{"sleep", "30"}, Timeout: 200 * time.Millisecond})
	if o.res.Reason != sandbox.ReasonTimeout {
		t.Errorf("timeout: reason %s", o.res.Reason)
	}
	for _, m := range []string{"daemon.marker", "bg.marker"} {
		if grows(filepath.Join(ws, m)) {
			t.Errorf("SANDBOX ESCAPE: %s grows: a later command's process survived it", m)
		}
	}
	if !grows(kept) {
		t.Error("the kept process did not survive the later commands")
	}
	o = sessionRun(t, s, sh(`for d in /proc/[0-9]*; do cat $d/comm; done`))
	if n := strings.Count(o.stdout, "sleep"); n != 0 {
		t.Errorf("SANDBOX ESCAPE: %d sleep processes survived their commands:\n%s", n, o.stdout)
	}
	pid := s.Pid()
	s.Close()
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("the init %d outlived Close", pid)
	}
	if grows(kept) {
		t.Error("SANDBOX ESCAPE: the kept process outlived the session")
	}
	expectNoSurvivors(t)
}

// An idle session's init gives back its resident pages of the executable
// and the heap's free pages, and the next command still runs.
func TestSessionIdleTrim(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the idle trim")
	}
	s := startSession(t, newSpec(t, workspace(t, nil)))
	sessionRun(t, s, sh("true"))
	rss := func() (file, total int64) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && (f[0] == "RssFile:" || f[0] == "VmRSS:") {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				if f[0] == "RssFile:" {
					file = n
				} else {
					total = n
				}
			}
		}
		return file, total
	}
	busyFile, busyTotal := rss()
	time.Sleep(3 * time.Second)
	idleFile, idleTotal := rss()
	t.Logf("init RSS after a command: %d KiB (file %d); idle: %d KiB (file %d)", busyTotal, busyFile, idleTotal, idleFile)
	if idleFile*2 > busyFile {
		t.Errorf("idle init keeps %d KiB of file pages, %d KiB before", idleFile, busyFile)
	}
	if o := sessionRun(t, s, sh("echo again")); o.stdout != "again\n" {
		t.Fatalf("after the trim: %+v", o)
	}
}

// One session's busy threads do not starve another: each session has a
// CPU share of its own, not one per thread.
func TestSessionCPUShare(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps the CPUs busy for seconds")
	}
	a := startSession(t, newSpec(t, workspace(t, nil)))
	b := startSession(t, newSpec(t, workspace(t, nil)))
	if !slices.Contains(a.Enforcement().CgroupLimits, "cpu-share") {
		t.Skipf("no CPU controller here: %v", a.Enforcement().CgroupLimits)
	}
	work := sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done")
	timed := func() time.Duration {
		start := time.Now()
		if o := sessionRun(t, b, work); o.res.ExitCode != 0 {
			t.Fatalf("work: %+v", o)
		}
		return time.Since(start)
	}
	alone := min(timed(), timed())
	// Session a: eight busy processes for a while, each in a session of
	// its own, so that the kernel's autogroups (one per session, where
	// they are on) do not share them out either.
	done := make(chan struct{})
	go func() {
		defer close(done)
		sessionRun(t, a, sh("for i in 1 2 3 4 5 6 7 8; do setsid sh -c 'while :; do :; done' & done; sleep 6"))
	}()
	time.Sleep(500 * time.Millisecond)
	busy := min(timed(), timed())
	<-done
	t.Logf("session b's work: %v alone, %v beside eight busy processes in session a", alone, busy)
	// Shared per thread, b would get a ninth of the CPUs; per session, half
	// of them (two cores here: one each).
	if busy > alone*5/2 {
		t.Errorf("session b slowed from %v to %v by session a's processes", alone, busy)
	}
}
