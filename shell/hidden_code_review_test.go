package shell

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// More hidden code bash runs that the analysis neither reports nor calls
// dynamic. Each script is harmless: at worst it creates the marker in its
// own temporary directory. As in TestReviewHiddenExecAgainstBash, an
// analysis that sees touch, records code, or calls the text dynamic
// passes.
func TestReviewHiddenCodeMoreAgainstBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	cases := []struct{ name, src string }{
		// An integer variable evaluates every value assigned to it as
		// arithmetic; the subscript's command substitution runs.
		{"declare-i-then-assign", "declare -i x\nx='a[$(touch marker)]'"},
		{"declare-i-name-value", "x='a[$(touch marker)]'\ndeclare -i y=x"},
		// mapfile's -C callback is code, run every -c lines.
		{"mapfile-C", "mapfile -C 'touch marker' -c 1 a <<< x"},
		{"readarray-C", "readarray -C 'touch marker' -c 1 a <<< x"},
		// A compound assignment's [subscript] of an indexed array is
		// arithmetic.
		{"compound-subscript", "x='a[$(touch marker)]'\nb=([x]=1)"},
		// [[ -v $x ]] expands x, then evaluates the subscript of its value.
		{"dbracket-v-var", "x='a[$(touch marker)]'\n[[ -v $x ]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			an, err := Analyze(c.src)
			if err != nil {
				t.Skipf("does not parse: %v", err)
			}
			for _, cmd := range an.Commands {
				if cmd.Name == "touch" || cmd.CodeExec != "" {
					t.Logf("analysis sees %s (%s): fine", cmd.Name, cmd.CodeExec)
					return
				}
			}
			for _, cmd := range an.Commands {
				t.Logf("analysis: %s %q dynamic=%v", cmd.Name, cmd.Args, cmd.Dynamic)
			}
			dir := t.TempDir()
			x := exec.Command(bash, "--norc", "--noprofile", "-c", c.src)
			x.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
			x.Dir = dir
			_ = x.Run()
			if _, err := os.Stat(filepath.Join(dir, "marker")); err != nil {
				t.Fatalf("bash did not run touch; the case proves nothing:\n%s", c.src)
			}
			if !an.Dynamic {
				t.Errorf("bash ran touch, which the analysis does not report:\n%s", c.src)
			}
		})
	}
}
