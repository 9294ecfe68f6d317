package shell

import "strings"

// dispatch analyses what the command at idx runs in turn, according to
// its base name: the command a wrapper runs, the code an interpreter is
// given, the commands a tool's options name.
func (a *analyzer) dispatch(sc scope, idx int, args []arg, cs callSite) {
	base := a.res.Commands[idx].Base
	switch base {
	case "env":
		a.env(sc, idx, args, cs)
	case "sudo":
		a.sudo(sc, idx, args, cs)
	case "doas":
		a.doas(sc, idx, args, cs)
	case "nohup", "unbuffer", "torsocks", "proxychains", "proxychains4", "dbus-run-session",
		"catchsegv", "valgrind", "builtin", "setsid":
		a.wrapper(sc, idx, args, cs, &plainWrapper)
	case "command":
		a.wrapper(sc, idx, args, cs, &commandWrapper)
	case "exec":
		a.wrapper(sc, idx, args, cs, &execWrapper)
	case "nice":
		a.wrapper(sc, idx, args, cs, &niceWrapper)
	case "ionice":
		a.wrapper(sc, idx, args, cs, &ioniceWrapper)
	case "time":
		a.wrapper(sc, idx, args, cs, &timeWrapper)
	case "timeout", "gtimeout":
		a.wrapper(sc, idx, args, cs, &timeoutWrapper)
	case "stdbuf":
		a.wrapper(sc, idx, args, cs, &stdbufWrapper)
	case "chroot":
		a.wrapper(sc, idx, args, cs, &chrootWrapper)
	case "unshare":
		a.wrapper(sc, idx, args, cs, &unshareWrapper)
	case "nsenter":
		a.wrapper(sc, idx, args, cs, &nsenterWrapper)
	case "systemd-run":
		a.wrapper(sc, idx, args, cs, &systemdRunWrapper)
	case "caffeinate":
		a.wrapper(sc, idx, args, cs, &caffeineWrapper)
	case "strace":
		a.straceOutput(sc, idx, args)
		a.wrapper(sc, idx, args, cs, &straceWrapper)
	case "gdb", "gdb-multiarch", "cgdb":
		a.debugger(sc, idx, args, false)
	case "lldb":
		a.debugger(sc, idx, args, true)
	case "make", "gmake":
		a.makeTool(sc, idx, args)
	case "sqlite3":
		a.sqlite(sc, idx, args, cs)
	case "hyperfine":
		a.hyperfine(sc, idx, args)
	case "cmake":
		a.cmakeTool(sc, idx, args, cs)
	case "julia":
		a.exactCode(sc, idx, args, "julia -e", "eE", []string{"eval", "print"}, []string{"load", "L"}, true)
	case "ghc", "ghci", "runghc", "runhaskell":
		a.exactCode(sc, idx, args, "ghc -e", "", []string{"e"}, nil, false) // ghc options are not clusters (-package)
	case "elixir", "iex":
		a.exactCode(sc, idx, args, "elixir -e", "e", []string{"eval"}, nil, true)
	case "mix":
		if len(args) > 1 && args[1].val == "run" {
			a.exactCode(sc, idx, args, "elixir -e", "e", []string{"eval"}, nil, false)
		}
	case "stack", "cabal", "dune", "opam", "esy":
		a.execSub(sc, idx, args, cs, "exec")
	case "poetry", "pipenv", "pdm", "hatch", "uv", "rye":
		a.execSub(sc, idx, args, cs, "run")
	case "go":
		a.programOption(sc, idx, args, "go -exec", 1, []string{"exec", "toolexec", "vettool"}, nil, "-args", "--args")
		a.goLinker(sc, idx, args)
	case "ctest":
		a.ctest(sc, idx, args, cs)
	case "meson":
		if len(args) > 1 && args[1].val == "test" {
			a.programOption(sc, idx, args, "meson --wrapper", 2, []string{"wrapper", "gdb-path"}, nil)
		}
	case "cargo":
		a.cargoConfig(sc, idx, args)
	case "emacs", "xemacs":
		a.exactCode(sc, idx, args, "emacs --eval", "", []string{"eval", "execute"}, []string{"script", "load", "l", "x"}, false)
	case "emacsclient":
		a.exactCode(sc, idx, args, "emacs --eval", "e", []string{"eval"}, nil, false)
	case "less", "more", "most":
		a.lessCommands(sc, idx, args)
	case "man":
		a.manPager(sc, idx, args)
	case "ed", "red":
		a.edScript(sc, idx, cs)
	case "mapfile", "readarray":
		a.mapfileCallback(sc, idx, args)
	case "sort":
		a.programOption(sc, idx, args, "sort --compress-program", 2, []string{"compress-program"}, nil)
	case "install":
		a.programOption(sc, idx, args, "install --strip-program", 2, []string{"strip-program"}, nil)
	case "split":
		a.programOption(sc, idx, args, "split --filter", 2, nil, []string{"filter"})
	case "bat", "batcat", "delta":
		a.programOption(sc, idx, args, base+" --pager", 2, nil, []string{"pager"})
	case "bazel", "bazelisk":
		a.programOption(sc, idx, args, "bazel --run_under", 2, []string{"run_under"}, nil)
	case "fzf":
		a.fzfActions(sc, idx, args)
	case "mvn", "mvnw", "./mvnw":
		a.mavenExec(sc, idx, args)
	case "npm", "yarn", "pnpm":
		a.scriptShell(sc, idx, args)
	case "ltrace":
		a.wrapper(sc, idx, args, cs, &ltraceWrapper)
	case "taskset":
		a.wrapper(sc, idx, args, cs, &tasksetWrapper)
	case "chrt":
		a.wrapper(sc, idx, args, cs, &chrtWrapper)
	case "fakeroot":
		a.wrapper(sc, idx, args, cs, &fakerootWrapper)
	case "xvfb-run":
		a.wrapper(sc, idx, args, cs, &xvfbRunWrapper)
	case "flock":
		a.flock(sc, idx, args, cs)
	case "watch":
		a.watch(sc, idx, args, cs)
	case "xargs":
		a.xargs(sc, idx, args, cs)
	case "find":
		a.find(sc, idx, args, cs)
	case "fd", "fdfind":
		a.fd(sc, idx, args, cs)
	case "busybox":
		a.busybox(sc, idx, args, cs)
	case "parallel":
		a.parallel(sc, idx, args, cs)
	case "eval":
		a.eval(sc, idx, args, cs)
	case "source", ".":
		a.source(sc, idx, args, cs)
	case "trap":
		a.trap(sc, idx, args, cs)
	case "alias":
		a.alias(sc, idx, args, cs)
	case "hash":
		a.hash(sc, idx, args, cs)
	case "enable":
		a.enable(sc, idx, args, cs)
	case "su":
		a.su(sc, idx, args, cs)
	case "runuser":
		a.runuser(sc, idx, args, cs)
	case "script":
		a.script(sc, idx, args, cs)
	case "git":
		a.git(sc, idx, args, cs)
	case "ssh", "autossh":
		a.ssh(sc, idx, args, cs)
	case "scp", "sftp":
		a.scp(sc, idx, args, cs)
	case "rsync":
		a.rsync(sc, idx, args, cs)
	case "tar", "gtar", "bsdtar":
		a.tar(sc, idx, args, cs)
	case "zip":
		a.zip(sc, idx, args, cs)
	case "vim", "vi", "nvim", "view", "vimdiff", "gvim", "ex", "rvim", "evim":
		a.vim(sc, idx, args, cs)
	case "awk", "gawk", "mawk", "nawk", "original-awk":
		a.awk(sc, idx, args, cs)
	case "sed", "gsed":
		a.sed(sc, idx, args, cs)
	default:
		switch family(base) {
		case "sh":
			a.shell(sc, idx, args, cs)
		case "python":
			a.interpreter(sc, idx, args, cs, &pythonSpec)
		case "perl":
			a.interpreter(sc, idx, args, cs, &perlSpec)
		case "ruby":
			a.interpreter(sc, idx, args, cs, &rubySpec)
		case "php":
			a.interpreter(sc, idx, args, cs, &phpSpec)
		case "lua":
			a.interpreter(sc, idx, args, cs, &luaSpec)
		case "node":
			a.interpreter(sc, idx, args, cs, &nodeSpec)
		case "bun":
			a.interpreter(sc, idx, args, cs, &bunSpec)
		case "R":
			a.interpreter(sc, idx, args, cs, &rSpec)
		case "osascript":
			a.interpreter(sc, idx, args, cs, &osaSpec)
		case "tclsh":
			a.interpreter(sc, idx, args, cs, &tclSpec)
		case "expect":
			a.interpreter(sc, idx, args, cs, &expectSpec)
		case "deno":
			a.deno(sc, idx, args, cs)
		case "pwsh":
			a.powershell(sc, idx, args, cs)
		}
	}
}

// family names the interpreter a command belongs to, ignoring a version
// suffix and ".exe": "python3.12" and "pypy3" are "python", "ksh93" is
// "sh". It returns "" for other commands.
func family(base string) string {
	b := strings.TrimSuffix(base, ".exe")
	b = strings.TrimRight(b, "0123456789.")
	switch b {
	case "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh", "rbash", "pdksh",
		"oksh", "loksh", "lksh", "hush", "fish", "csh", "tcsh":
		return "sh"
	case "python", "pypy":
		return "python"
	case "perl":
		return "perl"
	case "ruby", "jruby":
		return "ruby"
	case "php":
		return "php"
	case "lua", "luajit":
		return "lua"
	case "node", "nodejs":
		return "node"
	case "bun", "deno", "osascript", "expect":
		return b
	case "Rscript", "R":
		return "R"
	case "tclsh", "wish":
		return "tclsh"
	}
	if l := strings.ToLower(b); l == "pwsh" || l == "powershell" {
		return "pwsh"
	}
	return ""
}
