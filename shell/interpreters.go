package shell

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf16"
)

// interpreterSpec describes how an interpreter takes inline code from its
// options. Specs are declared as package variables and never modified.
type interpreterSpec struct {
	kind       string   // CodeExec for inline code, e.g. "python -c"
	code       string   // short options whose value is code: attached or the next word
	exact      []string // whole words whose next word is code (node's "-pe")
	longCode   []string // long options whose value is code
	values     string   // other short options taking a value, attached or the next word
	rest       string   // short options taking the rest of the cluster, if any, as their value
	digits     string   // short options followed by optional digits (perl -l, -0)
	longValues []string // other long options taking a value
	program    string   // short options naming a module or file to run (python -m, php -f)
	codeEnds   bool     // the words after inline code are the program's arguments
	noStdin    bool     // with neither code nor script, the interpreter does not read stdin
}

// Interpreter specs, read-only.
var (
	pythonSpec = interpreterSpec{kind: "python -c", code: "c", values: "WXQ", program: "m", codeEnds: true}
	perlSpec   = interpreterSpec{kind: "perl -e", code: "eE", values: "I", rest: "iMmxdDCFV", digits: "l0"}
	rubySpec   = interpreterSpec{kind: "ruby -e", code: "e", values: "rICE", rest: "FixTWK", digits: "0"}
	phpSpec    = interpreterSpec{kind: "php -r", code: "rBRE", values: "cdztS", program: "fF"}
	luaSpec    = interpreterSpec{kind: "lua -e", code: "e", values: "l"}
	rSpec      = interpreterSpec{kind: "Rscript -e", code: "e", program: "f"}
	osaSpec    = interpreterSpec{kind: "osascript -e", code: "e", values: "ls"}
	tclSpec    = interpreterSpec{kind: "tclsh", longValues: []string{"encoding"}}
	expectSpec = interpreterSpec{kind: "expect -c", code: "c", program: "f"}
	nodeSpec   = interpreterSpec{
		kind:     "node -e",
		exact:    []string{"-e", "-p", "-pe", "-ep"},
		longCode: []string{"eval", "print"},
		values:   "rC",
		longValues: []string{"require", "import", "loader", "experimental-loader", "conditions",
			"input-type", "title", "env-file", "inspect-port"},
		codeEnds: true,
	}
	bunSpec = interpreterSpec{
		kind:     "bun -e",
		exact:    []string{"-e", "-p"},
		longCode: []string{"eval", "print"},
		codeEnds: true,
		noStdin:  true,
	}
)

// interpreter analyses a command described by an interpreterSpec. Code
// in other languages is recorded in Code but not analysed; a program read
// from stdin is a "stdin script".
func (a *analyzer) interpreter(sc scope, idx int, args []arg, cs callSite, spec *interpreterSpec) {
	var codes []arg
	program := false
	i := 1
options:
	for i < len(args) {
		x := args[i]
		s := x.val
		if x.dyn || len(s) < 2 || s[0] != '-' {
			break
		}
		i++
		if s == "--" {
			break
		}
		if slices.Contains(spec.exact, s) {
			if i < len(args) {
				codes = append(codes, args[i])
				i++
			}
			if spec.codeEnds {
				break
			}
			continue
		}
		if strings.HasPrefix(s, "--") {
			name, val, eq := strings.Cut(s[2:], "=")
			isCode := slices.Contains(spec.longCode, name)
			var v arg
			found := false
			switch {
			case eq:
				v, found = arg{val: val, pos: x.pos}, true
			case (isCode || slices.Contains(spec.longValues, name)) && i < len(args):
				v, found = args[i], true
				i++
			}
			if isCode && found {
				codes = append(codes, v)
				if spec.codeEnds {
					break options
				}
			}
			continue
		}
		for k := 1; k < len(s); k++ {
			c := s[k]
			attached := s[k+1:]
			switch {
			case strings.IndexByte(spec.code, c) >= 0:
				v := arg{val: attached, pos: x.pos}
				if attached == "" {
					if i >= len(args) {
						break options
					}
					v = args[i]
					i++
				}
				codes = append(codes, v)
				if spec.codeEnds {
					break options
				}
				k = len(s)
			case strings.IndexByte(spec.program, c) >= 0:
				program = true
				break options
			case strings.IndexByte(spec.values, c) >= 0:
				if attached == "" {
					i++
				}
				k = len(s)
			case strings.IndexByte(spec.rest, c) >= 0:
				k = len(s)
			case strings.IndexByte(spec.digits, c) >= 0:
				for k+1 < len(s) && (s[k+1] >= '0' && s[k+1] <= '9' || c == '0' && strings.IndexByte("xXabcdefABCDEF", s[k+1]) >= 0) {
					k++
				}
			}
		}
	}
	if len(codes) > 0 {
		for _, c := range codes {
			a.inline(sc, idx, spec.kind, c, otherCode, "")
		}
		return
	}
	if program {
		return
	}
	operands := args[min(i, len(args)):]
	switch {
	case len(operands) > 0:
		if streamPath(operands[0]) {
			a.streamScript(sc, idx, operands[0], cs, otherCode)
		}
	case spec.noStdin:
	case sc.appended:
		a.dynamic(idx, "%s runs a program named by run-time arguments", a.res.Commands[idx].Base)
	default:
		a.stdinScript(sc, idx, cs, otherCode)
	}
}

// deno takes code with "deno eval CODE" and a program from stdin with
// "deno run -".
func (a *analyzer) deno(sc scope, idx int, args []arg, cs callSite) {
	if len(args) < 2 {
		a.stdinScript(sc, idx, cs, otherCode)
		return
	}
	switch args[1].val {
	case "eval":
		for _, x := range args[2:] {
			if x.dyn || !strings.HasPrefix(x.val, "-") {
				a.inline(sc, idx, "deno eval", x, otherCode, "")
				return
			}
		}
	case "run":
		for _, x := range args[2:] {
			if x.dyn || !strings.HasPrefix(x.val, "-") || x.val == "-" {
				if streamPath(x) {
					a.streamScript(sc, idx, x, cs, otherCode)
				}
				return
			}
		}
	}
}

// powershellParams lists the PowerShell parameters that take a value,
// with the shortest prefix PowerShell accepts for each. Parameters are
// case-insensitive and may start with "-" or "/".
var powershellParams = []struct {
	name string
	min  int
}{
	{"executionpolicy", 2}, {"ep", 2}, {"windowstyle", 1}, {"version", 1},
	{"configurationname", 6}, {"outputformat", 1}, {"inputformat", 2},
	{"workingdirectory", 2}, {"wd", 2}, {"settingsfile", 2}, {"custompipename", 2},
	{"psconsolefile", 2}, {"encodedarguments", 8}, {"ea", 2},
}

// powershell analyses pwsh and powershell: -Command runs the rest of the
// words as code, -EncodedCommand runs base64 UTF-16LE code, -File runs a
// script. Windows PowerShell takes a bare first operand as -Command.
func (a *analyzer) powershell(sc scope, idx int, args []arg, cs callSite) {
	legacy := strings.HasPrefix(strings.ToLower(a.res.Commands[idx].Base), "powershell")
	for i := 1; i < len(args); i++ {
		x := args[i]
		s := x.val
		if x.dyn {
			a.dynamic(idx, "powershell: parameter %s is not static", quoteNote(s))
			return
		}
		if len(s) < 2 || (s[0] != '-' && s[0] != '/') {
			if legacy {
				a.inline(sc, idx, "powershell -c", joinArgs(args[i:]), otherCode, "")
			}
			return
		}
		name := strings.ToLower(s[1:])
		switch {
		case abbrev(name, "command", 1):
			rest := args[i+1:]
			switch {
			case len(rest) == 0:
			case rest[0].val == "-":
				a.stdinScript(sc, idx, cs, otherCode)
			default:
				a.inline(sc, idx, "powershell -c", joinArgs(rest), otherCode, "")
			}
			return
		case name == "e" || name == "ec" || abbrev(name, "encodedcommand", 2) && !abbrev(name, "encodedarguments", 8):
			if i+1 < len(args) {
				enc := args[i+1]
				code, ok := decodePowershell(enc.val)
				if enc.dyn || !ok {
					a.res.Commands[idx].CodeExec = "powershell -c"
					a.dynamic(idx, "powershell: encoded command %s cannot be decoded statically", quoteNote(enc.val))
					return
				}
				a.inline(sc, idx, "powershell -c", arg{val: code, pos: enc.pos}, otherCode, "")
			}
			return
		case abbrev(name, "file", 1):
			if i+1 < len(args) && args[i+1].val == "-" {
				a.stdinScript(sc, idx, cs, otherCode)
			}
			return
		}
		for _, p := range powershellParams {
			if abbrev(name, p.name, p.min) {
				i++
				break
			}
		}
	}
	a.stdinScript(sc, idx, cs, otherCode)
}

// abbrev reports whether s abbreviates name to at least min letters.
func abbrev(s, name string, min int) bool {
	return len(s) >= min && strings.HasPrefix(name, s)
}

// decodePowershell decodes the argument of -EncodedCommand: base64 of
// UTF-16LE text.
func decodePowershell(s string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u)), true
}
