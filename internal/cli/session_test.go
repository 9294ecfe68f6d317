package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A session from the command line: start prints an id and returns while
// the sandbox stays up; exec runs commands in it with the caller's
// streams and status; stop ends it and leaves nothing running.
func TestSessionCLI(t *testing.T) {
	bin := cordonBinary(t)
	ws := workspace(t)
	// Sockets go to a runtime directory of the test's own.
	rt := t.TempDir()
	os.Chmod(rt, 0o700)
	t.Setenv("XDG_RUNTIME_DIR", rt)
	cordon := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	code, out, errs := cordon("", "session", "start", "-w", ws, "--no-audit", "--idle", "1m")
	id := strings.TrimSpace(out)
	if code != 0 || !validSessionID(id) {
		t.Fatalf("start: exit %d, %q %q", code, out, errs)
	}
	defer cordon("", "session", "stop", id)

	if code, out, _ := cordon("", "session", "exec", id, "--", "sh", "-c", "echo one > /tmp/n; echo kept > f.txt; sleep 1000.5151 & echo ok"); code != 0 || out != "ok\n" {
		t.Fatalf("first: exit %d, %q", code, out)
	}
	if code, out, _ := cordon("from stdin\n", "session", "exec", id, "--", "sh", "-c", "cat /tmp/n f.txt -; pgrep -x sleep || echo none"); code != 0 || out != "one\nkept\nfrom stdin\nnone\n" {
		t.Fatalf("second: exit %d, %q", code, out)
	}
	if code, _, _ := cordon("", "session", "exec", id, "--", "sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("exit 7: %d", code)
	}
	if code, _, errs := cordon("", "session", "exec", id, "--", "rm", "-rf", "/"); code != ExitDenied || !strings.Contains(errs, "delete-outside-workspace") {
		t.Fatalf("rm -rf /: exit %d, %q", code, errs)
	}
	// The drop-in shell runs in the session named by CORDON_SESSION, from
	// the current directory.
	sub := filepath.Join(ws, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command(bin, "sh", "-c", `cat /tmp/n; pwd; exit 3`)
	sh.Dir, sh.Env = sub, append(os.Environ(), "CORDON_SESSION="+id)
	shOut, err := sh.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || string(shOut) != "one\n"+sub+"\n" {
		t.Fatalf("sh -c in the session: %v %q", err, shOut)
	}
	if code, out, _ := cordon("", "session", "list"); code != 0 || !strings.Contains(out, id) || !strings.Contains(out, ws) {
		t.Fatalf("list: %q", out)
	}
	_, out, _ = cordon("", "session", "list", "--json")
	var list []sessionReply
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("list --json: %q %v", out, err)
	}
	pid := list[0].Pid
	if code, _, errs := cordon("", "session", "stop", id); code != 0 {
		t.Fatalf("stop: %d %q", code, errs)
	}
	// The owner and the sandbox are gone, and the socket with them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session's owner outlived stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sleeperAlive("1000.5151") {
		t.Error("a process of the session outlived it")
	}
	if code, _, errs := cordon("", "session", "exec", id, "--", "true"); code != ExitCordon || !strings.Contains(errs, "not running") {
		t.Fatalf("exec after stop: %d %q", code, errs)
	}
	if socks, _ := filepath.Glob(filepath.Join(rt, "cordon-sessions", "*")); len(socks) != 0 {
		t.Fatalf("left behind: %v", socks)
	}
	if code, _, _ := cordon("", "session", "exec", "nothex", "--", "true"); code != ExitUsage {
		t.Fatalf("bad id: exit %d", code)
	}
}
