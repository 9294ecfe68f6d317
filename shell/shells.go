package shell

import (
	"strings"
)

// shell analyses sh, bash, zsh and their relatives. With -c the first
// operand is code, analysed as bash; otherwise the first operand is a
// script file; with no operand, or with -s, the script is read from stdin.
func (a *analyzer) shell(sc scope, idx int, args []arg, cs callSite) {
	base := a.res.Commands[idx].Base
	command, stdin := false, false
	var code []arg // from fish's --command and --init-command
	i := 1
options:
	for i < len(args) {
		x := args[i]
		s := x.val
		if x.dyn {
			break
		}
		switch {
		case s == "--" || s == "-":
			i++
			break options
		case strings.HasPrefix(s, "--"):
			i++
			name, val, eq := strings.Cut(s[2:], "=")
			switch name {
			case "command", "init-command":
				if eq {
					code = append(code, arg{val: val, pos: x.pos})
				} else if i < len(args) {
					code = append(code, args[i])
					i++
				}
			case "rcfile", "init-file", "emulate":
				if !eq {
					i++
				}
			}
		case len(s) > 1 && (s[0] == '-' || s[0] == '+'):
			i++
			for k := 1; k < len(s); k++ {
				switch s[k] {
				case 'c':
					command = command || s[0] == '-'
				case 's':
					stdin = stdin || s[0] == '-'
				case 'o', 'O':
					i++ // the option name is the next word
				}
			}
		default:
			break options
		}
	}
	operands := args[min(i, len(args)):]
	for _, c := range code {
		a.inline(sc, idx, "sh -c", c, shellCode, base+" -c")
	}
	switch {
	case len(code) > 0:
	case command:
		if len(operands) == 0 {
			if sc.appended {
				a.dynamic(idx, "%s -c: the code comes from run-time arguments", base)
			}
			return
		}
		a.inline(sc, idx, "sh -c", operands[0], shellCode, base+" -c")
	case len(operands) > 0 && !stdin:
		// A script file, judged by the policy from its name, unless it is
		// a stream.
		if streamPath(operands[0]) {
			a.streamScript(sc, idx, operands[0], cs, shellCode)
		}
	case sc.appended && !stdin:
		a.dynamic(idx, "%s runs a script named by run-time arguments", base)
	default:
		a.stdinScript(sc, idx, cs, shellCode)
	}
}

var suOptions = optionSpec{
	values: "cgGsw",
	long:   []string{"command", "session-command", "group", "supp-group", "shell", "whitelist-environment"},
}

// su runs the code given with -c through the target user's shell;
// without -c that shell reads commands from stdin. Its options may follow
// the user name.
func (a *analyzer) su(sc scope, idx int, args []arg, cs callSite) {
	base := a.res.Commands[idx].Base
	opts, _ := scanAll(args[1:], &suOptions)
	found := false
	for _, o := range opts {
		switch o.name {
		case "c", "command", "session-command":
			if o.hasValue {
				found = true
				a.inline(sc, idx, base+" -c", o.value, shellCode, base+" -c")
			}
		}
	}
	if !found {
		a.stdinScript(sc, idx, cs, shellCode)
	}
}

var runuserOptions = optionSpec{
	values: "cgGsuw",
	long:   []string{"command", "session-command", "group", "supp-group", "shell", "user", "whitelist-environment"},
}

// runuser with -u runs its operands as a command; otherwise it behaves
// like su.
func (a *analyzer) runuser(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &runuserOptions)
	if !has(opts, "u", "user") {
		a.su(sc, idx, args, cs)
		return
	}
	if rest := args[1+n:]; len(rest) > 0 {
		a.call(sc.wrapped("runuser"), rest, callSite{in: cs.in})
	}
}

var scriptOptions = optionSpec{
	values:   "cEIOBTo",
	optional: "t",
	long:     []string{"command", "echo", "log-in", "log-out", "log-io", "log-timing", "logging-format", "output-limit"},
}

// script (util-linux) runs the code given with -c in a shell under a
// pseudo-terminal.
func (a *analyzer) script(sc scope, idx int, args []arg, cs callSite) {
	opts, _ := scanAll(args[1:], &scriptOptions)
	for _, o := range opts {
		if (o.name == "c" || o.name == "command") && o.hasValue {
			a.inline(sc, idx, "script -c", o.value, shellCode, "script -c")
		}
	}
}

// eval joins its arguments with spaces and runs the result as code.
func (a *analyzer) eval(sc scope, idx int, args []arg, cs callSite) {
	rest := args[1:]
	if len(rest) > 0 && rest[0].val == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return
	}
	a.inline(sc, idx, "eval", joinArgs(rest), shellCode, "eval")
}

// source and "." run a file in the current shell. A file is judged by the
// policy from its name; a stream such as <(curl ...) or /dev/stdin is code
// that is only known at run time.
func (a *analyzer) source(sc scope, idx int, args []arg, cs callSite) {
	rest := args[1:]
	if len(rest) > 0 && rest[0].val == "--" {
		rest = rest[1:]
	}
	if len(rest) > 0 && streamPath(rest[0]) {
		a.streamScript(sc, idx, rest[0], cs, shellCode)
	}
}

// trap stores code to run when a signal arrives or the shell exits.
func (a *analyzer) trap(sc scope, idx int, args []arg, cs callSite) {
	rest := args[1:]
	if len(rest) > 0 {
		switch rest[0].val {
		case "-p", "-l", "-P":
			return
		case "--":
			rest = rest[1:]
		}
	}
	// With a single operand, or "-", or a signal number first, trap resets
	// signals instead of setting code.
	if len(rest) < 2 {
		return
	}
	code := rest[0]
	if !code.dyn && (code.val == "-" || code.val == "" || digits(code.val)) {
		return
	}
	a.inline(sc, idx, "trap", code, shellCode, "trap")
}

// alias stores code that replaces a word later. Aliases are not expanded
// in scripts unless expand_aliases is set, but the code is analysed
// anyway.
func (a *analyzer) alias(sc scope, idx int, args []arg, cs callSite) {
	for _, x := range args[1:] {
		name, val, ok := strings.Cut(x.val, "=")
		if !ok {
			continue
		}
		a.inline(sc, idx, "alias", arg{val: val, pos: x.pos, dyn: x.dyn}, shellCode, "alias "+name)
	}
}

// digits reports whether s is a non-empty string of decimal digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
