package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/internal/ptytest"
)

// The approval prompt, driven through a real pseudo-terminal that is the
// controlling terminal of cordon, as a person's would be: yes runs the
// command, anything else refuses it.
func TestApprovalOnATerminal(t *testing.T) {
	ws := workspace(t)
	bin := cordonBinary(t)

	for _, tc := range []struct {
		answer string
		code   int
		ran    bool
	}{{"y", 0, true}, {"n", 126, false}, {"", 126, false}} {
		t.Run("answer "+tc.answer, func(t *testing.T) {
			marker := filepath.Join(ws, "ran-"+tc.answer)
			os.Remove(marker)
			// rm makes the policy ask; the marker shows whether it ran.
			cmd := exec.Command(bin, "exec", "-w", ws, "--", "sh", "-c", "touch "+marker+"; rm -f nothing")
			screen, code := answerPrompt(t, cmd, tc.answer)
			if !strings.Contains(screen, "rm -f nothing") || !strings.Contains(screen, "delete-in-workspace") {
				t.Errorf("the prompt does not show the command and the rule:\n%s", screen)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.ran {
				t.Errorf("ran = %v, want %v", err == nil, tc.ran)
			}
		})
	}
}

// In a session, the owner has no terminal of its own: a command the
// policy asks about is asked at the terminal of cordon session exec. Yes
// runs it in the session; no refuses it; a client without a terminal
// gets no.
func TestSessionApprovalOnTheClientsTerminal(t *testing.T) {
	ws := workspace(t)
	bin := cordonBinary(t)
	rt := t.TempDir()
	os.Chmod(rt, 0o700)
	t.Setenv("XDG_RUNTIME_DIR", rt)
	out, err := exec.Command(bin, "session", "start", "-w", ws, "--no-audit", "--idle", "1m").Output()
	id := strings.TrimSpace(string(out))
	if err != nil || !validSessionID(id) {
		t.Fatalf("start: %v %q", err, out)
	}
	defer exec.Command(bin, "session", "stop", id).Run()

	for _, tc := range []struct {
		answer string
		code   int
		ran    bool
	}{{"y", 0, true}, {"n", 126, false}} {
		t.Run("answer "+tc.answer, func(t *testing.T) {
			marker := filepath.Join(ws, "ran-"+tc.answer)
			// rm makes the policy ask; the marker shows whether it ran.
			cmd := exec.Command(bin, "session", "exec", id, "--", "sh", "-c", "touch "+marker+"; rm -f nothing")
			if _, code := answerPrompt(t, cmd, tc.answer); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.ran {
				t.Errorf("ran = %v, want %v", err == nil, tc.ran)
			}
		})
	}

	// Without a terminal (setsid, no controlling tty): refused, not run.
	marker := filepath.Join(ws, "ran-notty")
	cmd := exec.Command(bin, "session", "exec", id, "--", "sh", "-c", "touch "+marker+"; rm -f nothing")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 126 {
		t.Errorf("without a terminal: %v, want exit 126", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("without a terminal, the command ran")
	}
}

// answerPrompt runs cmd with a new pseudo-terminal as its controlling
// terminal and streams, waits for the approval prompt, answers it, and
// returns what the terminal showed up to the prompt and the exit code.
func answerPrompt(t *testing.T, cmd *exec.Cmd, answer string) (string, int) {
	t.Helper()
	master, slave := ptytest.Open(t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var screen bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(screen.String(), "Run it?") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no prompt; the terminal shows:\n%s", screen.String())
		}
		master.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := master.Read(buf)
		screen.Write(buf[:n])
	}
	master.Write([]byte(answer + "\n"))
	go func() {
		// Keep draining so cordon never blocks on a full terminal.
		for {
			master.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := master.Read(buf); err != nil && !os.IsTimeout(err) {
				return
			}
		}
	}()
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return screen.String(), code
}

// A network question comes while the command runs and writes: the
// command's output is held back while the question is on the terminal,
// so the prompt is not broken up, and none of the output is lost.
func TestNetworkQuestionHoldsOutput(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	ws := workspace(t)
	bin := cordonBinary(t)
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(config, "cordon"), 0o700))
	must(os.WriteFile(filepath.Join(config, "cordon", "policy.yaml"),
		[]byte("version: 1\nnetwork:\n  mode: allowlist\n  ask: [asked.example]\n"), 0o600))

	master, slave := ptytest.Open(t)
	// A tick every 0.1 s: each reaches the terminal on its own (the
	// output checks pass output on after 50 ms without more).
	script := `i=0; while [ $i -lt 30 ]; do echo tick$i; i=$((i+1)); sleep 0.1; done & ` +
		`sleep 0.2; curl -s -m 30 -o /dev/null -w "status%{http_code}\n" http://asked.example/; wait`
	// A script of the workspace, which the policy lets run: the one
	// question is the network's.
	must(os.WriteFile(filepath.Join(ws, "net.sh"), []byte(script+"\n"), 0o644))
	cmd := exec.Command(bin, "exec", "-w", ws, "--no-audit", "--", "sh", "net.sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	must(cmd.Start())
	slave.Close()
	// The terminal is read on a goroutine of its own: a read blocks
	// while the output is held.
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	shown := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(shown(), "this connection needs approval") || !strings.Contains(shown(), "Run it?") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no network question; the terminal shows:\n%s", shown())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The command keeps writing for a while; nothing reaches the
	// terminal while the question waits.
	prompt := len(shown())
	time.Sleep(400 * time.Millisecond)
	if after := shown()[prompt:]; strings.Contains(after, "tick") {
		t.Errorf("the command's output broke into the question:\n%s", shown())
	}
	master.Write([]byte("n\n"))
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the answer did not end the question:\n%s", shown())
	}
	time.Sleep(100 * time.Millisecond)
	if out := shown(); !strings.Contains(out, "status403") || !strings.Contains(out, "tick29") {
		t.Errorf("refused connection or held output missing:\n%s", out)
	}
}
