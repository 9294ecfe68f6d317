package shell

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Where the analysis resolves a variable, bash gives the same word: the
// generated scripts assign and use variables in many ways and end with a
// printf of the words; whenever the analysis claims that printf's
// arguments are static, bash must print exactly them. The scripts only
// assign variables and print (a few read from a here-string or loop), so
// running them is harmless; they run with an empty environment but HOME.
func TestConstsAgainstBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	values := []string{`1`, `abc`, `'a b'`, `"a b"`, `''`, `x\ y`, `'*'`, `a*`, `"$HOME"`, `$(printf z)`,
		`'-n'`, `"a'b"`, `'q"q'`, `/tmp/x`, `~/x`, `'~/x'`, `${HOME}/y`, `{a,b}`, `'{a,b}'`, `%s`}
	names := []string{"X", "Y", "HOME", "RANDOM", "_"}
	assign := func(r *rand.Rand) string { return pick(r, names) + "=" + pick(r, values) }
	stmts := []func(r *rand.Rand) string{
		assign, assign, assign, assign, assign, assign, assign, assign,
		func(r *rand.Rand) string { return pick(r, names) + "=" + pick(r, values) + " true" },
		func(r *rand.Rand) string { return "f() { " + pick(r, names) + "=" + pick(r, values) + "; }" },
		func(r *rand.Rand) string { return "f" },
		func(r *rand.Rand) string { return "read " + pick(r, names) + " <<< v" },
		func(r *rand.Rand) string { return "for " + pick(r, names) + " in a b; do :; done" },
		func(r *rand.Rand) string { return "eval '" + pick(r, names) + "=e'" },
		func(r *rand.Rand) string { return "unset " + pick(r, names) },
		func(r *rand.Rand) string { return "( " + pick(r, names) + "=s )" },
		func(r *rand.Rand) string { return pick(r, names) + "=" + pick(r, values) + " && :" },
		func(r *rand.Rand) string { return ": ${" + pick(r, names) + ":=d}" },
		func(r *rand.Rand) string { return "cd /" },
	}
	uses := []string{`$X`, `"$X"`, `${Y}`, `"${Y}"`, `$HOME`, `"$HOME/z"`, `a$X`, `"$X$Y"`, `'$X'`, `$RANDOM`, `$_`}
	r := rand.New(rand.NewPCG(1, 2))
	checked, fromVars := 0, 0
	for range 8000 {
		var lines []string
		for range 1 + r.IntN(4) {
			lines = append(lines, stmts[r.IntN(len(stmts))](r))
		}
		var words []string
		for range 1 + r.IntN(3) {
			words = append(words, pick(r, uses))
		}
		lines = append(lines, `printf '[%s]\n' `+strings.Join(words, " "))
		src := strings.Join(lines, "\n")
		an, err := AnalyzeEnv(src, env)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		last := an.Commands[len(an.Commands)-1]
		if last.Name != "printf" || len(last.DynamicArgs) > 0 || slices.ContainsFunc(last.Args[1:], func(a string) bool {
			return strings.ContainsAny(a, "*?[") // a glob: bash would list files
		}) {
			continue
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", src)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil {
			continue // the script failed (unset f, say): nothing to compare
		}
		var want strings.Builder
		for _, a := range last.Args[1:] {
			want.WriteString("[" + a + "]\n")
		}
		if string(out) != want.String() {
			t.Errorf("script:\n%s\nanalysis: %q\nbash printed: %q", src, last.Args[1:], out)
		}
		checked++
		if slices.ContainsFunc(words, func(w string) bool { return w != `'$X'` }) {
			fromVars++
		}
	}
	t.Logf("%d scripts whose printf the analysis resolved, %d of them through variables, checked against bash", checked, fromVars)
	if fromVars < 250 {
		t.Fatalf("only %d scripts resolved through variables: the generator no longer exercises the analysis", fromVars)
	}
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// The same for loop variables: a loop whose body prints its variable;
// whenever the analysis resolves every printf of the body, bash must
// print exactly their arguments, in order.
func TestLoopsAgainstBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	items := []string{`1`, `abc`, `'a b'`, `"a b"`, `''`, `x\ y`, `'*'`, `"$HOME"`, `$(printf z)`, `'-n'`,
		`{a,b}`, `{1..3}`, `'{a,b}'`, `~/x`, `"$Y"`, `$Y`, `%s`}
	pre := []string{"", "Y=1\n", "Y='p q'\n", "X=0\n", "read X <<< v\n", "f() { X=f; }\n", ": ${X:=d}\n"}
	body := []string{"", "X=b; ", "f; ", "for X in c; do :; done; ", "unset X; "}
	uses := []string{`"$X"`, `$X`, `"[$X]"`, `"$X$X"`, `"${X}y"`, `'$X'`}
	r := rand.New(rand.NewPCG(3, 4))
	checked := 0
	for range 7000 {
		var list []string
		for range 1 + r.IntN(3) {
			list = append(list, pick(r, items))
		}
		var words []string
		for range 1 + r.IntN(2) {
			words = append(words, pick(r, uses))
		}
		src := pick(r, pre) + "for X in " + strings.Join(list, " ") + "; do " + pick(r, body) +
			`printf '[%s]\n' ` + strings.Join(words, " ") + "; done"
		an, err := AnalyzeEnv(src, env)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		var want strings.Builder
		resolved := true
		for _, c := range an.Commands {
			if c.Name != "printf" {
				continue
			}
			if c.Dynamic || slices.ContainsFunc(c.Args[1:], func(a string) bool { return strings.ContainsAny(a, "*?[") }) {
				resolved = false
				break
			}
			for _, a := range c.Args[1:] {
				want.WriteString("[" + a + "]\n")
			}
		}
		// A body printed once stands for every turn of the loop only
		// when the analysis followed the variable: some word must use it.
		if !resolved || !slices.ContainsFunc(words, func(w string) bool { return w != `'$X'` }) {
			continue
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", src)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil {
			continue
		}
		if string(out) != want.String() {
			t.Errorf("script:\n%s\nanalysis: %q\nbash printed: %q", src, want.String(), out)
		}
		checked++
	}
	t.Logf("%d loops the analysis resolved, checked against bash", checked)
	if checked < 250 {
		t.Fatalf("only %d loops resolved: the generator no longer exercises the analysis", checked)
	}
}
