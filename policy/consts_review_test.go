package policy

import "testing"

// Texts that bash runs as something the default policy denies, while the
// analysis (resolving variables it believes certain, or missing a shell
// feature) judges a harmless-looking command. Each must not be allowed,
// and where the hidden command is denied outright, must not be merely
// asked either with the hidden command left unseen.
func TestReviewHiddenCommands(t *testing.T) {
	p := Default()
	req := Request{Workspace: "/home/dev/app", Home: "/home/dev"}
	cases := []struct {
		name, cmd string
		// what bash really runs, which the default policy denies
		real string
	}{
		// The here-document's substitution runs when cat runs, before X
		// is assigned: bash removes /home/dev, the analysis sees
		// rm -rf build/dev (inside the workspace).
		{"heredoc-order", "cat <<EOF; X=build\n$(rm -rf $X/home/dev)\nEOF", "rm -rf /home/dev"},
		// for IFS in x changes word splitting: bash runs rm -rf build /home/dev.
		{"for-IFS", "for IFS in x; do :; done\nX=buildx/home/dev\nrm -rf $X", "rm -rf /home/dev"},
		// ${!r:=/} assigns X through r.
		{"indirect-default", "X=\nr=X\n: ${!r:=/home/dev}\nrm -rf \"$X\"", "rm -rf /home/dev"},
		// test -v evaluates the subscript as arithmetic, which assigns IFS.
		{"test-v-IFS", "test -v 'a[IFS=5]'\nX=build5/home/dev\nrm -rf $X", "rm -rf /home/dev"},
		// PS4 is expanded, command substitutions included, before each
		// command traced under set -x.
		{"PS4-xtrace", "PS4='$(rm -rf ~)'\nset -x\ntrue", "rm -rf ~"},
		// Bash expands the array subscript of a static name, command substitutions included.
		{"subscript-test-v", "test -v 'a[$(rm -rf ~)]'", "rm -rf ~"},
		{"subscript-bracket-v", "[ -v 'a[$(rm -rf ~)]' ]", "rm -rf ~"},
		{"subscript-dbracket-v", "[[ -v 'a[$(rm -rf ~)]' ]]", "rm -rf ~"},
		{"subscript-printf-v", "printf -v 'a[$(rm -rf ~)]' x", "rm -rf ~"},
		{"subscript-read", "read 'a[$(rm -rf ~)]' <<< x", "rm -rf ~"},
		{"subscript-declare", "declare 'a[$(rm -rf ~)]=1'", "rm -rf ~"},
		{"subscript-let", "let 'a[$(rm -rf ~)]=1'", "rm -rf ~"},
		{"subscript-wait-p", "wait -n -p 'a[$(rm -rf ~)]'", "rm -rf ~"},
		// ~ expands to the HOME the text set, not the caller's.
		{"HOME-tilde", "HOME=/etc\ncat ~/shadow", "cat /etc/shadow"},
		{"HOME-for-tilde", "for HOME in /etc; do cat ~/shadow; done", "cat /etc/shadow"},
		{"HOME-cd", "HOME=/home\ncd\nrm -rf dev", "rm -rf /home/dev"},
		// Arithmetic evaluates the value of X as an expression; its array
		// subscript expands command substitutions.
		{"arith-cmd", "X='a[$(rm -rf ~)]'\n(( X ))", "rm -rf ~"},
		{"arith-dbracket", "X='a[$(rm -rf ~)]'\n[[ X -eq 1 ]]", "rm -rf ~"},
		{"arith-let", "X='a[$(rm -rf ~)]'\nlet X", "rm -rf ~"},
		// BASH_CMDS is bash's table of command paths (hash -p): an
		// assignment to it binds a name to any program.
		{"BASH_CMDS", "BASH_CMDS[ls]=/bin/rm\nls -rf /home/dev", "rm -rf /home/dev"},
		// set -k turns every NAME=value word into an environment
		// assignment of the command.
		{"set-k", "set -k\ngit diff GIT_EXTERNAL_DIFF=./x.sh", "GIT_EXTERNAL_DIFF=./x.sh git diff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			real := p.Decide(Request{Command: c.real, Workspace: req.Workspace, Home: req.Home})
			d := p.Decide(Request{Command: c.cmd, Workspace: req.Workspace, Home: req.Home})
			t.Logf("real %q: %v (%s); text: %v (%s) dynamic=%v", c.real, real.Verdict, real.Rule, d.Verdict, d.Rule, d.Dynamic)
			for _, cd := range d.Commands {
				t.Logf("  %s %q -> %v %s", cd.Name, cd.Args, cd.Verdict, cd.Rule)
			}
			// Text the analysis cannot see through is asked about (fail
			// closed: unknown is ask, never allow); text it claims to see
			// through must get at least the verdict of what bash runs.
			if d.Verdict < real.Verdict && !(d.Dynamic && d.Verdict >= Ask) {
				t.Errorf("%q judged %v, but bash runs what the policy judges %v (%s)", c.cmd, d.Verdict, real.Verdict, real.Rule)
			}
			if d.Verdict == Allow && real.Verdict > Allow {
				t.Errorf("%q allowed, but bash runs what the policy judges %v (%s)", c.cmd, real.Verdict, real.Rule)
			}
		})
	}
}
