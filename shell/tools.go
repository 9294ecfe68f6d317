package shell

import (
	"regexp"
	"strings"
	"sync"
)

// Build and debugging tools that run commands given in their options or
// operands: what the policy allows as building or testing in the workspace
// must not carry a command of the agent's past it.

// stdinNames are the paths through which a tool reads its stdin as a file.
var stdinNames = map[string]bool{"-": true, "/dev/stdin": true, "/dev/fd/0": true, "/proc/self/fd/0": true}

// longValue matches args[i] against the options names (given without
// dashes; one or two dashes are accepted, as gdb does) and returns its
// value, attached with "=" or the next word, and how many words it took
// (0: not one of them). dashes is 1 for tools that take long options
// after one dash too, 2 for GNU style.
func longValue(args []arg, i int, dashes int, names ...string) (arg, int, bool) {
	x := args[i]
	if x.dyn || !strings.HasPrefix(x.val, "-") {
		return arg{}, 0, false
	}
	s := x.val
	switch {
	case strings.HasPrefix(s, "--"):
		s = s[2:]
	case dashes == 1:
		s = s[1:]
	default:
		return arg{}, 0, false
	}
	name, val, attached := strings.Cut(s, "=")
	for _, n := range names {
		if name != n {
			continue
		}
		if attached {
			return arg{val: val, pos: x.pos}, 1, true
		}
		if i+1 < len(args) {
			return args[i+1], 2, true
		}
		return arg{}, 1, false
	}
	return arg{}, 0, false
}

// shortValue matches args[i] against a short option -c, with its value
// attached ("-cX") or as the next word.
func shortValue(args []arg, i int, letter string) (arg, int, bool) {
	x := args[i]
	if x.dyn || !strings.HasPrefix(x.val, "-"+letter) || strings.HasPrefix(x.val, "--") {
		return arg{}, 0, false
	}
	if v := x.val[1+len(letter):]; v != "" {
		return arg{val: v, pos: x.pos}, 1, true
	}
	if i+1 < len(args) {
		return args[i+1], 2, true
	}
	return arg{}, 1, false
}

// debugger records the commands gdb (-ex, -iex, --eval-command) and lldb
// (-o, -O, -k, --one-line…) are given to run: debugger commands reach a
// shell (gdb's shell, !, pipe, and run, which expands its arguments with
// the shell; lldb's platform shell) and Python, so they are code in
// another language. A script read from stdin is too. A script file of
// the workspace is the workspace's code, as ./build.sh is.
func (a *analyzer) debugger(sc scope, idx int, args []arg, lldb bool) {
	kind := "gdb -ex"
	short, long, files := []string{"ex", "iex"}, []string{"eval-command", "init-eval-command", "ex", "iex"}, []string{"x", "command", "ix", "init-command"}
	if lldb {
		kind = "lldb -o"
		short, long, files = []string{"o", "O", "k"}, []string{"one-line", "one-line-before-file", "one-line-on-crash"}, []string{"s", "S", "K", "source", "source-before-file", "source-on-crash"}
	}
	for i := 1; i < len(args); i++ {
		if a := args[i].val; !args[i].dyn && (a == "--args" || a == "-args" || a == "--" && lldb) {
			break // the rest is the program's command line
		}
		var v arg
		var n int
		var ok bool
		if lldb {
			for _, l := range short {
				if v, n, ok = shortValue(args, i, l); n > 0 {
					break
				}
			}
			if n == 0 {
				v, n, ok = longValue(args, i, 2, long...)
			}
		} else {
			v, n, ok = longValue(args, i, 1, append(short, long...)...)
		}
		if n > 0 {
			if ok {
				a.inline(sc, idx, kind, v, otherCode, "")
			}
			i += n - 1
			continue
		}
		if v, n, ok = longValue(args, i, 1, files...); n == 0 && lldb {
			for _, l := range []string{"s", "S", "K"} {
				if v, n, ok = shortValue(args, i, l); n > 0 {
					break
				}
			}
		}
		if n > 0 {
			if ok && (v.dyn || stdinNames[v.val]) {
				a.inline(sc, idx, kind, v, otherCode, "")
			}
			i += n - 1
		}
	}
}

// makeMeta is what makes a variable given to make on its command line
// more than a value: a recipe that expands it would run it.
const makeMeta = ";|&`<>$\n"

// makeTool records make's --eval (makefile text), a makefile read from
// stdin, and NAME=value operands whose value holds shell syntax: a recipe
// that expands $(NAME) runs it, so "make CC='curl … | sh'" is a command of
// the agent's, not of the workspace.
func (a *analyzer) makeTool(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		if v, n, ok := longValue(args, i, 2, "eval"); n > 0 {
			if ok {
				a.inline(sc, idx, "make --eval", v, otherCode, "")
			}
			i += n - 1
			continue
		}
		if v, n, ok := shortValue(args, i, "E"); n > 0 {
			if ok {
				a.inline(sc, idx, "make --eval", v, otherCode, "")
			}
			i += n - 1
			continue
		}
		v, n, ok := longValue(args, i, 2, "file", "makefile")
		if n == 0 {
			v, n, ok = shortValue(args, i, "f")
		}
		if n > 0 {
			if ok && (v.dyn || stdinNames[v.val]) {
				a.inline(sc, idx, "make --eval", v, otherCode, "")
			}
			i += n - 1
			continue
		}
		if name, val, isAssign := strings.Cut(x.val, "="); isAssign && !strings.HasPrefix(x.val, "-") && varName().MatchString(strings.TrimSuffix(strings.TrimSuffix(name, ":"), "+")) {
			if x.dyn || strings.ContainsAny(val, makeMeta) {
				a.inline(sc, idx, "make --eval", arg{val: x.val, pos: x.pos, dyn: x.dyn}, otherCode, "")
			}
		}
	}
}

// straceOutput records strace -o '|cmd' (or '!cmd'): strace pipes its
// output to the command, through the shell.
func (a *analyzer) straceOutput(sc scope, idx int, args []arg) {
	opts, _ := scanAll(args[1:], &straceWrapper.options)
	for _, o := range opts {
		if (o.name == "o" || o.name == "output") && o.hasValue && !o.value.dyn &&
			(strings.HasPrefix(o.value.val, "|") || strings.HasPrefix(o.value.val, "!")) {
			a.inline(sc, idx, "strace -o", arg{val: o.value.val[1:], pos: o.value.pos}, shellCode, "strace -o")
		}
	}
}

// sqliteShell finds sqlite3 dot-commands that run a program (.shell,
// .system, and .once, .output, .import or .read of "|cmd"), in
// statements given as operands, to -cmd, or on stdin.
var sqliteShell = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s*\.(sh|she|shel|shell|sy|sys|syst|syste|system)\b|^\s*\.(once|output|import|read|o|on|onc|out|outp|outpu|imp|impo|impor|rea)\s+(-\S+\s+)*['"]?\|`)
})

func (a *analyzer) sqlite(sc scope, idx int, args []arg, cs callSite) {
	check := func(v arg) {
		if v.dyn || sqliteShell().MatchString(v.val) {
			a.inline(sc, idx, "sqlite3 .shell", v, otherCode, "")
		}
	}
	for i := 1; i < len(args); i++ {
		x := args[i]
		if v, n, ok := longValue(args, i, 1, "cmd"); n > 0 {
			if ok {
				check(v)
			}
			i += n - 1
			continue
		}
		if !strings.HasPrefix(x.val, "-") || x.dyn {
			check(x)
		}
	}
	if cs.in != nil && cs.in.file == "" && sqliteShell().MatchString(cs.in.text) {
		a.inline(sc, idx, "sqlite3 .shell", arg{val: cs.in.text, pos: cs.in.pos}, otherCode, "")
	}
}

var hyperfineOptions = optionSpec{
	values: "wmMrpcsSnLPu",
	long: []string{"warmup", "min-runs", "max-runs", "runs", "setup", "prepare", "conclude", "cleanup",
		"parameter-scan", "parameter-step-size", "parameter-list", "shell", "style", "sort",
		"time-unit", "export-asciidoc", "export-csv", "export-json", "export-markdown", "export-orgmode",
		"command-name", "output", "input", "reference"},
}

// hyperfine runs each operand, and its --setup, --prepare, --conclude,
// --cleanup and --reference commands, through a shell (or, with -N,
// split into words without one: the same commands).
func (a *analyzer) hyperfine(sc scope, idx int, args []arg) {
	opts, operands := scanAll(args[1:], &hyperfineOptions)
	for _, o := range opts {
		switch o.name {
		case "s", "setup", "p", "prepare", "conclude", "c", "cleanup", "reference":
			if o.hasValue {
				a.inline(sc, idx, "sh -c", o.value, shellCode, "hyperfine")
			}
		case "S", "shell":
			if o.hasValue && o.value.val != "none" && o.value.val != "" {
				a.dynamic(idx, "hyperfine: commands run through %s", quoteNote(o.value.val))
			}
		case "L", "parameter-list", "P", "parameter-scan":
			// {name} in the commands is replaced at run time.
			a.dynamic(idx, "hyperfine: parameters are filled into the commands at run time")
		}
	}
	for _, x := range operands {
		a.inline(sc, idx, "sh -c", x, shellCode, "hyperfine")
	}
}

// cmakeTool follows cmake -E, whose subcommands are the coreutils of a
// build: those that run a command (env, chdir, time) run it, and those
// that touch files are judged as the tool that does the same.
func (a *analyzer) cmakeTool(sc scope, idx int, args []arg, cs callSite) {
	i := 1
	for i < len(args) && args[i].val != "-E" {
		if args[i].dyn {
			return
		}
		i++
	}
	if i+1 >= len(args) || args[i+1].dyn {
		if i < len(args) {
			a.dynamic(idx, "cmake -E: the tool is not static")
		}
		return
	}
	sub, rest := args[i+1].val, args[i+2:]
	with := func(name string, extra ...string) {
		words := []arg{{val: name, pos: args[i+1].pos}}
		for _, e := range extra {
			words = append(words, arg{val: e, pos: args[i+1].pos})
		}
		a.call(sc.wrapped("cmake -E"), append(words, rest...), callSite{in: cs.in})
	}
	switch sub {
	case "env":
		a.env(sc.with("cmake -E"), idx, append([]arg{{val: "env"}}, rest...), cs)
	case "chdir":
		if len(rest) > 1 {
			// As cd DIR: the policy resolves relative paths against it.
			a.call(sc.wrapped("cmake -E"), []arg{{val: "cd", pos: args[i+1].pos}, rest[0]}, callSite{})
			a.call(sc.wrapped("cmake -E"), rest[1:], callSite{in: cs.in})
		}
	case "time":
		a.call(sc.wrapped("cmake -E"), rest, callSite{in: cs.in})
	case "rm":
		with("rm")
	case "remove":
		with("rm", "-f")
	case "remove_directory":
		with("rm", "-rf")
	case "rename":
		with("mv")
	case "copy", "copy_if_different":
		with("cp")
	case "copy_directory", "copy_directory_if_different":
		with("cp", "-r")
	case "create_symlink":
		with("ln", "-s")
	case "create_hardlink":
		with("ln")
	case "make_directory":
		with("mkdir", "-p")
	case "touch", "touch_nocreate":
		with("touch")
	case "tar":
		with("tar")
	case "cat":
		with("cat")
	case "echo", "echo_append", "capabilities", "environment", "true", "false", "sleep",
		"compare_files", "md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum",
		"server", "delete_regv", "write_regv", "env_vs8_wince", "env_vs9_wince":
	default:
		a.dynamic(idx, "cmake -E %s: a tool cordon does not know", quoteNote(sub))
	}
}
