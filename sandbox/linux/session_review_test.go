package linux_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
)

// A process kept by one command (KeepBackground) reopens the stdout pipe
// of a later command that does not keep anything, through /proc/PID/fd/1.
// The later command ends and the init kills what it started, but the
// host's end of its output pipe never reads EOF: Run must still return.
func TestReviewSessionKeptHoldsLaterOutput(t *testing.T) {
	ws := workspace(t, nil)
	s := startSession(t, newSpec(t, ws))
	// The kept process waits for a PID in /tmp/pid, then holds that
	// process's stdout open.
	keeper := `( while :; do if [ -s /tmp/pid ]; then p=$(cat /tmp/pid); rm -f /tmp/pid; exec 7>/proc/$p/fd/1; echo held > /tmp/held; fi; sleep 0.01; done ) >/dev/null 2>&1 </dev/null & echo started`
	o := sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", keeper}, KeepBackground: true})
	if o.res.ExitCode != 0 || !strings.Contains(o.stdout, "started") {
		t.Fatalf("keep: exit %d\n%s", o.res.ExitCode, o.tail())
	}
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		c := sandbox.Command{Args: []string{"/bin/sh", "-c", `echo $$ > /tmp/pid; while [ ! -e /tmp/held ]; do sleep 0.01; done; echo later`},
			Stdout: &out, Timeout: 5 * time.Second}
		_, err := s.Run(context.Background(), &c)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("later command: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Run of a command without KeepBackground never returned: a kept process holds its output pipe (output so far %q); the session is wedged", out.String())
	}
}

// The same through stdin: a kept process reopens a later command's stdin,
// which is the caller's own descriptor, and keeps reading it after that
// command ended.
func TestReviewSessionKeptReadsLaterStdin(t *testing.T) {
	ws := workspace(t, nil)
	s := startSession(t, newSpec(t, ws))
	keeper := `( while :; do if [ -s /tmp/pid ]; then p=$(cat /tmp/pid); rm -f /tmp/pid; exec 7</proc/$p/fd/0; echo held > /tmp/held; cat <&7 > /tmp/stolen; fi; sleep 0.01; done ) >/dev/null 2>&1 </dev/null & echo started`
	o := sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", keeper}, KeepBackground: true})
	if o.res.ExitCode != 0 {
		t.Fatalf("keep: exit %d\n%s", o.res.ExitCode, o.tail())
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	o = sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", `echo $$ > /tmp/pid; while [ ! -e /tmp/held ]; do sleep 0.01; done; echo later`},
		Stdin: pr, Timeout: 5 * time.Second})
	if o.res.ExitCode != 0 {
		t.Fatalf("later: exit %d\n%s", o.res.ExitCode, o.tail())
	}
	// The command is over; what the caller writes on its stdin now is
	// no longer the command's.
	pw.Write([]byte("typed after the command ended\n"))
	pw.Close()
	time.Sleep(300 * time.Millisecond)
	o = sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", "cat /tmp/stolen 2>/dev/null"}})
	if strings.Contains(o.stdout, "typed after") {
		t.Errorf("a kept process read the caller's stdin after the later command ended: %q", o.stdout)
	}
}

// Every signal number, real-time ones included, sent to the init: none may
// end the session.
func TestReviewSessionAllSignalsToInit(t *testing.T) {
	s := startSession(t, newSpec(t, workspace(t, nil)))
	o := sessionRun(t, s, sh("n=1; while [ $n -le 64 ]; do kill -s $n 1 2>/dev/null; n=$((n+1)); done; echo sent"))
	if o.stdout != "sent\n" {
		t.Fatalf("%s", o.tail())
	}
	time.Sleep(100 * time.Millisecond)
	if o := sessionRun(t, s, sh("echo alive")); o.stdout != "alive\n" {
		t.Errorf("the session did not survive signals to its init: %s", o.tail())
	}
}

// What the init ignores to stay alive, the commands it starts mostly do
// not: the runtime gives them back the default for every signal it
// handles, which leaves 32 (libc's own, reset by libc) and 34 ignored.
func TestSessionCommandSignalDefaults(t *testing.T) {
	s := startSession(t, newSpec(t, workspace(t, nil)))
	o := sessionRun(t, s, sandbox.Command{Args: []string{"/bin/cat", "/proc/self/status"}})
	for _, line := range strings.Split(o.stdout, "\n") {
		if strings.HasPrefix(line, "SigIgn:") {
			// Bits 31 and 33: signals 32 and 34.
			if f := strings.Fields(line); len(f) != 2 || f[1] != "0000000280000000" {
				t.Errorf("a session command ignores signals: %s", line)
			}
			return
		}
	}
	t.Fatalf("no SigIgn in %q", o.stdout)
}
