package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
