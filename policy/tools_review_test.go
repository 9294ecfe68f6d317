package policy

import "testing"

// Texts where a build, debugging or text tool runs a command, or writes a
// file, that the default policy denies, spelled so that the analysis of
// the tool's options (shell/tools.go, shell/sed.go, shell/awk.go) misses
// it: GNU getopt's abbreviations of long options, clustered short options,
// attached values, make's other assignment operators, scripts read from
// stdin. Each text is data only; the tests never run it.
//
// What was checked against the real tools (with a harmless printf in
// place of the command): make 4.3 (::=, !=, " := ", --ev=, --eva,
// -sf -, --fil=/dev/stdin, --makef=-), gdb 15 (-eval, --eval=,
// -init-eval), split --fil, sort --compress-prog and install
// --strip-prog (accepted), man --pag and -aP (accepted), sed -f - with
// an e command on stdin, awk print > "a" "b" (writes ab).
func TestReviewToolOptions(t *testing.T) {
	// real: what the tool runs or does, which the policy does not allow.
	cases := []struct{ name, cmd, real string }{
		// make: assignments other than NAME=value and NAME:=value are
		// expanded (::=, :::=) or run (!=) when make reads its command
		// line; spaces around the operator are allowed.
		{"make-colon-colon-eq", "make 'X::=$(shell rm -rf ~)'", "rm -rf ~"},
		{"make-triple-colon-eq", "make 'X:::=$(shell rm -rf ~)'", "rm -rf ~"},
		{"make-bang-eq", "make 'X != rm -rf ~'", "rm -rf ~"},
		{"make-bang-eq-nospace", "make 'X!=rm -rf ~'", "rm -rf ~"},
		{"make-spaced-colon-eq", "make 'X := $(shell rm -rf ~)'", "rm -rf ~"},
		// getopt_long accepts any unambiguous prefix of a long option.
		{"make-eval-abbrev-eq", "make --ev='$(shell rm -rf ~)'", "rm -rf ~"},
		{"make-eval-abbrev", "make --eva '$(shell rm -rf ~)'", "rm -rf ~"},
		{"make-file-abbrev-stdin", "make --fil=/dev/stdin <<< $'all:\\n\\trm -rf ~'", "rm -rf ~"},
		{"make-makefile-abbrev-stdin", "make --makef=- <<< $'all:\\n\\trm -rf ~'", "rm -rf ~"},
		// Clustered short options: -s and -f -, -s and -E (make 4.4's --eval).
		{"make-cluster-f-stdin", "make -sf - <<< $'all:\\n\\trm -rf ~'", "rm -rf ~"},
		{"make-cluster-E", "make -sE '$(shell rm -rf ~)'", "rm -rf ~"},
		{"make-cluster-E-attached", "make -kE'$(shell rm -rf ~)'", "rm -rf ~"},
		// gdb takes long options after one dash and abbreviations of them.
		{"gdb-eval-abbrev", "gdb -batch -eval 'shell rm -rf ~'", "rm -rf ~"},
		{"gdb-eval-abbrev-eq", "gdb -batch --eval='shell rm -rf ~'", "rm -rf ~"},
		{"gdb-init-eval-abbrev", "gdb -batch -init-eval 'shell rm -rf ~'", "rm -rf ~"},
		// julia parses its options with getopt_long ("+vhqH:e:E:L:…"):
		// -e takes an attached value and clusters; --eval abbreviates;
		// a script or -L file can be stdin.
		{"julia-e-attached", "julia -e'run(`rm -rf /home/dev`)'", "rm -rf /home/dev"},
		{"julia-E-attached", "julia -E'run(`rm -rf /home/dev`)'", "rm -rf /home/dev"},
		{"julia-cluster-qe", "julia -qe 'run(`rm -rf /home/dev`)'", "rm -rf /home/dev"},
		{"julia-eval-abbrev", "julia --ev 'run(`rm -rf /home/dev`)'", "rm -rf /home/dev"},
		{"julia-script-stdin", "julia /dev/stdin <<< 'run(`rm -rf /home/dev`)'", "rm -rf /home/dev"},
		{"julia-L-stdin", "julia -L /dev/stdin <<< 'run(`rm -rf /home/dev`)'", "rm -rf /home/dev"},
		// emacs completes abbreviated long options (command-line-1's
		// try-completion over its longopts) and loads a script from stdin.
		{"emacs-eval-abbrev", "emacs --batch --ev '(shell-command \"rm -rf ~\")'", "rm -rf ~"},
		{"emacs-execute-abbrev", "emacs --batch --exec '(shell-command \"rm -rf ~\")'", "rm -rf ~"},
		{"emacs-script-stdin", "emacs --batch --script /dev/stdin <<< '(shell-command \"rm -rf ~\")'", "rm -rf ~"},
		// cmake -P and ctest -S run a CMake script, here from stdin.
		{"cmake-P-stdin", "cmake -P /dev/stdin <<< 'execute_process(COMMAND rm -rf /home/dev)'", "rm -rf /home/dev"},
		{"ctest-S-stdin", "ctest -S /dev/stdin <<< 'execute_process(COMMAND rm -rf /home/dev)'", "rm -rf /home/dev"},
		// GNU getopt abbreviations of the options programOption follows.
		{"split-filter-abbrev", "split --fil='rm -rf ~' f", "rm -rf ~"},
		{"sort-compress-abbrev", "sort --compress-prog=/tmp/evil -S 1 f", "/tmp/evil"},
		{"install-strip-abbrev", "install -s --strip-prog=/tmp/evil a b", "/tmp/evil"},
		// man (argp): abbreviated --pager, and -P clustered after -a.
		{"man-pager-abbrev", "man --pag='rm -rf ~' ls", "rm -rf ~"},
		{"man-cluster-aP", "man -aP 'rm -rf ~' ls", "rm -rf ~"},
		// less ends a search typed through +cmd at a carriage return as
		// at a newline; the ! after it runs a shell command.
		{"less-search-CR", "less $'+/x\\r!rm -rf ~\\r' f", "rm -rf ~"},
		// fzf's transform(…) action runs a command and reads actions from it.
		{"fzf-transform", "fzf --bind 'start:transform(rm -rf ~)'", "rm -rf ~"},
		// go's external linker is a program the build runs.
		{"go-ldflags-extld", "go build -ldflags='-linkmode=external -extld=/tmp/evil' .", "/tmp/evil"},
		// cargo --config: doc.browser is run by cargo doc --open; TOML
		// quoted keys take \u escapes, so "runn\u0065r" is runner; a
		// --config naming a file (stdin here) is read as a config file;
		// build.rustflags is RUSTFLAGS. Checked with cargo 1.95: the
		// browser ran, through the escaped key and from /dev/stdin too.
		{"cargo-doc-browser", "cargo doc --open --config 'doc.browser=[\"sh\",\"-c\",\"rm -rf ~\"]'", "rm -rf ~"},
		{"cargo-runner-escaped-key", "cargo test --config 'target.x86_64-unknown-linux-gnu.\"runn\\u0065r\"=\"rm -rf ~\"'", "rm -rf ~"},
		{"cargo-config-stdin", "cargo test --config /dev/stdin <<< 'target.x86_64-unknown-linux-gnu.runner=\"rm -rf ~\"'", "rm -rf ~"},
		{"cargo-rustflags-fuse-ld", "cargo build --config 'build.rustflags=[\"-Clink-arg=-fuse-ld=/tmp/evil\"]'", "/tmp/evil"},
		// sed and awk programs read from stdin are not read at all.
		{"sed-f-dash-e", "sed -f - f <<< '1e rm -rf ~'", "rm -rf ~"},
		{"sed-f-stdin-e", "sed -f /dev/stdin f <<< '1e rm -rf ~'", "rm -rf ~"},
		{"sed-f-dash-w", "sed -n -f - f <<< 'w /etc/cron.d/x'", "printf x > /etc/cron.d/x"},
		{"awk-f-dash-system", "awk -f - f <<< 'BEGIN{system(\"rm -rf ~\")}'", "rm -rf ~"},
		{"awk-f-stdin-system", "awk -f /dev/stdin <<< 'BEGIN{system(\"rm -rf ~\")}'", "rm -rf ~"},
		// awk's output redirection takes a concatenation: "a" "b" is ab.
		{"awk-print-concat", "awk '{print > \"/etc/cron.d/\" \"x\"}' f", "printf x > /etc/cron.d/x"},
		{"awk-print-concat-empty", "awk '{print > \"/etc/cron.d/x\" \"\"}' f", "printf x > /etc/cron.d/x"},
		{"awk-printf-concat", "awk 'BEGIN{printf \"%s\", \"x\" > \"/etc/\" \"cron.d/x\"}'", "printf x > /etc/cron.d/x"},
		// sqlite3's .once/.output and writefile() write any file.
		{"sqlite-once", "sqlite3 db '.once /etc/cron.d/x' 'select 1;'", "printf x > /etc/cron.d/x"},
		{"sqlite-writefile", "sqlite3 db \"select writefile('/etc/cron.d/x', 'x');\"", "printf x > /etc/cron.d/x"},
	}
	checkReviewCases(t, cases)
}

// Environment variables that make a tool run a program or a command,
// which shell/environ.go does not count as code. GIT_CONFIG_PARAMETERS
// was checked against git 2.39 (core.fsmonitor ran on git status).
func TestReviewToolEnvironment(t *testing.T) {
	checkReviewCases(t, []struct{ name, cmd, real string }{
		// git -c's own variable; GIT_CONFIG_KEY_n/VALUE_n are followed.
		{"GIT_CONFIG_PARAMETERS", "GIT_CONFIG_PARAMETERS=\"'core.fsmonitor'='rm -rf ~'\" git status",
			"GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0='rm -rf ~' git status"},
		// Compiler and linker flags that name a program or a plugin:
		// a gcc specs file rewrites the programs gcc runs; clang's
		// --ld-path and -Xclang -load; the linker's --plugin; a response
		// file holds any flag (-B among them); rustc's codegen backend.
		{"CFLAGS-specs", "CFLAGS='-specs=/tmp/evil.specs' make", "/tmp/evil"},
		{"CFLAGS-specs-dashdash", "CFLAGS='--specs=/tmp/evil.specs' make", "/tmp/evil"},
		{"LDFLAGS-ld-path", "LDFLAGS='--ld-path=/tmp/evil' make", "/tmp/evil"},
		{"CFLAGS-Xclang-load", "CFLAGS='-Xclang -load -Xclang /tmp/evil.so' make", "/tmp/evil"},
		{"LDFLAGS-Wl-dashdash-plugin", "LDFLAGS='-Wl,--plugin=/tmp/evil.so' make", "/tmp/evil"},
		{"LDFLAGS-Wl-list-plugin", "LDFLAGS='-Wl,-z,now,-plugin,/tmp/evil.so' make", "/tmp/evil"},
		{"CFLAGS-response-file", "CFLAGS='@/tmp/flags' make", "/tmp/evil"},
		{"RUSTFLAGS-codegen-backend", "RUSTFLAGS='-Zcodegen-backend=/tmp/evil.so' cargo build", "/tmp/evil"},
		// CC naming a program outside the workspace, without shell syntax.
		{"CC-program", "CC=/tmp/evil make", "/tmp/evil"},
		// Options read from the environment: man's MANOPT, less's LESS,
		// fzf's FZF_DEFAULT_OPTS, and FZF_DEFAULT_COMMAND, run through
		// the shell.
		{"MANOPT-pager", "MANOPT='--pager=rm\\ -rf\\ ~' man ls", "rm -rf ~"},
		{"LESS-plus-bang", "LESS='+!rm -rf ~' less f", "rm -rf ~"},
		{"FZF_DEFAULT_OPTS-preview", "FZF_DEFAULT_OPTS='--preview \"rm -rf ~\"' fzf", "rm -rf ~"},
		{"FZF_DEFAULT_COMMAND", "FZF_DEFAULT_COMMAND='rm -rf ~' fzf", "rm -rf ~"},
	})
}

// Hidden code in a new bash: the exported value is evaluated by the
// child's arithmetic, and SHELLOPTS=xtrace in the environment makes the
// child expand PS4, as does PS4 given through env to bash -x (checked
// against bash 5.2 with touch in place of rm; bash imports PS4 only when
// not running as root). bash expands BASH_ENV's value, command
// substitutions included, before sourcing the file it names (checked
// against bash 5.2, also as root).
// The analysis judges the child's text alone and allows it.
func TestReviewHiddenCodeNested(t *testing.T) {
	checkReviewCases(t, []struct{ name, cmd, real string }{
		{"env-prefix-nested-arith", "x='a[$(rm -rf ~)]' bash -c '(( x ))'", "rm -rf ~"},
		{"export-nested-arith", "export x='a[$(rm -rf ~)]'; bash -c '(( x ))'", "rm -rf ~"},
		{"env-SHELLOPTS-PS4", "env SHELLOPTS=xtrace PS4='$(rm -rf ~)' bash -c true", "rm -rf ~"},
		{"env-PS4-bash-x", "env PS4='$(rm -rf ~)' bash -xc true", "rm -rf ~"},
		{"BASH_ENV-command-substitution", "BASH_ENV='$(rm -rf ~)' bash -c true", "rm -rf ~"},
		{"env-BASH_ENV-command-substitution", "env BASH_ENV='$(rm -rf ~)' bash -c true", "rm -rf ~"},
	})
}

// checkReviewCases fails each case whose text is allowed although what
// it runs (real) is not.
func checkReviewCases(t *testing.T, cases []struct{ name, cmd, real string }) {
	t.Helper()
	p := Default()
	ws, home := "/home/dev/app", "/home/dev"
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			real := p.Decide(Request{Command: c.real, Workspace: ws, Home: home})
			if real.Verdict == Allow {
				t.Fatalf("the real command %q is allowed; the case proves nothing", c.real)
			}
			d := p.Decide(Request{Command: c.cmd, Workspace: ws, Home: home})
			t.Logf("real %q: %v (%s); text: %v (%s) dynamic=%v", c.real, real.Verdict, real.Rule, d.Verdict, d.Rule, d.Dynamic)
			if d.Verdict == Allow {
				t.Errorf("%q allowed (%s), but the tool runs what the policy judges %v (%s)", c.cmd, d.Rule, real.Verdict, real.Rule)
			}
		})
	}
}
