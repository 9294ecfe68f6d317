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
			master, slave := ptytest.Open(t)
			// rm makes the policy ask; the marker shows whether it ran.
			cmd := exec.Command(bin, "exec", "-w", ws, "--", "sh", "-c", "touch "+marker+"; rm -f nothing")
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
					t.Fatalf("no prompt; the terminal shows:\n%s", screen.String())
				}
				master.SetReadDeadline(time.Now().Add(time.Second))
				n, _ := master.Read(buf)
				screen.Write(buf[:n])
			}
			if !strings.Contains(screen.String(), "rm -f nothing") || !strings.Contains(screen.String(), "delete-in-workspace") {
				t.Errorf("the prompt does not show the command and the rule:\n%s", screen.String())
			}
			master.Write([]byte(tc.answer + "\n"))
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
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.ran {
				t.Errorf("ran = %v, want %v", err == nil, tc.ran)
			}
		})
	}
}
