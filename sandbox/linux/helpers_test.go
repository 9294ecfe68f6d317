package linux_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

// The escape suite runs internal/attack, a static binary that makes one
// real attempt per invocation, inside the sandbox, and then looks from the
// outside at what the attempt would have changed. Everything the sandbox
// must see lives under baseDir, outside /tmp: the sandbox's /tmp is its own.
var (
	baseDir   string // world-traversable scratch directory of this run
	attackBin string // the attack binary, visible inside the sandbox
)

func TestMain(m *testing.M) {
	// The sandbox re-executes this test binary as its init; Init takes over
	// then and never returns.
	linux.Init()
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h, os.Getenv(helperArgEnv)))
	}
	os.Exit(testMain(m))
}

// Some outside checks need a process of their own on the host (in a
// namespace the test process must not enter itself); the test binary is
// re-executed with these variables set to be it.
const (
	helperEnv    = "CORDON_ESCAPE_TEST_HELPER"
	helperArgEnv = "CORDON_ESCAPE_TEST_HELPER_ARG"
)

// runHelper is the helper process: "unix-listen" listens on the unix socket
// at arg, says "ready", then "conn" for each connection; "session-owner"
// is sessionOwner.
func runHelper(name, arg string) int {
	if name == "session-owner" {
		return sessionOwner(arg)
	}
	if name != "unix-listen" {
		fmt.Fprintln(os.Stderr, "unknown helper", name)
		return 2
	}
	ln, err := net.Listen("unix", arg)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		fmt.Println("conn")
		c.Close()
	}
}

func testMain(m *testing.M) int {
	var err error
	baseDir, err = makeBaseDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "escape tests:", err)
		return 1
	}
	defer removeAll(baseDir)
	attackBin = os.Getenv("CORDON_ATTACK_BIN")
	if attackBin == "" {
		attackBin = filepath.Join(baseDir, "attack")
		if err := buildAttack(attackBin); err != nil {
			fmt.Fprintln(os.Stderr, "escape tests: build the attack binary:", err)
			return 1
		}
	} else if attackBin, err = filepath.Abs(attackBin); err != nil {
		fmt.Fprintln(os.Stderr, "escape tests:", err)
		return 1
	}
	return m.Run()
}

// makeBaseDir creates the run's scratch directory below $CORDON_TEST_DIR
// or /var/tmp. It must not be below /tmp, which the sandbox replaces, and
// must be traversable by the sandboxed uid.
func makeBaseDir() (string, error) {
	parent := os.Getenv("CORDON_TEST_DIR")
	if parent == "" {
		parent = "/var/tmp"
	}
	parent, err := filepath.Abs(parent)
	if err != nil {
		return "", err
	}
	if parent == "/tmp" || strings.HasPrefix(parent, "/tmp/") {
		return "", fmt.Errorf("CORDON_TEST_DIR %s is below /tmp, which the sandbox does not show; use a directory such as /var/tmp", parent)
	}
	dir, err := os.MkdirTemp(parent, "cordon-test-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	// EvalSymlinks: the sandbox resolves paths, and outside checks compare
	// them.
	return filepath.EvalSymlinks(dir)
}

// removeAll removes a scratch tree, including the parts an attack or a
// protected-path placeholder left read-only.
func removeAll(dir string) {
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

func buildAttack(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no go command to build it with (set CORDON_ATTACK_BIN to a prebuilt one): %w", err)
	}
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/cordon-sh/cordon/internal/attack")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v\n%s", err, b)
	}
	return os.Chmod(out, 0o755)
}

// scratch makes a fresh directory below baseDir.
func scratch(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp(baseDir, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gitLayout is the part of a repository whose protection the tests check:
// hooks run code, the config can name programs (core.fsmonitor, …).
var gitLayout = map[string]string{
	".git/hooks/pre-commit.sample": "#!/bin/sh\nexit 0\n",
	".git/config":                  "[core]\n\trepositoryformatversion = 0\n",
	".git/HEAD":                    "ref: refs/heads/main\n",
	"main.go":                      "package main\n",
}

// workspace makes a fresh workspace holding files (path → content; a path
// ending in "/" is a directory).
func workspace(t *testing.T, files map[string]string) string {
	t.Helper()
	ws := scratch(t, "ws")
	for p, content := range files {
		full := filepath.Join(ws, p)
		if strings.HasSuffix(p, "/") {
			mustMkdir(t, full)
			continue
		}
		mustMkdir(t, filepath.Dir(full))
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// newSpec builds the Spec cordon would use for args in ws. NewSpec reads
// HOME and the environment now, so a test changes them before calling it.
func newSpec(t *testing.T, ws string, args ...string) *sandbox.Spec {
	t.Helper()
	spec, err := sandbox.NewSpec(ws, args)
	if err != nil {
		t.Fatal(err)
	}
	// Generous defaults that still end a hung test.
	spec.Limits.Timeout = time.Minute
	return spec
}

// outcome is what a sandboxed run gave.
type outcome struct {
	args           []string
	res            *sandbox.Result
	stdout, stderr string
}

// runSpec runs spec, failing the test if the sandbox could not run it, and
// checks afterwards that no process the run started is still alive.
func runSpec(t *testing.T, spec *sandbox.Spec) outcome {
	t.Helper()
	o, err := tryRun(t, spec)
	if err != nil {
		t.Fatalf("run %q: %v", spec.Args, err)
	}
	return o
}

// tryRun is runSpec for a run that may fail to start; it skips the test
// when this host cannot build a sandbox at all.
func tryRun(t *testing.T, spec *sandbox.Spec) (outcome, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if spec.Stdout == nil {
		spec.Stdout = &stdout
	}
	if spec.Stderr == nil {
		spec.Stderr = &stderr
	}
	res, err := linux.Backend{}.Run(context.Background(), spec)
	var req *sandbox.RequireError
	if errors.As(err, &req) && req.Protection == sandbox.ProtectUserNS {
		t.Skipf("this host cannot build a sandbox: %v", err)
	}
	expectNoSurvivors(t)
	o := outcome{args: spec.Args, res: res, stdout: stdout.String(), stderr: stderr.String()}
	if err == nil && testing.Verbose() {
		t.Logf("%s → reason %s, exit %d, %s\n%s", strings.Join(spec.Args, " "), res.Reason, res.ExitCode,
			res.Duration.Round(time.Millisecond), o.tail())
	}
	return o, err
}

// attack runs the attack binary with args in ws, with tweak applied to the
// default Spec first (nil for none).
func attack(t *testing.T, ws string, tweak func(*sandbox.Spec), args ...string) outcome {
	t.Helper()
	spec := newSpec(t, ws, append([]string{attackBin}, args...)...)
	if tweak != nil {
		tweak(spec)
	}
	return runSpec(t, spec)
}

// verdict finds the attack's verdict line: the last line of stdout that
// starts with a verdict word.
func (o outcome) verdict() (word, detail string) {
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		w, d, _ := strings.Cut(lines[i], " ")
		switch w {
		case "ESCAPED", "BLOCKED", "ERROR", "STARTED", "OK", "FAIL":
			return w, d
		}
	}
	return "", ""
}

// tail is the end of the run's output, for failure messages.
func (o outcome) tail() string {
	s := o.stdout
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	e := o.stderr
	if len(e) > 2000 {
		e = "…" + e[len(e)-2000:]
	}
	return fmt.Sprintf("stdout: %s\nstderr: %s", strings.TrimSpace(s), strings.TrimSpace(e))
}

// expectBlocked fails the test unless the attack said BLOCKED. An escape is
// reported with its detail: that is the sandbox failing.
func expectBlocked(t *testing.T, o outcome) {
	t.Helper()
	switch w, d := o.verdict(); w {
	case "BLOCKED":
	case "ESCAPED":
		t.Errorf("SANDBOX ESCAPE: %s: %s", strings.Join(o.args[1:], " "), d)
	default:
		t.Errorf("attack %q gave no verdict (reason %s, exit %d)\n%s", o.args[1:], o.res.Reason, o.res.ExitCode, o.tail())
	}
}

// expectVerdict fails the test unless the attack said want.
func expectVerdict(t *testing.T, o outcome, want string) string {
	t.Helper()
	w, d := o.verdict()
	if w != want {
		t.Errorf("%q: want %s, got %q (reason %s, exit %d)\n%s", o.args, want, w+" "+d, o.res.Reason, o.res.ExitCode, o.tail())
	}
	return d
}

// expectNoSurvivors fails the test if any process running the attack binary
// is still alive once a run has returned: the sandbox promises that nothing
// it started outlives it. The kernel kills a PID namespace's processes when
// its init exits; they may take a moment to go.
func expectNoSurvivors(t *testing.T) {
	t.Helper()
	var left []string
	for i := 0; i < 50; i++ {
		left = processesRunning(attackBin)
		if len(left) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("SANDBOX ESCAPE: processes outlived the run: %s", strings.Join(left, "; "))
}

// processesRunning lists the processes whose command line mentions s.
func processesRunning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue // a zombie runs nothing; its parent has yet to reap it
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " "))
	}
	return out
}

// expectFile fails the test unless path holds exactly want.
func expectFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("SANDBOX ESCAPE?: %s should be untouched: %v", path, err)
		return
	}
	if string(b) != want {
		t.Errorf("SANDBOX ESCAPE: %s changed: %q, want %q", path, b, want)
	}
}

// expectAbsent fails the test if path exists (a symlink counts).
func expectAbsent(t *testing.T, path string) {
	t.Helper()
	if st, err := os.Lstat(path); err == nil {
		t.Errorf("SANDBOX ESCAPE: %s was created (%s)", path, st.Mode())
	}
}

// hostProcess starts cmd on the host, outside any sandbox, and stops it at
// the end of the test. alive reports whether it is still running.
type hostProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startHostProcess(t *testing.T, name string, args ...string) *hostProcess {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hostProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *hostProcess) pid() string { return fmt.Sprint(p.cmd.Process.Pid) }

func (p *hostProcess) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}
