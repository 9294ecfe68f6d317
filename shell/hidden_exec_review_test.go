package shell

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Texts where bash runs a command (here: touch of a marker file in a
// temporary directory) that the analysis does not report. Each script is
// harmless: at worst it creates the marker in its own directory. An
// analysis that calls the text dynamic (so that a policy asks) passes.
func TestReviewHiddenExecAgainstBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	cases := []struct{ name, src string }{
		// PS4 is prompt-expanded before each traced command.
		{"PS4-xtrace", "PS4='$(touch marker)'\nset -x\ntrue"},
		// test -v expands the subscript of a static word, command
		// substitutions included.
		{"test-v-subscript", "test -v 'a[$(touch marker)]'"},
		{"bracket-v-subscript", "[ -v 'a[$(touch marker)]' ]"},
		{"unset-subscript", "unset 'a[$(touch marker)]'"},
		{"printf-v-subscript", "printf -v 'a[$(touch marker)]' x"},
		{"read-subscript", "read 'a[$(touch marker)]' <<< x"},
		{"export-subscript", "export 'a[$(touch marker)]'"},
		{"declare-subscript", "declare 'a[$(touch marker)]=1'"},
		{"let-subscript", "let 'a[$(touch marker)]=1'"},
		{"wait-p-subscript", "sleep 0 & wait -n -p 'a[$(touch marker)]'"},
		{"mapfile-subscript", "mapfile -t 'a[$(touch marker)]' <<< x"},
		{"getopts-subscript", "getopts a 'a[$(touch marker)]' -a"},
		{"shift-arith", "shift 'a[$(touch marker)]'"},
		{"printf-d", "printf '%d' 'a[$(touch marker)]'"},
		{"dbracket-v-quoted", "[[ -v 'a[$(touch marker)]' ]]"},
		// The same through command and builtin, which run the builtin.
		{"command-read-subscript", "command read 'a[$(touch marker)]' <<< x"},
		{"builtin-printf-v-subscript", "builtin printf -v 'a[$(touch marker)]' x"},
		{"local-in-func", "f() { local 'a[$(touch marker)]'; }\nf"},
		// Arithmetic evaluates a variable's value as an expression, and an
		// array subscript in it expands command substitutions.
		{"arith-cmd", "X='a[$(touch marker)]'\n(( X ))"},
		{"arith-dbracket-eq", "X='a[$(touch marker)]'\n[[ X -eq 1 ]]"},
		{"arith-let", "X='a[$(touch marker)]'\nlet X"},
		{"arith-exp", "X='a[$(touch marker)]'\n: $((X))"},
		{"arith-subscript", "X='a[$(touch marker)]'\n: ${b[X]}"},
		{"arith-substring", "X='a[$(touch marker)]'\n: ${HOME:X}"},
		// BASH_CMDS[name]=path binds name to a program, as hash -p does.
		{"BASH_CMDS", "BASH_CMDS[ls]=/usr/bin/touch\nls marker"},
		// set -k: NAME=value words become the command's environment.
		{"set-k-BASH_ENV", "printf 'touch marker\\n' >env.sh\nset -k\nbash -c : BASH_ENV=./env.sh"},
		// An integer variable evaluates every value assigned to it as
		// arithmetic; the subscript's command substitution runs.
		{"declare-i-then-assign", "declare -i x\nx='a[$(touch marker)]'"},
		{"declare-i-name-value", "x='a[$(touch marker)]'\ndeclare -i y=x"},
		// mapfile's -C callback is code, run every -c lines.
		{"mapfile-C", "mapfile -C 'touch marker' -c 1 a <<< x"},
		{"readarray-C", "readarray -C 'touch marker' -c 1 a <<< x"},
		// A compound assignment's subscript is arithmetic.
		{"compound-subscript", "x='a[$(touch marker)]'\nb=([x]=1)"},
		// [[ -v ]] of a variable whose value holds a subscript.
		{"dbracket-v-var", "x='a[$(touch marker)]'\n[[ -v $x ]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			an, err := Analyze(c.src)
			if err != nil {
				t.Skipf("does not parse: %v", err)
			}
			// The case first: bash runs touch.
			dir := t.TempDir()
			x := exec.Command(bash, "--norc", "--noprofile", "-c", c.src)
			x.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
			x.Dir = dir
			_ = x.Run()
			if _, err := os.Stat(filepath.Join(dir, "marker")); err != nil {
				t.Skipf("this bash does not run touch here; the case proves nothing:\n%s", c.src)
			}
			// Then the analysis: it reports touch, or calls the text
			// dynamic (so that a policy asks).
			for _, cmd := range an.Commands {
				if cmd.Name == "touch" {
					return
				}
			}
			if !an.Dynamic {
				for _, cmd := range an.Commands {
					t.Logf("analysis: %s %q dynamic=%v code=%s", cmd.Name, cmd.Args, cmd.Dynamic, cmd.CodeExec)
				}
				t.Errorf("bash ran touch, which the analysis does not report:\n%s", c.src)
			}
		})
	}
}
