// Package shell finds the commands that a piece of shell text would run,
// without running anything.
//
// Analyze parses text as bash with mvdan.cc/sh/v3/syntax and walks the
// tree. It reports every simple command, wherever it sits: in lists and
// pipelines, in compound commands and function bodies, in command and
// process substitutions in any word (arguments, redirection targets,
// assignments, unquoted here-documents, ${x:-$(cmd)}), and in the
// arguments of other commands that run them:
//
//   - wrappers such as sudo, env, nice, timeout, xargs and find -exec,
//     which are reported together with the command they run;
//   - shells given code, as in bash -c STR, su -c STR, eval, trap and
//     alias, whose code is parsed and analysed in turn, up to MaxDepth
//     levels deep;
//   - interpreters given code inline (python -c, perl -e, node -e, ...),
//     or reading a program from stdin, whose code is recorded;
//   - tools whose options name a command: git -c core.sshCommand=...,
//     ssh -o ProxyCommand=..., tar --to-command=..., rsync -e, zip -TT,
//     vim -c '!cmd', awk's system(), sed's e command;
//   - environment variables that make programs run code, whether set for
//     one command or exported: GIT_SSH_COMMAND, EDITOR, PAGER, LD_PRELOAD,
//     BASH_ENV, NODE_OPTIONS, GIT_CONFIG_KEY_n, ...
//
// Words are resolved statically where bash would give the same result
// whatever the environment: quotes and backslashes are removed, $'...' is
// decoded and brace expansion is performed, so r\m, "r""m", $'\x72m' and
// {r,}m all name rm. Anything else that decides what runs (a parameter or
// a command substitution in a command name, a glob in a command name,
// eval of a variable, code read from a pipe, an IFS assignment, hash -p)
// makes the command and the Analysis Dynamic, with a note. A policy must
// not allow dynamic text by default.
//
// Variables are resolved only where their value is certain: a variable the
// text sets exactly once, in a statement of its own at the top level, to a
// static value, from that statement on ("d=build; rm -rf $d" is rm -rf
// build); and, with AnalyzeEnv, a variable of the environment the caller
// names (HOME) that the text never sets. Anything that can change
// variables in ways the analysis does not follow (eval, source, read,
// declare and its kin, unset, printf -v, trap, arithmetic, a command whose
// name is not static...) leaves every variable unknown, and so do code
// strings, which another shell runs.
//
// # Via
//
// Command.Via lists how a command was reached, outermost first:
//
//	"sudo", "env", "nice", ...   the base name of a wrapper that runs it
//	"find -exec"                 also "find -execdir", "find -ok", "find -okdir"
//	"fd -x"                      also "fd --exec", "fd -X", "fd --exec-batch"
//	"xargs", "parallel", "watch", "flock -c", "script -c"
//	"git bisect run", "git submodule foreach", "git rebase --exec", ...
//	"bash -c"                    code of a shell; the shell's base name, then " -c"
//	"bash stdin"                 code a shell reads from a here-document or from echo piped in
//	"su -c", "runuser -c"        code run through the target user's shell
//	"eval", "trap", "alias NAME" code stored or built by shell builtins
//	"$()", "<()", ">()"          command and process substitutions, backquotes included
//	"function NAME"              the body of a function definition
//	"coproc"                     the command of a coprocess
//	"ssh remote"                 code run on the remote host by ssh
//	"ssh ProxyCommand"           also LocalCommand and KnownHostsCommand
//	"git -c KEY", "git config KEY"  a configuration value run as a command
//	"tar --to-command", "rsync -e", "zip -TT", "vim -c", "awk system", "sed e", ...
//	"env GIT_SSH_COMMAND"        a command held in an environment variable; also
//	                             "env GIT_CONFIG KEY" for GIT_CONFIG_KEY_n/VALUE_n
//
// # CodeExec
//
// Command.CodeExec says how a command runs code that is not a program
// file:
//
//	"sh -c"           a shell's -c (bash, sh, zsh, dash, ksh, fish, ... and busybox sh)
//	"su -c", "runuser -c", "flock -c", "script -c", "watch", "parallel"
//	"eval", "trap", "alias"
//	"stdin script"    a program read from stdin: curl ... | sh, python3 - <<EOF, bash < f,
//	                  source <(...), sudo -s; Code holds it when it is a literal here-document,
//	                  here-string or echo; a named file (bash < f) is judged by its name, as
//	                  bash f is; otherwise the command is Dynamic
//	"python -c", "perl -e", "ruby -e", "php -r", "lua -e", "node -e", "bun -e",
//	"deno eval", "Rscript -e", "osascript -e", "expect -c", "powershell -c"
//	"awk system"      an awk program that runs commands (system, pipes, getline)
//	"sed e"           a sed script with the e command or the e flag of s
//	"vim -c"          Ex commands given on the command line
//	"git -c KEY", "git config KEY", "git --config-env KEY", "git --exec-path",
//	"git rebase --exec", "git filter-branch --tree-filter", ...
//	"ssh remote", "ssh ProxyCommand", "scp -S", "rsync -e", "rsync --rsync-path",
//	"tar --to-command", "tar --use-compress-program", "tar --checkpoint-action",
//	"tar --info-script", "zip -TT"
//	"env NAME"        an assignment to a variable that makes programs run code:
//	                  a command (GIT_SSH_COMMAND, EDITOR, PAGER, PROMPT_COMMAND, ...) or
//	                  code to load (LD_PRELOAD, BASH_ENV, NODE_OPTIONS, PYTHONPATH, ...)
//	"enable -f"       a builtin loaded from a shared object
//
// Shell code found this way is analysed and its commands follow the
// command that runs it. Code in other languages is only recorded.
//
// # Redirections
//
// Each command carries its own redirections. Those of a compound command
// ({ ...; } > f, while ...; done < f, ( ... ) 2>&1) are appended to every
// command inside it with Inherited set; when no command inside takes them,
// as in "(( n )) > f", a Bare command carries them instead. A statement
// with only assignments or redirections ("X=1", "> f") is a Bare command.
//
// # Limits
//
// Analysis is bounded: MaxSource bytes of text, MaxCommands commands,
// MaxDepth levels of code in strings, and internal limits on nesting and
// brace expansion. Reaching one makes the Analysis Dynamic rather than
// failing. Analyze does not panic on any input.
package shell
