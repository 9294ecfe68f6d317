package shell

import (
	"strings"
)

// This file handles tools whose options or settings name a command for
// them to run: git's configuration and hooks, ssh's ProxyCommand, tar's
// --to-command, rsync's -e, zip's -TT and vim's -c.

// git analyses git's global options, -c configuration that makes git run
// commands, and the subcommands that run commands of their own.
func (a *analyzer) git(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		s := x.val
		if x.dyn {
			return
		}
		switch {
		case s == "-c":
			if i+1 < len(args) {
				i++
				a.gitConfig(sc, idx, args[i], "git -c ")
			}
		case s == "--config-env":
			if i+1 < len(args) {
				i++
				a.gitConfigEnv(idx, args[i].val)
			}
		case strings.HasPrefix(s, "--config-env="):
			a.gitConfigEnv(idx, strings.TrimPrefix(s, "--config-env="))
		case strings.HasPrefix(s, "--exec-path="):
			// git runs its subcommands from this directory.
			a.inline(sc, idx, "git --exec-path", arg{val: strings.TrimPrefix(s, "--exec-path="), pos: x.pos}, otherCode, "")
		case s == "-C" || s == "--git-dir" || s == "--work-tree" || s == "--namespace" || s == "--super-prefix":
			i++
		case strings.HasPrefix(s, "-"):
		default:
			a.gitSubcommand(sc, idx, args[i:])
			return
		}
	}
}

// gitConfig analyses one NAME=VALUE configuration item given to git -c or
// git config; prefix is how the item was given, for CodeExec and Via.
func (a *analyzer) gitConfig(sc scope, idx int, item arg, prefix string) {
	key, val, _ := strings.Cut(item.val, "=")
	lang, risky := gitRiskyKey(strings.ToLower(key), val)
	if !risky {
		return
	}
	kind := prefix + key
	if item.dyn {
		a.res.Commands[idx].CodeExec = kind
		a.dynamic(idx, "%s: value is not static", kind)
		return
	}
	if lang == shellCode {
		val = strings.TrimPrefix(val, "!")
	}
	a.inline(sc, idx, kind, arg{val: val, pos: item.pos}, lang, kind)
}

// gitConfigEnv handles --config-env=NAME=ENVVAR, which takes a
// configuration value from the environment.
func (a *analyzer) gitConfigEnv(idx int, item string) {
	key, _, _ := strings.Cut(item, "=")
	if _, risky := gitRiskyKey(strings.ToLower(key), ""); risky {
		a.res.Commands[idx].CodeExec = "git --config-env " + key
		a.dynamic(idx, "git --config-env %s: the value comes from the environment", key)
	}
}

// gitRiskyKey reports whether a configuration key (lower case) makes git
// run a program or load code, and whether its value is a shell command.
func gitRiskyKey(key, val string) (codeLang, bool) {
	switch key {
	case "core.sshcommand", "core.pager", "core.editor", "core.askpass", "core.gitproxy",
		"sequence.editor", "diff.external", "uploadpack.packobjectshook", "gpg.program",
		"core.alternaterefscommand", "sendemail.sendmailcmd", "sendemail.smtpserver":
		return shellCode, true
	case "core.fsmonitor":
		switch strings.ToLower(val) {
		case "", "true", "false", "yes", "no", "on", "off", "1", "0":
			return otherCode, false
		}
		return shellCode, true
	case "credential.helper":
		return credentialHelper(val)
	case "core.hookspath", "include.path", "init.templatedir", "protocol.allow", "core.worktree":
		return otherCode, true
	}
	section, rest, _ := strings.Cut(key, ".")
	dot := strings.LastIndexByte(rest, '.')
	name := rest[dot+1:]
	switch {
	case section == "alias":
		if strings.HasPrefix(val, "!") {
			return shellCode, true
		}
	case section == "pager":
		return shellCode, true
	case section == "includeif" && name == "path",
		section == "protocol" && name == "allow",
		section == "url" && strings.Contains(key, "ext::"):
		return otherCode, true
	case dot < 0:
	case section == "credential" && name == "helper":
		return credentialHelper(val)
	case section == "diff" && (name == "textconv" || name == "command"),
		section == "filter" && (name == "clean" || name == "smudge" || name == "process"),
		section == "merge" && name == "driver",
		section == "mergetool" && name == "cmd",
		section == "difftool" && name == "cmd",
		section == "gpg" && name == "program",
		section == "remote" && (name == "uploadpack" || name == "receivepack"),
		section == "browser" && (name == "cmd" || name == "path"),
		section == "man" && (name == "cmd" || name == "path"):
		return shellCode, true
	}
	return otherCode, false
}

// credentialHelper classifies a credential.helper value: "!cmd" and
// absolute paths are shell commands, other names select a git-credential-*
// program.
func credentialHelper(val string) (codeLang, bool) {
	if val == "" {
		return otherCode, false
	}
	if strings.HasPrefix(val, "!") || strings.HasPrefix(val, "/") {
		return shellCode, true
	}
	return otherCode, true
}

// gitSubcommand analyses the subcommands that run shell commands given as
// options: submodule foreach, rebase --exec, bisect run, filter-branch
// filters, difftool --extcmd, the --upload-pack and --receive-pack
// programs, and git config setting a risky key.
func (a *analyzer) gitSubcommand(sc scope, idx int, args []arg) {
	sub := args[0].val
	rest := args[1:]
	switch sub {
	case "submodule":
		for i, x := range rest {
			if x.val != "foreach" {
				continue
			}
			cmd := rest[i+1:]
			for len(cmd) > 0 && strings.HasPrefix(cmd[0].val, "-") && !cmd[0].dyn {
				cmd = cmd[1:]
			}
			if len(cmd) > 0 {
				a.inline(sc, idx, "git submodule foreach", joinArgs(cmd), shellCode, "git submodule foreach")
			}
			return
		}
	case "rebase":
		a.codeOptions(sc, idx, rest, "git rebase", "x", "exec")
	case "bisect":
		if len(rest) > 1 && rest[0].val == "run" {
			a.call(sc.wrapped("git bisect run"), rest[1:], callSite{})
		}
	case "filter-branch":
		a.codeOptions(sc, idx, rest, "git filter-branch", "env-filter", "tree-filter", "index-filter",
			"parent-filter", "msg-filter", "commit-filter", "tag-name-filter")
	case "difftool", "mergetool":
		a.codeOptions(sc, idx, rest, "git "+sub, "x", "extcmd")
	case "clone", "ls-remote":
		a.codeOptions(sc, idx, rest, "git "+sub, "u", "upload-pack")
	case "fetch", "pull":
		a.codeOptions(sc, idx, rest, "git "+sub, "upload-pack")
	case "archive":
		a.codeOptions(sc, idx, rest, "git "+sub, "exec")
	case "push", "send-pack":
		a.codeOptions(sc, idx, rest, "git "+sub, "receive-pack", "exec")
	case "config":
		a.gitConfigCommand(sc, idx, rest)
	}
}

// gitConfigCommand handles "git config [options] KEY VALUE" and
// "git config set KEY VALUE", which store configuration that later git
// commands obey.
func (a *analyzer) gitConfigCommand(sc scope, idx int, args []arg) {
	var operands []arg
	for i := 0; i < len(args); i++ {
		x := args[i]
		switch {
		case x.val == "-f" || x.val == "--file" || x.val == "--blob" || x.val == "--type" || x.val == "--default" || x.val == "--comment":
			i++
		case strings.HasPrefix(x.val, "-") && !x.dyn:
		default:
			operands = append(operands, x)
		}
	}
	if len(operands) > 0 && operands[0].val == "set" {
		operands = operands[1:]
	}
	if len(operands) < 2 || operands[0].dyn {
		return
	}
	item := operands[1]
	item.val = operands[0].val + "=" + item.val
	a.gitConfig(sc, idx, item, "git config ")
}

// codeOptions finds options whose value is shell code, written as
// "--name value", "--name=value", or for one-letter names "-x value" and
// "-xvalue", and analyses each value. kind prefixes CodeExec and Via.
func (a *analyzer) codeOptions(sc scope, idx int, args []arg, kind string, names ...string) {
	for i := 0; i < len(args); i++ {
		x := args[i]
		if x.dyn {
			continue
		}
		if x.val == "--" {
			return
		}
		for _, name := range names {
			flag := "--" + name
			if len(name) == 1 {
				flag = "-" + name
			}
			var v arg
			switch {
			case x.val == flag:
				if i+1 >= len(args) {
					continue
				}
				i++
				v = args[i]
			case strings.HasPrefix(x.val, flag) && (len(name) == 1 || x.val[len(flag)] == '='):
				v = arg{val: x.val[len(flag):], pos: x.pos}
				if len(name) > 1 {
					v.val = v.val[1:]
				}
			default:
				continue
			}
			k := kind + " " + flag
			a.inline(sc, idx, k, v, shellCode, k)
			break
		}
	}
}

var sshOptions = optionSpec{values: "BbcDEeFIiJLlmOopQRSWw"}

// ssh runs the words after the host on the remote host through its
// shell, and -o ProxyCommand, LocalCommand and KnownHostsCommand locally.
// Options may come before and after the host.
func (a *analyzer) ssh(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &sshOptions)
	rest := args[1+n:]
	if len(rest) > 0 {
		more, m, _ := scanOptions(rest[1:], &sshOptions)
		opts = append(opts, more...)
		rest = rest[1+m:]
	}
	for _, o := range opts {
		if o.name == "o" && o.hasValue {
			a.sshOption(sc, idx, o.value)
		}
	}
	if len(rest) > 0 && !has(opts, "s", "N") {
		a.inline(sc, idx, "ssh remote", joinArgs(rest), shellCode, "ssh remote")
	}
}

// sshOption analyses one -o option of ssh, scp or sftp.
func (a *analyzer) sshOption(sc scope, idx int, opt arg) {
	s := opt.val
	cut := strings.IndexAny(s, "= \t")
	if cut < 0 {
		return
	}
	key, val := strings.ToLower(s[:cut]), strings.TrimLeft(s[cut:], "= \t")
	var name string
	switch key {
	case "proxycommand":
		name = "ProxyCommand"
	case "localcommand":
		name = "LocalCommand"
	case "knownhostscommand":
		name = "KnownHostsCommand"
	case "remotecommand":
		a.inline(sc, idx, "ssh remote", arg{val: val, pos: opt.pos, dyn: opt.dyn}, shellCode, "ssh remote")
		return
	default:
		return
	}
	if strings.EqualFold(val, "none") {
		return
	}
	kind := "ssh " + name
	a.inline(sc, idx, kind, arg{val: val, pos: opt.pos, dyn: opt.dyn}, shellCode, kind)
}

var scpOptions = optionSpec{values: "BbcDFiJlOoPRSsX"}

// scp and sftp take ssh's -o options and name the program they connect
// with in -S (and sftp's server in -D).
func (a *analyzer) scp(sc scope, idx int, args []arg, cs callSite) {
	base := a.res.Commands[idx].Base
	opts, _ := scanAll(args[1:], &scpOptions)
	for _, o := range opts {
		switch {
		case !o.hasValue:
		case o.name == "o":
			a.sshOption(sc, idx, o.value)
		case o.name == "S" || o.name == "D" && base == "sftp":
			kind := base + " -" + o.name
			a.inline(sc, idx, kind, o.value, shellCode, kind)
		}
	}
}

// rsync runs the remote shell named by -e or --rsh, and on the remote side
// the program named by --rsync-path. Its options may be anywhere.
func (a *analyzer) rsync(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		s := x.val
		if x.dyn || len(s) < 2 || s[0] != '-' {
			continue
		}
		if s == "--" {
			return
		}
		if strings.HasPrefix(s, "--") {
			name, val, eq := strings.Cut(s[2:], "=")
			if name != "rsh" && name != "rsync-path" {
				continue
			}
			v := arg{val: val, pos: x.pos}
			if !eq {
				if i+1 >= len(args) {
					continue
				}
				i++
				v = args[i]
			}
			kind := "rsync --" + name
			if name == "rsh" {
				kind = "rsync -e"
			}
			a.inline(sc, idx, kind, v, shellCode, kind)
			continue
		}
		for k := 1; k < len(s); k++ {
			c := s[k]
			if strings.IndexByte("eBfMT@", c) < 0 {
				continue
			}
			v := arg{val: s[k+1:], pos: x.pos}
			if v.val == "" && i+1 < len(args) {
				i++
				v = args[i]
			}
			if c == 'e' {
				a.inline(sc, idx, "rsync -e", v, shellCode, "rsync -e")
			}
			break
		}
	}
}

// tarCommands lists the tar options whose value is a command, under their
// full names.
var tarCommands = optionSpec{long: []string{"to-command", "use-compress-program", "checkpoint-action",
	"info-script", "new-volume-script", "rsh-command", "rmt-command"}}

// tarShortValues lists the short tar options that take a value.
const tarShortValues = "bCfFgHIKLNTVX"

// tar runs commands named by --to-command, --use-compress-program (-I),
// --checkpoint-action=exec=, --info-script (-F), --rsh-command and
// --rmt-command. GNU tar permits options anywhere and the old form
// "tar cfI archive prog", where letters take the following words in turn.
func (a *analyzer) tar(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		s := x.val
		switch {
		case x.dyn || s == "" || s == "-":
		case s == "--":
			return
		case strings.HasPrefix(s, "--"):
			name, val, eq := strings.Cut(s[2:], "=")
			// --checkpoint is an option of its own, not an abbreviation.
			full, ok := tarCommands.longName(name)
			if !ok || name == "checkpoint" {
				continue
			}
			v := arg{val: val, pos: x.pos}
			if !eq {
				if i+1 >= len(args) {
					continue
				}
				i++
				v = args[i]
			}
			a.tarCommand(sc, idx, full, v)
		case s[0] == '-':
			for k := 1; k < len(s); k++ {
				c := s[k]
				if strings.IndexByte(tarShortValues, c) < 0 {
					continue
				}
				v := arg{val: s[k+1:], pos: x.pos}
				if v.val == "" && i+1 < len(args) {
					i++
					v = args[i]
				}
				a.tarShort(sc, idx, c, v)
				break
			}
		case i == 1:
			next := i + 1
			for k := 0; k < len(s); k++ {
				if strings.IndexByte(tarShortValues, s[k]) >= 0 && next < len(args) {
					a.tarShort(sc, idx, s[k], args[next])
					next++
				}
			}
			i = next - 1
		}
	}
}

func (a *analyzer) tarShort(sc scope, idx int, c byte, v arg) {
	switch c {
	case 'I':
		a.tarCommand(sc, idx, "use-compress-program", v)
	case 'F':
		a.tarCommand(sc, idx, "info-script", v)
	}
}

func (a *analyzer) tarCommand(sc scope, idx int, name string, v arg) {
	if name == "checkpoint-action" {
		if !strings.HasPrefix(v.val, "exec=") {
			return
		}
		v.val = strings.TrimPrefix(v.val, "exec=")
	}
	kind := "tar --" + name
	a.inline(sc, idx, kind, v, shellCode, kind)
}

// zip runs the command given to -TT (--unzip-command) to test the archive.
func (a *analyzer) zip(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		var v arg
		switch {
		case x.dyn:
			continue
		case x.val == "-TT" || x.val == "--unzip-command":
			if i+1 >= len(args) {
				continue
			}
			i++
			v = args[i]
		case strings.HasPrefix(x.val, "-TT="), strings.HasPrefix(x.val, "--unzip-command="):
			_, val, _ := strings.Cut(x.val, "=")
			v = arg{val: val, pos: x.pos}
		default:
			continue
		}
		a.inline(sc, idx, "zip -TT", v, shellCode, "zip -TT")
	}
}

// vim runs Ex commands given with -c, --cmd and +cmd. Ex commands are
// recorded as "vim -c"; those that run a shell command (":!cmd",
// ":r !cmd", ":w !cmd") have it analysed.
func (a *analyzer) vim(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		s := x.val
		var cmd arg
		switch {
		case x.dyn:
			continue
		case s == "--":
			return
		case s == "-c" || s == "--cmd":
			if i+1 >= len(args) {
				continue
			}
			i++
			cmd = args[i]
		case len(s) > 1 && s[0] == '+' && s[1] != '/' && !digits(s[1:]):
			cmd = arg{val: s[1:], pos: x.pos}
		default:
			continue
		}
		a.inline(sc, idx, "vim -c", cmd, otherCode, "")
		if cmd.dyn {
			continue
		}
		if sh, ok := vimShell(cmd.val); ok {
			a.nested(sc, idx, arg{val: sh, pos: cmd.pos}, "vim -c", false)
		}
	}
}

// vimShell returns the shell command of an Ex command that runs one.
func vimShell(ex string) (string, bool) {
	t := strings.TrimLeft(ex, " \t:")
	for _, p := range []string{"silent!", "silent"} {
		if strings.HasPrefix(t, p) {
			t = strings.TrimLeft(t[len(p):], " \t")
			break
		}
	}
	if strings.HasPrefix(t, "!") {
		return t[1:], true
	}
	for _, p := range []string{"r", "read", "w", "write"} {
		if rest, ok := strings.CutPrefix(t, p); ok {
			if rest = strings.TrimLeft(rest, " \t"); strings.HasPrefix(rest, "!") {
				return rest[1:], true
			}
		}
	}
	return "", false
}
