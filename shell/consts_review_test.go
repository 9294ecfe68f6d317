package shell

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Scripts where a variable's value at run time differs from the value the
// analysis resolves. Each script holds exactly one printf '[%s]\n' whose
// arguments the analysis may claim are static; when it does, bash must
// print exactly them. The scripts only assign and print.
func TestConstsReviewAgainstBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	cases := []struct{ name, src string }{
		// A here-document body is read after the rest of its line, but
		// its substitutions run when the command that owns it runs:
		// before an assignment written later on the same line.
		{"heredoc-subst-before-assign", "cat <<EOF; X=build\n$(printf '[%s]\\n' \"$X/home\")\nEOF"},
		// A for loop over IFS changes word splitting for the rest of
		// the script; only the loop variable is tainted.
		{"for-IFS", "for IFS in x; do :; done\nX=buildxhome\nprintf '[%s]\\n' $X"},
		// test -v evaluates an array subscript as arithmetic.
		{"test-v-arith", "X=build\ntest -v 'a[X=5]'\nprintf '[%s]\\n' \"$X\""},
		{"bracket-v-arith", "X=build\n[ -v 'a[X=5]' ]\nprintf '[%s]\\n' \"$X\""},
		{"dbracket-v-arith", "X=build\n[[ -v a[X=5] ]]\nprintf '[%s]\\n' \"$X\""},
		// ${!ref:=v} assigns the variable ref names.
		{"indirect-assign-default", "X=\nr=X\n: ${!r:=/}\nprintf '[%s]\\n' \"$X\""},
		// Special variables outside the list.
		{"DIRSTACK", "DIRSTACK=build\nprintf '[%s]\\n' \"$DIRSTACK\""},
		{"SHELLOPTS", "SHELLOPTS=build\nprintf '[%s]\\n' \"$SHELLOPTS\""},
		{"BASHOPTS-like-HISTCMD", "HISTCMD=build\nprintf '[%s]\\n' \"$HISTCMD\""},
		{"COMP_WORDBREAKS", "COMP_WORDBREAKS=build\nprintf '[%s]\\n' \"$COMP_WORDBREAKS\""},
		// Numeric arguments of builtins that may be arithmetic.
		{"shift-arith", "X=build\nshift 'X=0'\nprintf '[%s]\\n' \"$X\""},
		{"printf-d-arith", "X=build\nprintf '%d' 'X=5' >/dev/null\nprintf '[%s]\\n' \"$X\""},
		{"ulimit-arith", "X=build\nulimit -n 'X=5' 2>/dev/null\nprintf '[%s]\\n' \"$X\""},
		{"kill-l-arith", "X=build\nkill -l 'X=5' >/dev/null 2>&1\nprintf '[%s]\\n' \"$X\""},
		{"return-arith", "X=build\nf() { return 'X=5'; }\nf\nprintf '[%s]\\n' \"$X\""},
		{"exit-arith-subshell", "X=build\n(exit 'X=5')\nprintf '[%s]\\n' \"$X\""},
		// printf through the builtin dispatcher of command with -p.
		{"command-p-printf-v", "X=build\ncommand -p printf -v X /\nprintf '[%s]\\n' \"$X\""},
		// set -k: X=/ is no argument but the command's environment.
		{"set-k", "set -k\nX=build\nprintf '[%s]\\n' \"$X\" X=/"},
		{"posix-special-builtin", "POSIXLY_CORRECT=1\nY=b\nX=/ :\nprintf '[%s]\\n' \"$Y\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			an, err := AnalyzeEnv(c.src, env)
			if err != nil {
				t.Skipf("does not parse: %v", err)
			}
			var pf *Command
			for i := range an.Commands {
				if an.Commands[i].Name == "printf" && len(an.Commands[i].Args) > 0 && an.Commands[i].Args[0] == "[%s]\\n" {
					pf = &an.Commands[i]
				}
			}
			if pf == nil || len(pf.DynamicArgs) > 0 {
				t.Logf("analysis does not resolve the printf: fine")
				return
			}
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", c.src)
			cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
			cmd.Dir = t.TempDir()
			out, _ := cmd.Output()
			var want strings.Builder
			for _, a := range pf.Args[1:] {
				want.WriteString("[" + a + "]\n")
			}
			if string(out) != want.String() {
				t.Errorf("script:\n%s\nanalysis: %q\nbash printed: %q", c.src, pf.Args[1:], out)
			} else {
				t.Logf("agrees: %q", out)
			}
		})
	}
}
