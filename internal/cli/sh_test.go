package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// cordon sh -c behaves like sh -c for its caller, through the pipeline.
func TestShDropIn(t *testing.T) {
	ws := workspace(t)
	t.Setenv("CORDON_WORKSPACE", ws)
	t.Setenv("CORDON_APPROVE", "allow") // the table uses variables, which the policy asks about
	tests := []struct {
		args   []string
		stdin  string
		code   int
		stdout string
	}{
		{[]string{"sh", "-c", "echo hi"}, "", 0, "hi\n"},
		{[]string{"sh", "-c", "exit 7"}, "", 7, ""},
		{[]string{"sh", "-c", `echo "$0 $1 $#"`, "zero", "one", "two"}, "", 0, "zero one 2\n"},
		{[]string{"sh", "-c", `printf '%s|' "a b" 'c"d' "e'f"`}, "", 0, `a b|c"d|e'f|`},
		{[]string{"sh", "-c", "read x; echo got $x"}, "piped\n", 0, "got piped\n"},
		{[]string{"sh", "-c", "cat"}, "all of stdin\n", 0, "all of stdin\n"},
		{[]string{"sh", "-ec", "false; echo not reached"}, "", 1, ""},
		{[]string{"sh", "-lc", "echo login ignored"}, "", 0, "login ignored\n"},
		{[]string{"sh", "-c", "kill -TERM $$"}, "", 143, ""},
		{[]string{"sh", "-c", "cat ~/.ssh/id_rsa"}, "", ExitDenied, ""},
		{[]string{"sh", "-c", "no-such-program-here"}, "", 127, ""},
		{[]string{"sh", "script.sh"}, "", ExitUsage, ""},
		{[]string{"sh", "-c"}, "", ExitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(tt.args, strings.NewReader(tt.stdin), &out, &errb)
			if code != tt.code || out.String() != tt.stdout {
				t.Errorf("exit %d stdout %q, want %d %q; stderr %q", code, out.String(), tt.code, tt.stdout, errb.String())
			}
		})
	}
	if entries, _ := os.ReadDir(ws); len(entries) != 0 {
		t.Errorf("left in the workspace: %d entries", len(entries))
	}
}
