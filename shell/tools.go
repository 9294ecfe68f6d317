package shell

import (
	"regexp"
	"slices"
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
		// GNU getopt_long takes a unique prefix of a long option: --ev
		// for --eval. A prefix that is itself another option of the
		// tool (install --strip) is that option.
		if name != n && (len(name) < 2 || !strings.HasPrefix(n, name) || exactOptions[name]) {
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

// exactOptions are options of the tools followed here that are prefixes
// of others' names: given whole, they are themselves.
var exactOptions = map[string]bool{"strip": true}

// shortValue matches args[i] against a short option -c, with its value
// attached ("-cX") or as the next word, alone or after other letters of a
// cluster ("-sc X"). Letters before it that take a value themselves would
// make c part of that value; taking it for the option can only make the
// verdict stricter.
func shortValue(args []arg, i int, letter string) (arg, int, bool) {
	x := args[i]
	if x.dyn || !strings.HasPrefix(x.val, "-") || strings.HasPrefix(x.val, "--") || len(x.val) < 2 {
		return arg{}, 0, false
	}
	k := strings.Index(x.val[1:], letter)
	if k < 0 {
		return arg{}, 0, false
	}
	for _, c := range x.val[1 : 1+k] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return arg{}, 0, false
		}
	}
	if v := x.val[2+k:]; v != "" {
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
		// NAME=value, NAME:=, NAME::=, NAME:::=, NAME?=, NAME+=,
		// NAME != command (make runs it), with or without spaces: a
		// value with make or shell syntax runs, or may, when a recipe
		// or the assignment itself expands it.
		if _, val, isAssign := strings.Cut(x.val, "="); isAssign && !strings.HasPrefix(x.val, "-") {
			if x.dyn || strings.ContainsAny(val, makeMeta) || strings.Contains(x.val, "!=") {
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
		if v.dyn || sqliteShell().MatchString(v.val) || sqliteCode().MatchString(v.val) {
			a.inline(sc, idx, "sqlite3 .shell", v, otherCode, "")
		}
		for _, m := range sqliteWrites().FindAllStringSubmatch(v.val, -1) {
			a.programFiles(idx, []string{m[1]}, nil)
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
	if cs.in != nil && cs.in.file == "" {
		check(arg{val: cs.in.text, pos: cs.in.pos})
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
	a.stdinScriptOption(sc, idx, args, "cmake -P", "P")
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

// exactCode records the code given to an interpreter-like tool (julia
// -e, ghc -e, mix run -e, emacs --eval): short letters whose value is
// code, attached, as the next word or at the end of a cluster (-qe), and
// long names, abbreviated as getopt_long takes them (--ev). files are
// the options naming a script to run, and stdin the tool's positional
// script position (julia FILE): a script read from stdin is code too.
func (a *analyzer) exactCode(sc scope, idx int, args []arg, kind string, short string, long, files []string, positional bool) {
	sawFile := false
	for i := 1; i < len(args); i++ {
		x := args[i]
		if x.dyn {
			continue
		}
		if x.val == "--" {
			break
		}
		if v, n, ok := longValue(args, i, 1, long...); n > 0 {
			if ok {
				a.inline(sc, idx, kind, v, otherCode, "")
			}
			i += n - 1
			continue
		}
		if v, n, ok := longValue(args, i, 1, files...); n > 0 {
			if ok && (v.dyn || stdinNames[v.val]) {
				a.inline(sc, idx, kind, v, otherCode, "")
			}
			i += n - 1
			continue
		}
		found := false
		for _, l := range short {
			if v, n, ok := shortValue(args, i, string(l)); n > 0 {
				if ok {
					a.inline(sc, idx, kind, v, otherCode, "")
				}
				i += n - 1
				found = true
				break
			}
		}
		if found || strings.HasPrefix(x.val, "-") {
			continue
		}
		// The first operand is the script, for tools that take one.
		if positional && !sawFile {
			sawFile = true
			if stdinNames[x.val] {
				a.inline(sc, idx, kind, x, otherCode, "")
			}
		}
	}
}

// execSub follows TOOL exec [options] [--] COMMAND (stack, cabal, dune,
// poetry run and kin): the command runs as given. Without "--", the first
// word after exec that is not an option is taken as the command; an
// option's value taken for it is judged as a program, which can only make
// the verdict stricter.
func (a *analyzer) execSub(sc scope, idx int, args []arg, cs callSite, sub string) {
	i := 1
	for i < len(args) && args[i].val != sub {
		if args[i].dyn {
			return
		}
		i++
	}
	if i >= len(args) {
		return
	}
	rest := args[i+1:]
	for j, x := range rest {
		if x.val == "--" && !x.dyn {
			rest = rest[j+1:]
			break
		}
		if x.dyn || !strings.HasPrefix(x.val, "-") {
			rest = rest[j:]
			break
		}
		if j == len(rest)-1 {
			rest = nil
		}
	}
	if len(rest) > 0 {
		a.call(sc.wrapped(a.res.Commands[idx].Base+" "+sub), rest, callSite{in: cs.in})
	}
}

// stdinScriptOption records a script read from stdin through option
// letter (cmake -P, ctest -S): code in the tool's own language that no
// one can read beforehand.
func (a *analyzer) stdinScriptOption(sc scope, idx int, args []arg, kind, letter string) {
	for i := 1; i < len(args); i++ {
		if v, n, ok := shortValue(args, i, letter); n > 0 {
			if ok && (v.dyn || stdinNames[v.val]) {
				a.inline(sc, idx, kind, v, otherCode, "")
			}
			i += n - 1
		}
	}
}

// ctest --test-command runs the rest of its line.
func (a *analyzer) ctest(sc scope, idx int, args []arg, cs callSite) {
	a.stdinScriptOption(sc, idx, args, "cmake -P", "S")
	for i := 1; i < len(args); i++ {
		if !args[i].dyn && args[i].val == "--test-command" && i+1 < len(args) {
			a.call(sc.wrapped("ctest --test-command"), args[i+1:], callSite{in: cs.in})
			return
		}
	}
}

// cargoConfig records cargo --config values that set a program cargo
// runs (a runner, a linker, a rustc wrapper, an alias), as inline code.
func (a *analyzer) cargoConfig(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		if args[i].val == "--" && !args[i].dyn {
			return
		}
		v, n, ok := longValue(args, i, 2, "config")
		if n == 0 {
			continue
		}
		i += n - 1
		if !ok {
			continue
		}
		// A config file (workspace code, as .cargo/config.toml is) runs
		// nothing of the agent's unless it is read from stdin; a
		// key=value runs nothing only under the keys listed here, and
		// only spelled plainly (TOML escapes a key's letters).
		key, _, isKV := strings.Cut(v.val, "=")
		benign := false
		for _, p := range []string{"net.", "http.", "registries.", "registry.", "term.", "build.jobs", "build.incremental", "profile."} {
			benign = benign || strings.HasPrefix(strings.TrimSpace(key), p)
		}
		switch {
		case v.dyn, !isKV && stdinNames[v.val]:
			a.inline(sc, idx, "cargo --config", v, otherCode, "")
		case isKV && (!benign || strings.ContainsAny(key, "\\\"'") || strings.Contains(strings.ToLower(v.val), "rustflags")):
			a.inline(sc, idx, "cargo --config", v, otherCode, "")
		}
	}
}

// lessCommands records less's +cmd options, commands less runs at start
// (!cmd runs a shell, |m cmd pipes to one, s saves to a file, v starts
// an editor), as inline code; a line number, a search and F or G are not.
func (a *analyzer) lessCommands(sc scope, idx int, args []arg) {
	for _, x := range args[1:] {
		if x.val == "--" && !x.dyn {
			return
		}
		c, ok := strings.CutPrefix(x.val, "+")
		if !ok {
			continue
		}
		c = strings.TrimLeft(c, "+") // ++cmd applies to every file
		// A search ends at a control character, after which come more
		// commands; a plain search, a line number, F or G run nothing.
		plain := !strings.ContainsFunc(c, func(r rune) bool { return r < ' ' || r == 0x7f })
		if c == "" || c == "F" || c == "G" || c == "g" || strings.Trim(c, "0123456789") == "" ||
			(c[0] == '/' || c[0] == '?') && plain {
			continue
		}
		a.inline(sc, idx, "less +cmd", arg{val: c, pos: x.pos, dyn: x.dyn}, otherCode, "")
	}
}

// manPager analyses man's -P/--pager (a command line man runs through the
// shell) and -H/--html's browser.
func (a *analyzer) manPager(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		v, n, ok := longValue(args, i, 2, "pager", "html")
		if n == 0 {
			v, n, ok = shortValue(args, i, "P")
		}
		if n == 0 {
			if x := args[i]; !x.dyn && strings.HasPrefix(x.val, "-H") && len(x.val) > 2 {
				v, n, ok = arg{val: x.val[2:], pos: x.pos}, 1, true
			}
		}
		if n == 0 {
			continue
		}
		i += n - 1
		if ok {
			a.inline(sc, idx, "man -P", v, shellCode, "man -P")
		}
	}
}

// edScript records ed's commands read from stdin, when they hold a !
// (ed's shell escape: !cmd, w !cmd, r !cmd, e !cmd) or cannot be known.
func (a *analyzer) edScript(sc scope, idx int, cs callSite) {
	if cs.in == nil || cs.in.file != "" {
		return // the terminal, or a script file of the workspace
	}
	if strings.Contains(cs.in.text, "!") {
		a.inline(sc, idx, "ed !", arg{val: cs.in.text, pos: cs.in.pos}, otherCode, "")
	}
}

// programOption follows options whose value is a program the tool runs,
// or a shell command it runs: go's -exec, -toolexec and -vettool, meson
// test's --wrapper, sort --compress-program, install --strip-program and
// bazel --run_under name a program (with arguments, split on spaces);
// split --filter and bat's and delta's --pager are shell commands. dashes
// is as for longValue; the scan stops at "--" and at the words in stops.
func (a *analyzer) programOption(sc scope, idx int, args []arg, via string, dashes int, program, shell []string, stops ...string) {
	for i := 1; i < len(args); i++ {
		if !args[i].dyn && (args[i].val == "--" || slices.Contains(stops, args[i].val)) {
			return
		}
		if v, n, ok := longValue(args, i, dashes, program...); n > 0 {
			i += n - 1
			if !ok {
				continue
			}
			words, split := a.splitWords(v)
			if !split {
				a.dynamic(idx, "%s: %s is not static", via, quoteNote(v.val))
				continue
			}
			if len(words) > 0 {
				a.res.Commands[idx].CodeExec = via
				a.call(sc.wrapped(via), words, callSite{})
			}
			continue
		}
		if v, n, ok := longValue(args, i, dashes, shell...); n > 0 {
			i += n - 1
			if ok {
				a.inline(sc, idx, via, v, shellCode, via)
			}
		}
	}
}

// fzfActions records fzf's --preview and the --bind actions that run a
// command (execute, become, reload, preview…): fzf fills the selection
// into them at run time, so they are inline code.
func (a *analyzer) fzfActions(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		v, n, ok := longValue(args, i, 2, "preview", "bind")
		if n == 0 {
			continue
		}
		i += n - 1
		if !ok {
			continue
		}
		name := strings.TrimLeft(args[i-n+1].val, "-")
		// Any action with an argument may run it (execute, become,
		// reload, transform, preview…).
		if strings.HasPrefix(name, "p") || strings.ContainsAny(v.val, "(:[{<") || v.dyn {
			a.inline(sc, idx, "fzf --preview", v, otherCode, "")
		}
	}
}

// mavenExec follows mvn exec:exec's -Dexec.executable (and -Dexec.args):
// the program runs as given.
func (a *analyzer) mavenExec(sc scope, idx int, args []arg) {
	var exe, rest string
	found := false
	for _, x := range args[1:] {
		if x.dyn {
			if strings.Contains(x.val, "exec.executable") || strings.Contains(x.val, "exec.args") {
				a.dynamic(idx, "mvn: %s is not static", quoteNote(x.val))
				return
			}
			continue
		}
		if v, ok := strings.CutPrefix(x.val, "-Dexec.executable="); ok {
			exe, found = v, true
		}
		if v, ok := strings.CutPrefix(x.val, "-Dexec.args="); ok {
			rest = v
		}
	}
	if !found {
		return
	}
	words, ok := a.splitWords(arg{val: exe + " " + rest, pos: args[0].pos})
	if !ok {
		a.dynamic(idx, "mvn: exec.args cannot be split statically")
		return
	}
	if len(words) > 0 {
		a.res.Commands[idx].CodeExec = "mvn exec"
		a.call(sc.wrapped("mvn exec"), words, callSite{})
	}
}

// scriptShell records npm's, yarn's and pnpm's --script-shell: the
// program that runs every package script.
func (a *analyzer) scriptShell(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		v, n, ok := longValue(args, i, 2, "script-shell")
		if n == 0 {
			continue
		}
		i += n - 1
		if ok {
			a.inline(sc, idx, "npm --script-shell", v, otherCode, "")
		}
	}
}

// mapfileCallback analyses mapfile's (readarray's) -C callback: bash
// evaluates it as shell code every -c lines.
func (a *analyzer) mapfileCallback(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		if x.dyn || !strings.HasPrefix(x.val, "-") || x.val == "--" {
			if x.val == "--" {
				return
			}
			continue
		}
		// Options cluster; -C takes the rest of the word or the next one.
		if k := strings.IndexByte(x.val, 'C'); k > 0 {
			v := arg{val: x.val[k+1:], pos: x.pos}
			if v.val == "" {
				if i+1 >= len(args) {
					return
				}
				i++
				v = args[i]
			}
			a.inline(sc, idx, "mapfile -C", v, shellCode, "mapfile -C")
		}
	}
}

// goLinker records go's -ldflags that name an external linker
// (-extld, -linkmode=external with the C toolchain): a program the build
// runs.
func (a *analyzer) goLinker(sc scope, idx int, args []arg) {
	for i := 1; i < len(args); i++ {
		v, n, ok := longValue(args, i, 1, "ldflags")
		if n == 0 {
			continue
		}
		i += n - 1
		if ok && (v.dyn || strings.Contains(v.val, "extld") || strings.Contains(v.val, "extar")) {
			a.inline(sc, idx, "go -ldflags", v, otherCode, "")
		}
	}
}

// sqliteFiles finds the files sqlite3 dot-commands write (.once, .output,
// .save, .backup) and reads (.import, .read, .restore), and SQL that
// writes or loads files of its own (writefile(), load_extension(), ATTACH,
// VACUUM INTO).
var (
	sqliteWrites = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^\s*\.(?:once|output|o|save|backup)\s+(?:-\S+\s+)*['"]?([^'"\s|][^'"\s]*)`)
	})
	sqliteCode = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(?:writefile|load_extension|readfile|edit)\s*\(|\battach\b|\bvacuum\s+into\b|(?m)^\s*\.(?:load|import|read|restore)\b`)
	})
)
