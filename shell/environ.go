package shell

import (
	"maps"
	"slices"
	"strings"
)

// envVar says whether an environment variable makes programs run code:
// shell code for variables holding a command (GIT_SSH_COMMAND, EDITOR),
// other code for those naming code to load (LD_PRELOAD, BASH_ENV,
// NODE_OPTIONS).
func envVar(name string) (codeLang, bool) {
	switch name {
	case "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER",
		"GIT_EXTERNAL_DIFF", "GIT_ASKPASS", "GIT_PROXY_COMMAND", "SSH_ASKPASS", "SUDO_ASKPASS",
		"EDITOR", "VISUAL", "PAGER", "MANPAGER", "SYSTEMD_PAGER", "BROWSER", "LESSOPEN",
		"LESSCLOSE", "RSYNC_RSH", "CVS_RSH", "FCEDIT", "PROMPT_COMMAND", "FZF_DEFAULT_COMMAND":
		return shellCode, true
	case "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTC", "RUSTDOC", "CARGO_BUILD_RUSTC_WRAPPER",
		"GOFLAGS", "MAKEFLAGS", "MFLAGS",
		"CMAKE_C_COMPILER_LAUNCHER", "CMAKE_CXX_COMPILER_LAUNCHER", "npm_config_script_shell",
		"NPM_CONFIG_SCRIPT_SHELL", "PIP_CONFIG_FILE", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
		"GIT_CONFIG_PARAMETERS", "MANOPT", "FZF_DEFAULT_OPTS", "PS0", "PS1", "PS2", "PS4":
		// Build tools run what these name, or take options that do
		// (GOFLAGS=-toolexec=..., MAKEFLAGS=--eval=...).
		return otherCode, true
	case "LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH",
		"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME",
		"PERL5OPT", "PERL5LIB", "PERLLIB", "NODE_OPTIONS", "NODE_PATH", "RUBYOPT", "RUBYLIB",
		"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "GCONV_PATH",
		"GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM":
		return otherCode, true
	}
	// Exported bash functions, defined in every bash that starts; cargo's
	// per-target runners and linkers.
	return otherCode, strings.HasPrefix(name, "BASH_FUNC_") ||
		strings.HasPrefix(name, "CARGO_TARGET_") && (strings.HasSuffix(name, "_RUNNER") || strings.HasSuffix(name, "_LINKER"))
}

// environ analyses the assignments of the command at idx: those that make
// programs run code are recorded as CodeExec "env NAME", with shell
// commands analysed, and git configuration passed in GIT_CONFIG_KEY_n and
// GIT_CONFIG_VALUE_n is judged as git -c would be. Setting PATH gets a
// note, since it changes which programs later names run.
func (a *analyzer) environ(sc scope, idx int) {
	assigns := a.res.Commands[idx].Assigns
	var gitKeys, gitValues map[string]Assign
	for _, as := range assigns {
		if n, ok := strings.CutPrefix(as.Name, "GIT_CONFIG_KEY_"); ok {
			if gitKeys == nil {
				gitKeys = map[string]Assign{}
			}
			gitKeys[n] = as
			continue
		}
		if n, ok := strings.CutPrefix(as.Name, "GIT_CONFIG_VALUE_"); ok {
			if gitValues == nil {
				gitValues = map[string]Assign{}
			}
			gitValues[n] = as
			continue
		}
		if as.Name == "PATH" {
			a.note(a.res.Commands[idx].Pos, "PATH is set to %s, which changes which programs names run", quoteNote(as.Value))
			continue
		}
		lang, ok := envVar(as.Name)
		if !ok {
			// The compilers a build runs through the shell: a plain
			// program name (CC=clang) is a choice of compiler; shell
			// syntax in it is a command of the agent's.
			switch as.Name {
			case "CC", "CXX", "CPP", "LD", "AR", "FC", "AS", "NM", "RANLIB", "STRIP", "OBJCOPY":
				// A program by name is a choice of compiler; a path or
				// shell syntax is a program of the agent's.
				ok = as.Dynamic || strings.ContainsAny(as.Value, makeMeta+"/")
				lang = otherCode
			case "LESS":
				ok = as.Dynamic || strings.Contains(as.Value, "+") // +cmd runs less commands
				lang = otherCode
			case "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "RUSTDOCFLAGS", "CFLAGS", "CXXFLAGS",
				"CPPFLAGS", "LDFLAGS", "GOGCCFLAGS", "CGO_CFLAGS", "CGO_LDFLAGS":
				// Flags that make the compiler run another program: a
				// linker, a plugin, tools looked up in a directory.
				v := as.Value
				ok = as.Dynamic || strings.Contains(v, "@")
				for _, k := range []string{"linker", "link-arg", "plugin", "-fuse-ld", "-wrapper", "-B", "-Xlinker",
					"-Xclang", "specs", "ld-path", "codegen-backend", "-Z"} {
					ok = ok || strings.Contains(v, k)
				}
				lang = otherCode
			}
		}
		if !ok {
			continue
		}
		val := as.Value
		if as.Name == "LESSOPEN" || as.Name == "LESSCLOSE" {
			val = strings.TrimLeft(val, "|")
		}
		kind := "env " + as.Name
		if own := a.res.Commands[idx].CodeExec; own != "" && own != kind {
			// The command's own code took CodeExec (bash -c, python -c):
			// the code its environment gives it must still count.
			a.dynamic(idx, "%s: its environment sets %s, which makes it load or run other code", a.res.Commands[idx].Name, as.Name)
		}
		a.inline(sc, idx, kind, arg{val: val, dyn: as.Dynamic}, lang, kind)
	}
	for _, n := range slices.Sorted(maps.Keys(gitKeys)) {
		key := gitKeys[n]
		val, ok := gitValues[n]
		if !ok {
			continue
		}
		item := arg{val: key.Value + "=" + val.Value, dyn: key.Dynamic || val.Dynamic}
		a.gitConfig(sc, idx, item, "env GIT_CONFIG ")
	}
}

// hash -p NAME binds NAME to a program path, so that later commands named
// NAME run something else.
func (a *analyzer) hash(sc scope, idx int, args []arg, cs callSite) {
	for _, x := range args[1:] {
		if x.val == "-p" || strings.HasPrefix(x.val, "-") && strings.Contains(x.val, "p") && !x.dyn {
			a.dynamic(idx, "hash -p changes the program a command name runs")
			return
		}
	}
}

// enable -f loads a builtin from a shared object: native code run inside
// the shell.
func (a *analyzer) enable(sc scope, idx int, args []arg, cs callSite) {
	for i := 1; i < len(args); i++ {
		x := args[i]
		switch {
		case x.val == "-f" && i+1 < len(args):
			a.inline(sc, idx, "enable -f", args[i+1], otherCode, "")
			return
		case strings.HasPrefix(x.val, "-f") && len(x.val) > 2:
			a.inline(sc, idx, "enable -f", arg{val: x.val[2:], pos: x.pos}, otherCode, "")
			return
		}
	}
}
