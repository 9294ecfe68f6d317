package shell

import (
	"slices"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

func TestANSIC(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`\x72\x6d`, "rm"},
		{`\162\155`, "rm"},
		{`\u0072\U0000006d`, "rm"},
		{`\u00e9`, "é"},
		{`a\tb\nc`, "a\tb\nc"},
		{`\a\b\e\E\f\r\v`, "\a\b\x1b\x1b\f\r\v"},
		{`\\ \' \" \?`, `\ ' " ?`},
		{`\cA\ca\c?`, "\x01\x01\x7f"},
		{`\x`, `\x`},
		{`\q`, `\q`},
		{`\xZ`, `\xZ`},
		{`trailing\`, `trailing\`},
		{`\c`, `\c`},
		{`a\0b`, "a"},
		{`a\x00b`, "a"},
		{`\777`, "\xff"},
		{`\U110000`, "\uFFFD"},
	}
	for _, tt := range tests {
		if got := ansiC(tt.in); got != tt.want {
			t.Errorf("ansiC(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		word string
		val  string
		dyn  bool
		glob bool
	}{
		{`rm`, "rm", false, false},
		{`r\m`, "rm", false, false},
		{`"r"'m'`, "rm", false, false},
		{`"a\"b\$c\d"`, `a"b$c\d`, false, false},
		{`$'\x72'm`, "rm", false, false},
		{`*.go`, "*.go", false, true},
		{`\*.go`, "*.go", false, false},
		{`"*.go"`, "*.go", false, false},
		{`a?`, "a?", false, true},
		{`[ab]`, "[ab]", false, true},
		{`[`, "[", false, false},
		{`]`, "]", false, false},
		{`!(x)`, "!(x)", false, true},
		{`~/x`, "~/x", false, false},
		{`$x`, "$x", true, false},
		{`"$x"`, `"$x"`, true, false},
		{`a$(b)c`, "a$(b)c", true, false},
		{`$((1+2))`, "$((1+2))", true, false},
		{`<(ls)`, "<(ls)", false, false},
	}
	p := syntax.NewParser(syntax.Variant(syntax.LangBash))
	for _, tt := range tests {
		var w *syntax.Word
		for word, err := range p.WordsSeq(strings.NewReader(tt.word)) {
			if err != nil {
				t.Fatalf("parse %q: %v", tt.word, err)
			}
			w = word
		}
		got := resolve(tt.word, w)
		if got.val != tt.val || got.dyn != tt.dyn || got.glob != tt.glob {
			t.Errorf("resolve(%q) = %q dyn=%v glob=%v, want %q dyn=%v glob=%v", tt.word, got.val, got.dyn, got.glob, tt.val, tt.dyn, tt.glob)
		}
	}
}

func TestScanOptions(t *testing.T) {
	spec := optionSpec{values: "u", optional: "i", long: []string{"user", "chdir"}}
	tests := []struct {
		args []string
		opts string // name=value pairs, space-separated
		n    int
		end  bool
	}{
		{[]string{"-u", "root", "ls"}, "u=root", 2, false},
		{[]string{"-uroot", "ls"}, "u=root", 1, false},
		{[]string{"-xu", "root", "ls"}, "x u=root", 2, false},
		{[]string{"-i.bak", "ls"}, "i=.bak", 1, false},
		{[]string{"-i", "ls"}, "i", 1, false},
		{[]string{"--user", "root", "ls"}, "user=root", 2, false},
		{[]string{"--us", "root", "ls"}, "user=root", 2, false},
		{[]string{"--user=root", "ls"}, "user=root", 1, false},
		{[]string{"--verbose", "ls"}, "verbose", 1, false},
		{[]string{"--", "-u"}, "", 1, true},
		{[]string{"-", "x"}, "", 0, false},
		{[]string{"ls", "-u"}, "", 0, false},
		{[]string{"-u"}, "u", 1, false},
	}
	for _, tt := range tests {
		args := make([]arg, len(tt.args))
		for i, s := range tt.args {
			args[i] = arg{val: s}
		}
		opts, n, end := scanOptions(args, &spec)
		var got []string
		for _, o := range opts {
			if o.hasValue {
				got = append(got, o.name+"="+o.value.val)
			} else {
				got = append(got, o.name)
			}
		}
		if strings.Join(got, " ") != tt.opts || n != tt.n || end != tt.end {
			t.Errorf("scanOptions(%q) = %q, %d, %v; want %q, %d, %v", tt.args, got, n, end, tt.opts, tt.n, tt.end)
		}
	}
}

func TestAwkCommands(t *testing.T) {
	tests := []struct {
		prog     string
		cmds     []string
		runs     bool
		computed bool
	}{
		{`{print $1}`, nil, false, false},
		{`/a|b/ {print}`, nil, false, false},
		{`$1 == "x|y" {print}`, nil, false, false},
		{`x || y`, nil, false, false},
		{`BEGIN{system("rm -rf /")}`, []string{"rm -rf /"}, true, false},
		{`BEGIN { system ( "id" ) }`, []string{"id"}, true, false},
		{`{system($0)}`, nil, true, true},
		{`{system("rm " $1)}`, nil, true, true},
		{`{print | "sort -k2"}`, []string{"sort -k2"}, true, false},
		{`{print > "f"; print | cmd}`, nil, true, true},
		{`BEGIN { "date" | getline d }`, []string{"date"}, true, false},
		{`BEGIN { cmd | getline d }`, nil, true, true},
		{`BEGIN { "a" "b" | getline }`, nil, true, true},
		{`BEGIN { print "x" |& "bc"; "bc" |& getline r }`, []string{"bc", "bc"}, true, false},
		{`BEGIN { x = 4 / 2; print x | "cat" }`, []string{"cat"}, true, false},
		{`# system("no")` + "\n{print}", nil, false, false},
		{`BEGIN { print "unterminated }`, nil, false, false},
		{`BEGIN { s = "a\"b"; system("echo \"hi\"") }`, []string{`echo "hi"`}, true, false},
	}
	for _, tt := range tests {
		cmds, runs, computed := awkCommands(tt.prog)
		if strings.Join(cmds, "\x00") != strings.Join(tt.cmds, "\x00") || runs != tt.runs || computed != tt.computed {
			t.Errorf("awkCommands(%q) = %q, %v, %v; want %q, %v, %v", tt.prog, cmds, runs, computed, tt.cmds, tt.runs, tt.computed)
		}
	}
}

func TestSedCommands(t *testing.T) {
	tests := []struct {
		script   string
		cmds     []string
		runs     bool
		fromData bool
	}{
		{`s/a/b/g`, nil, false, false},
		{`s/hello/there/`, nil, false, false},
		{`/error/d; s/e/E/2`, nil, false, false},
		{`s/a/b/e`, nil, true, true},
		{`s|a|b|ge`, nil, true, true},
		{`s/x/y/w out.txt`, nil, false, false},
		{`1e id`, []string{"id"}, true, false},
		{`$e rm -rf /`, []string{"rm -rf /"}, true, false},
		{"e", nil, true, true},
		{"/x/e date\np", []string{"date"}, true, false},
		{`1,/end/ { s/a/b/; e ls` + "\n}", []string{"ls"}, true, false},
		{`a\` + "\n" + `text with e`, nil, false, false},
		{`i hello e`, nil, false, false},
		{`y/abc/xyz/`, nil, false, false},
		{`:top; s/e/f/; t top`, nil, false, false},
		{`\,e,d`, nil, false, false},
		{`s/a\/e/b/`, nil, false, false},
		{`1~2e echo odd`, []string{"echo odd"}, true, false},
		{`s/a/b`, nil, false, false},
		{`k weird e`, nil, true, true},
	}
	for _, tt := range tests {
		cmds, runs, fromData := sedCommands(tt.script)
		if strings.Join(cmds, "\x00") != strings.Join(tt.cmds, "\x00") || runs != tt.runs || fromData != tt.fromData {
			t.Errorf("sedCommands(%q) = %q, %v, %v; want %q, %v, %v", tt.script, cmds, runs, fromData, tt.cmds, tt.runs, tt.fromData)
		}
	}
}

func TestFamily(t *testing.T) {
	tests := map[string]string{
		"bash": "sh", "sh": "sh", "ksh93": "sh", "python3.12": "python", "pypy3": "python",
		"perl5.36": "perl", "nodejs": "node", "Rscript": "R", "powershell.exe": "pwsh",
		"PowerShell": "pwsh", "wish8.6": "tclsh", "ls": "", "shellcheck": "", "7z": "",
	}
	for in, want := range tests {
		if got := family(in); got != want {
			t.Errorf("family(%q) = %q, want %q", in, got, want)
		}
	}
}

// The files sed and awk scripts write and read themselves.
func TestProgramFiles(t *testing.T) {
	for _, tt := range []struct {
		script        string
		writes, reads []string
	}{
		{"w /etc/x", []string{"/etc/x"}, nil},
		{"s/a/b/w out.log", []string{"out.log"}, nil},
		{"s/a/b/gw  /tmp/y\np", []string{"/tmp/y"}, nil},
		{"/x/W f2", []string{"f2"}, nil},
		{"r /home/u/.ssh/id_rsa", nil, []string{"/home/u/.ssh/id_rsa"}},
		{"1R in.txt", nil, []string{"in.txt"}},
		{"s/w/r/g", nil, nil},
		{"y/wr/rw/", nil, nil},
	} {
		info := sedScript(tt.script)
		if !slices.Equal(info.writes, tt.writes) || !slices.Equal(info.reads, tt.reads) {
			t.Errorf("sed %q: writes %q reads %q, want %q %q", tt.script, info.writes, info.reads, tt.writes, tt.reads)
		}
	}
	for _, tt := range []struct {
		prog          string
		writes, reads []string
	}{
		{`{print > "/etc/x"}`, []string{"/etc/x"}, nil},
		{`{print $1 >> "out"; next}`, []string{"out"}, nil},
		{`{printf "%s", $0 > "a" }`, []string{"a"}, nil},
		{`BEGIN { while ((getline l < "/etc/shadow") > 0) print l }`, nil, []string{"/etc/shadow"}},
		{`{print > $1 ".txt"}`, nil, nil},
		{`$1 > 3 {print}`, nil, nil},
	} {
		w, r := awkFiles(tt.prog)
		if !slices.Equal(w, tt.writes) || !slices.Equal(r, tt.reads) {
			t.Errorf("awk %q: writes %q reads %q, want %q %q", tt.prog, w, r, tt.writes, tt.reads)
		}
	}
}
