package shell

import "strings"

var awkOptions = optionSpec{
	values:   "FvfeiElW",
	optional: "odDp",
	long:     []string{"field-separator", "assign", "file", "source", "include", "load", "exec"},
}

// awk analyses an awk program for the ways it can hand text to a shell:
// system(), "cmd" | getline, print | "cmd" and gawk's |&. A program that
// does is marked "awk system"; commands given as string literals are
// analysed as shell code, and computed ones make the command dynamic.
func (a *analyzer) awk(sc scope, idx int, args []arg, cs callSite) {
	opts, n, _ := scanOptions(args[1:], &awkOptions)
	var progs []arg
	fromFile := false
	for _, o := range opts {
		switch o.name {
		case "e", "source":
			if o.hasValue {
				progs = append(progs, o.value)
			}
		case "f", "file", "E", "exec":
			fromFile = true
			if o.hasValue && (o.value.dyn || stdinNames[o.value.val]) {
				progs = append(progs, stdinProgram(a, idx, cs, "awk -f -"))
			}
		}
	}
	if len(progs) == 0 && !fromFile && len(args) > 1+n {
		progs = args[1+n : 2+n]
	}
	a.commandsIn(sc, idx, progs, "awk system", awkCommands, "awk: the program runs a command computed at run time")
	for _, p := range progs {
		if !p.dyn && strings.ContainsAny(p.val, "<>") {
			writes, reads := awkFiles(p.val)
			a.programFiles(idx, writes, reads)
		}
	}
}

// awkFiles finds the files an awk program names as string literals after
// > and >> (print and printf output) and after < (getline input). A > or
// < before a string may be a comparison instead; taking it for a file can
// only make the verdict stricter. Targets computed at run time are left
// to the sandbox.
func awkFiles(prog string) (writes, reads []string) {
	toks := awkLex(prog)
	for i := 0; i+1 < len(toks); i++ {
		t := toks[i]
		if t.kind != 'p' || t.val != ">" && t.val != ">>" && t.val != "<" {
			continue
		}
		// Adjacent strings concatenate: "/etc/" "cron.d/x".
		j, name := i+1, ""
		for j < len(toks) && toks[j].kind == 's' {
			name += toks[j].val
			j++
		}
		if j == i+1 || j < len(toks) && !awkEnd(toks[j]) && toks[j].val != "|" {
			continue // not only strings: computed, left to the sandbox
		}
		if t.val == "<" {
			reads = append(reads, name)
		} else {
			writes = append(writes, name)
		}
	}
	return writes, reads
}

// commandsIn reports the shell commands a program in another language
// runs (awk's system(), sed's e): the command runs inline code of kind via,
// each command found is analysed, and one the scan cannot know makes the
// command dynamic with the note unknown.
func (a *analyzer) commandsIn(sc scope, idx int, progs []arg, via string, scan func(string) ([]string, bool, bool), unknown string) {
	for _, p := range progs {
		if p.dyn {
			continue // already dynamic as an argument
		}
		cmds, runs, dyn := scan(p.val)
		if !runs {
			continue
		}
		a.inline(sc, idx, via, p, otherCode, "")
		if dyn {
			a.dynamic(idx, "%s", unknown)
		}
		for _, c := range cmds {
			a.nested(sc, idx, arg{val: c, pos: p.pos}, via, false)
		}
	}
}

// awkToken is a token of an awk program, as far as awkCommands needs.
type awkToken struct {
	kind byte // 's' string, 'r' regexp, 'i' identifier, 'n' number, 'p' punctuation
	val  string
}

// awkCommands finds where an awk program runs shell commands. It returns
// the commands that are string literals, whether the program runs any
// command at all, and whether some commands are computed at run time.
func awkCommands(prog string) (cmds []string, runs, computed bool) {
	if !strings.Contains(prog, "system") && !strings.Contains(prog, "|") {
		return nil, false, false
	}
	toks := awkLex(prog)
	for i, t := range toks {
		switch {
		case t.kind == 'i' && t.val == "system" && i+1 < len(toks) && toks[i+1].val == "(":
			runs = true
			if i+3 < len(toks) && toks[i+2].kind == 's' && toks[i+3].kind == 'p' && toks[i+3].val == ")" {
				cmds = append(cmds, toks[i+2].val)
			} else {
				computed = true
			}
		case t.kind == 'p' && (t.val == "|" || t.val == "|&"):
			runs = true
			if i+1 < len(toks) && toks[i+1].kind == 'i' && toks[i+1].val == "getline" {
				// "cmd" | getline: the command is the expression before.
				if i >= 1 && toks[i-1].kind == 's' && (i < 2 || !awkOperand(toks[i-2])) {
					cmds = append(cmds, toks[i-1].val)
				} else {
					computed = true
				}
				continue
			}
			// print ... | "cmd": the command is the expression after.
			if i+1 < len(toks) && toks[i+1].kind == 's' && (i+2 >= len(toks) || awkEnd(toks[i+2])) {
				cmds = append(cmds, toks[i+1].val)
			} else {
				computed = true
			}
		}
	}
	return cmds, runs, computed
}

// awkOperand reports whether a token ends an operand, so that a string
// after it would be concatenated to it.
func awkOperand(t awkToken) bool {
	switch t.kind {
	case 's', 'r', 'i', 'n':
		return true
	}
	return t.val == ")" || t.val == "]" || t.val == "$"
}

// awkEnd reports whether a token ends an expression.
func awkEnd(t awkToken) bool {
	return t.kind == 'p' && (t.val == ";" || t.val == "}" || t.val == "\n" || t.val == ")" || t.val == ",")
}

// awkLex splits an awk program into tokens. It stops at anything it cannot
// make sense of, such as an unterminated string; awk rejects such programs.
func awkLex(prog string) []awkToken {
	var toks []awkToken
	n := len(prog)
	for i := 0; i < n; {
		c := prog[i]
		switch {
		case c == '\\' && i+1 < n && prog[i+1] == '\n':
			i += 2
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < n && prog[i] != '\n' {
				i++
			}
		case c == '"':
			s, end, ok := awkString(prog, i+1)
			if !ok {
				return toks
			}
			toks = append(toks, awkToken{'s', s})
			i = end
		case c == '/' && awkRegexpAllowed(toks):
			j := i + 1
			for j < n && prog[j] != '/' && prog[j] != '\n' {
				if prog[j] == '\\' {
					j++
				}
				j++
			}
			if j >= n || prog[j] != '/' {
				return toks
			}
			toks = append(toks, awkToken{'r', prog[i+1 : j]})
			i = j + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < n && (prog[j] == '_' || prog[j] >= 'a' && prog[j] <= 'z' || prog[j] >= 'A' && prog[j] <= 'Z' || prog[j] >= '0' && prog[j] <= '9') {
				j++
			}
			toks = append(toks, awkToken{'i', prog[i:j]})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < n && prog[i+1] >= '0' && prog[i+1] <= '9':
			j := i + 1
			for j < n && (prog[j] >= '0' && prog[j] <= '9' || prog[j] == '.' || prog[j] == 'e' || prog[j] == 'E' || prog[j] == 'x' || prog[j] >= 'a' && prog[j] <= 'f' || prog[j] >= 'A' && prog[j] <= 'F') {
				j++
			}
			toks = append(toks, awkToken{'n', prog[i:j]})
			i = j
		default:
			op := prog[i : i+1]
			if i+1 < n {
				switch two := prog[i : i+2]; two {
				case "||", "&&", "|&":
					op = two
				}
			}
			toks = append(toks, awkToken{'p', op})
			i += len(op)
		}
	}
	return toks
}

// awkString decodes a string literal whose body starts at i, returning it
// and the index after the closing quote.
func awkString(prog string, i int) (string, int, bool) {
	var sb strings.Builder
	for i < len(prog) {
		c := prog[i]
		switch c {
		case '"':
			return sb.String(), i + 1, true
		case '\n':
			return "", 0, false
		case '\\':
			if i+1 >= len(prog) {
				return "", 0, false
			}
			i++
			switch e := prog[i]; e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case '\\', '"', '/':
				sb.WriteByte(e)
			case '\n':
			default:
				sb.WriteByte('\\')
				sb.WriteByte(e)
			}
		default:
			sb.WriteByte(c)
		}
		i++
	}
	return "", 0, false
}

// awkRegexpAllowed reports whether a '/' after toks starts a regular
// expression rather than a division.
func awkRegexpAllowed(toks []awkToken) bool {
	if len(toks) == 0 {
		return true
	}
	last := toks[len(toks)-1]
	switch last.kind {
	case 'p':
		return last.val != ")" && last.val != "]" && last.val != "$"
	case 'i':
		switch last.val {
		case "print", "printf", "return", "case", "in":
			return true
		}
	}
	return false
}
