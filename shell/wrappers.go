package shell

import (
	"strings"
)

// wrapperSpec describes a command that runs the command given by its
// operands, such as nice or timeout.
type wrapperSpec struct {
	options optionSpec
	skip    int      // operands before the command: timeout's duration, chroot's directory
	stop    []string // options after which the operands are not a command, as ionice -p PID
}

// Wrapper specs, read-only.
var (
	plainWrapper    = wrapperSpec{}
	commandWrapper  = wrapperSpec{stop: []string{"v", "V"}}
	execWrapper     = wrapperSpec{options: optionSpec{values: "a"}}
	niceWrapper     = wrapperSpec{options: optionSpec{values: "n", long: []string{"adjustment"}}}
	timeWrapper     = wrapperSpec{options: optionSpec{values: "fo", long: []string{"format", "output"}}}
	stdbufWrapper   = wrapperSpec{options: optionSpec{values: "ioe", long: []string{"input", "output", "error"}}}
	timeoutWrapper  = wrapperSpec{options: optionSpec{values: "ks", long: []string{"kill-after", "signal"}}, skip: 1}
	chrootWrapper   = wrapperSpec{options: optionSpec{long: []string{"userspec", "groups"}}, skip: 1}
	tasksetWrapper  = wrapperSpec{skip: 1, stop: []string{"p", "pid"}}
	caffeineWrapper = wrapperSpec{options: optionSpec{values: "tw"}}
	ioniceWrapper   = wrapperSpec{
		options: optionSpec{values: "cnpPu", long: []string{"class", "classdata", "pid", "pgid", "uid"}},
		stop:    []string{"p", "P", "u", "pid", "pgid", "uid"},
	}
	chrtWrapper = wrapperSpec{
		options: optionSpec{values: "TPD", long: []string{"sched-runtime", "sched-period", "sched-deadline"}},
		skip:    1,
		stop:    []string{"p", "pid", "m", "max"},
	}
	unshareWrapper = wrapperSpec{options: optionSpec{
		values:   "SGRwl",
		optional: "miunpUCT",
		long: []string{"setuid", "setgid", "root", "wd", "load-interp", "map-user", "map-group",
			"map-users", "map-groups", "propagation", "setgroups", "monotonic", "boottime"},
	}}
	nsenterWrapper = wrapperSpec{options: optionSpec{
		values:   "tSGNZ",
		optional: "mutinpUCTrw",
		long:     []string{"target", "setuid", "setgid", "net-socket"},
	}}
	systemdRunWrapper = wrapperSpec{options: optionSpec{
		values: "upEHM",
		long: []string{"unit", "property", "setenv", "host", "machine", "description", "slice",
			"uid", "gid", "nice", "working-directory", "service-type", "on-active", "on-boot",
			"on-startup", "on-unit-active", "on-unit-inactive", "on-calendar", "path-property",
			"socket-property", "timer-property"},
	}}
	straceWrapper = wrapperSpec{options: optionSpec{
		values: "abeEIoOpPsSuUX",
		long:   []string{"attach", "output", "user", "env", "string-limit", "columns", "trace-path"},
	}}
	ltraceWrapper   = wrapperSpec{options: optionSpec{values: "aAeDFlnopsuwx", long: []string{"output", "library"}}}
	fakerootWrapper = wrapperSpec{options: optionSpec{values: "lsib", long: []string{"lib", "faked"}}}
	xvfbRunWrapper  = wrapperSpec{options: optionSpec{
		values: "nsfpwe",
		long:   []string{"server-num", "server-args", "auth-file", "error-file", "xauth-protocol", "wait"},
	}}
)

// wrapper analyses a command described by a wrapperSpec.
func (a *analyzer) wrapper(sc scope, idx int, args []arg, cs callSite, spec *wrapperSpec) {
	opts, n, _ := scanOptions(args[1:], &spec.options)
	if has(opts, spec.stop...) {
		return
	}
	rest := args[1+n:]
	if len(rest) <= spec.skip {
		return
	}
	a.call(sc.wrapped(a.res.Commands[idx].Base), rest[spec.skip:], callSite{in: cs.in})
}

var envOptions = optionSpec{values: "uCSPa", long: []string{"unset", "chdir", "split-string", "argv0"}}

// env skips options and NAME=value words; the assignments go to the
// command it runs. -S splits a string into more arguments, as in the
// "#!/usr/bin/env -S cmd args" idiom.
func (a *analyzer) env(sc scope, idx int, args []arg, cs callSite) {
	rest := args[1:]
	// Each round of -S consumes a word, and nested -S strings shrink, but
	// bound the rounds anyway.
	for range 16 {
		opts, n, _ := scanOptions(rest, &envOptions)
		rest = rest[n:]
		var split []arg
		for _, o := range opts {
			if (o.name == "S" || o.name == "split-string") && o.hasValue {
				words, ok := a.splitWords(o.value)
				if !ok {
					a.dynamic(idx, "env -S: %s cannot be split statically", quoteNote(o.value.val))
					return
				}
				split = append(split, words...)
			}
		}
		if split == nil {
			break
		}
		rest = append(split, rest...)
	}
	assigns, rest := leadingAssigns(rest)
	if len(rest) == 0 {
		return
	}
	a.call(sc.wrapped("env"), rest, callSite{assigns: assigns, in: cs.in})
}

// splitWords splits a string into words as a shell would, for env -S.
func (a *analyzer) splitWords(x arg) ([]arg, bool) {
	if x.dyn {
		return nil, false
	}
	var out []arg
	for w, err := range a.parser.WordsSeq(strings.NewReader(x.val)) {
		if err != nil {
			return nil, false
		}
		s, ok := literal(w)
		if !ok {
			return nil, false
		}
		out = append(out, arg{val: s, pos: x.pos})
	}
	return out, true
}

var sudoOptions = optionSpec{
	values: "CDghpRrTtUu",
	long: []string{"chdir", "chroot", "close-from", "command-timeout", "group", "host",
		"other-user", "prompt", "role", "type", "user"},
}

// sudo runs its operands as a command, after options and NAME=value
// words; -s and -i without a command start a shell that reads stdin.
func (a *analyzer) sudo(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &sudoOptions)
	if has(opts, "e", "edit", "l", "list", "v", "validate", "K", "remove-timestamp", "V", "version", "help") {
		return
	}
	assigns, rest := leadingAssigns(args[1+n:])
	if len(rest) == 0 {
		if has(opts, "s", "shell", "i", "login") {
			a.stdinScript(sc, idx, cs, shellCode)
		}
		return
	}
	a.call(sc.wrapped("sudo"), rest, callSite{assigns: assigns, in: cs.in})
}

var doasOptions = optionSpec{values: "Cu"}

// doas is sudo's OpenBSD counterpart.
func (a *analyzer) doas(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &doasOptions)
	if has(opts, "C", "L") {
		return
	}
	rest := args[1+n:]
	if len(rest) == 0 {
		if has(opts, "s") {
			a.stdinScript(sc, idx, cs, shellCode)
		}
		return
	}
	a.call(sc.wrapped("doas"), rest, callSite{in: cs.in})
}

var xargsOptions = optionSpec{
	values:   "aEdILnPsJRS",
	optional: "eil",
	long:     []string{"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"},
}

// xargs runs its operands as a command, with arguments read from stdin
// appended or, with -I, pasted over a placeholder. Without operands it
// runs echo.
func (a *analyzer) xargs(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &xargsOptions)
	inner := sc.wrapped("xargs")
	for _, o := range opts {
		switch o.name {
		case "I", "J":
			if o.hasValue && o.value.val != "" {
				inner.placeholder = o.value.val
			}
		case "i", "replace":
			inner.placeholder = "{}"
			if o.hasValue && o.value.val != "" {
				inner.placeholder = o.value.val
			}
		}
	}
	inner.appended = inner.placeholder == ""
	rest := args[1+n:]
	if len(rest) == 0 {
		rest = []arg{{val: "echo", pos: args[0].pos}}
	}
	a.call(inner, rest, callSite{})
}

// find runs the command of every -exec, -execdir, -ok and -okdir action,
// up to ";" or "{} +".
func (a *analyzer) find(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		action := args[i].val
		switch action {
		case "-exec", "-execdir", "-ok", "-okdir":
		default:
			continue
		}
		start, j, batch := i+1, i+1, false
		for ; j < len(args); j++ {
			if args[j].val == ";" {
				break
			}
			if args[j].val == "+" && j > start && args[j-1].val == "{}" {
				batch = true
				break
			}
		}
		if j > start {
			inner := sc.wrapped("find " + action)
			inner.placeholder = "{}"
			inner.appended = batch
			a.call(inner, args[start:j], callSite{})
		}
		i = j
	}
}

// fd (fd-find) runs the command after -x/--exec for each match, or once
// for all of them after -X/--exec-batch, up to ";" or the end.
func (a *analyzer) fd(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		action := args[i].val
		switch action {
		case "-x", "--exec", "-X", "--exec-batch":
		default:
			continue
		}
		start, j := i+1, i+1
		for j < len(args) && args[j].val != ";" {
			j++
		}
		if j > start {
			inner := sc.wrapped("fd " + action)
			inner.placeholder = "{}"
			inner.appended = true
			a.call(inner, args[start:j], callSite{})
		}
		i = j
	}
}

// busybox runs the applet named by its first operand.
func (a *analyzer) busybox(sc scope, idx int, args []arg, cs callSite) {
	if len(args) > 1 && !strings.HasPrefix(args[1].val, "-") {
		a.call(sc.wrapped("busybox"), args[1:], callSite{in: cs.in})
	}
}

var flockOptions = optionSpec{values: "wEc", long: []string{"wait", "timeout", "conflict-exit-code", "command"}}

// flock takes a lock file or descriptor, then runs either a command or,
// with -c, a string of shell code.
func (a *analyzer) flock(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &flockOptions)
	for _, o := range opts {
		if (o.name == "c" || o.name == "command") && o.hasValue {
			a.inline(sc, idx, "flock -c", o.value, shellCode, "flock -c")
		}
	}
	rest := args[1+n:]
	if len(rest) < 2 {
		return
	}
	rest = rest[1:]
	if rest[0].val == "-c" || rest[0].val == "--command" {
		if len(rest) > 1 {
			a.inline(sc, idx, "flock -c", rest[1], shellCode, "flock -c")
		}
		return
	}
	a.call(sc.wrapped("flock"), rest, callSite{in: cs.in})
}

var watchOptions = optionSpec{values: "nq", optional: "d", long: []string{"interval", "equexit"}}

// watch joins its operands and runs them with sh -c, unless -x makes it
// run them as a command.
func (a *analyzer) watch(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &watchOptions)
	rest := args[1+n:]
	if len(rest) == 0 {
		return
	}
	if has(opts, "x", "exec") {
		a.call(sc.wrapped("watch"), rest, callSite{})
		return
	}
	a.inline(sc, idx, "watch", joinArgs(rest), shellCode, "watch")
}

var parallelOptions = optionSpec{
	values: "ajSdEInNLPs",
	long: []string{"arg-file", "jobs", "sshlogin", "sshloginfile", "delimiter", "eof", "replace",
		"max-args", "max-replace-args", "max-lines", "max-procs", "max-chars", "colsep", "joblog",
		"results", "timeout", "tmpdir", "workdir", "env", "basefile", "return", "transferfile",
		"tagstring", "tag-string", "delay", "halt", "memfree", "load", "retries"},
}

// parallel (GNU) runs its command words through a shell once per input;
// the words after ":::" are the inputs. Without command words, each input
// is a command line.
func (a *analyzer) parallel(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &parallelOptions)
	rest := args[1+n:]
	end := len(rest)
	for i, x := range rest {
		if parallelSeparator(x.val) {
			end = i
			break
		}
	}
	command, inputs := rest[:end], rest[end:]
	if len(command) > 0 {
		a.inline(sc, idx, "parallel", joinArgs(command), shellCode, "parallel")
		return
	}
	if len(inputs) == 0 || has(opts, "a", "arg-file") || inputs[0].val != ":::" {
		a.dynamic(idx, "parallel runs command lines read from its input")
		return
	}
	for _, x := range inputs[1:] {
		if parallelSeparator(x.val) {
			a.dynamic(idx, "parallel combines several input sources into command lines")
			return
		}
	}
	for _, x := range inputs[1:] {
		a.inline(sc, idx, "parallel", x, shellCode, "parallel")
	}
}

func parallelSeparator(s string) bool {
	switch s {
	case ":::", "::::", ":::+", "::::+":
		return true
	}
	return false
}
