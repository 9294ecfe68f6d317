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
