package shell

import "strings"

var sedOptions = optionSpec{values: "efl", optional: "i", long: []string{"expression", "file", "line-length"}}

// sed analyses a sed script for GNU sed's ways of running shell commands:
// the e command, which runs its argument or, without one, the pattern
// space, and the e flag of s, which runs the pattern space. A literal e
// command is analysed as shell code; the others run input text and make
// the command dynamic.
func (a *analyzer) sed(sc scope, idx int, args []arg, cs callSite) {
	opts, operands := scanAll(args[1:], &sedOptions)
	if has(opts, "sandbox") {
		return // GNU sed rejects e, r and w in sandbox mode
	}
	var scripts []arg
	fromFile := false
	for _, o := range opts {
		switch o.name {
		case "e", "expression":
			if o.hasValue {
				scripts = append(scripts, o.value)
			}
		case "f", "file":
			fromFile = true
			if o.hasValue && (o.value.dyn || stdinNames[o.value.val]) {
				scripts = append(scripts, stdinProgram(a, idx, cs, "sed -f -"))
			}
		}
	}
	if len(scripts) == 0 && !fromFile && len(operands) > 0 {
		scripts = operands[:1]
	}
	a.commandsIn(sc, idx, scripts, "sed e", sedCommands, "sed: the script runs text from its input as a command")
	for _, sc := range scripts {
		if sc.dyn || !strings.ContainsAny(sc.val, "wWrR") {
			continue
		}
		info := sedScript(sc.val)
		a.programFiles(idx, info.writes, info.reads)
	}
}

// programFiles records the files a program's script writes and reads
// (sed w, awk print >) on the command at idx, as redirections the policy
// judges like the shell's.
func (a *analyzer) programFiles(idx int, writes, reads []string) {
	c := &a.res.Commands[idx]
	for _, f := range writes {
		c.Redirects = append(c.Redirects, Redirect{Op: ">", FD: 1, Target: f, Program: true})
	}
	for _, f := range reads {
		c.Redirects = append(c.Redirects, Redirect{Op: "<", FD: 0, Target: f, Program: true})
	}
}

// sedCommands scans a sed script. It returns the arguments of e commands,
// whether the script runs commands at all, and whether it runs input text
// (e without argument, or the e flag of s). A script it cannot follow is
// taken to run input text if the rest of it holds an 'e'.
func sedCommands(script string) (cmds []string, runs, fromData bool) {
	if strings.IndexByte(script, 'e') < 0 {
		return nil, false, false
	}
	i := sedScript(script)
	return i.cmds, i.runs, i.fromData
}

// sedInfo is what sedScript finds in a script.
type sedInfo struct {
	cmds           []string // arguments of e commands
	runs, fromData bool     // see sedCommands
	writes, reads  []string // files the w and W commands and the w flag of s write, r and R read
}

// sedScript scans a sed script for what it runs, writes and reads.
func sedScript(script string) (info sedInfo) {
	cmds, runs, fromData := &info.cmds, &info.runs, &info.fromData
	p := sedScanner{s: script}
	for {
		p.skip(" \t\n;")
		if p.i >= len(p.s) {
			return info
		}
		if !p.address() {
			return info // sed rejects the script
		}
		p.skip(" \t")
		if p.peek() == ',' {
			p.i++
			p.skip(" \t")
			if !p.address() {
				return info
			}
		}
		p.skip(" \t")
		for p.peek() == '!' {
			p.i++
			p.skip(" \t")
		}
		if p.i >= len(p.s) {
			return info
		}
		c := p.s[p.i]
		p.i++
		switch c {
		case '{', '}', '=', 'd', 'D', 'g', 'G', 'h', 'H', 'n', 'N', 'p', 'P', 'x', 'z', 'F':
		case '#':
			p.line()
		case 'r', 'R':
			p.skip(" \t")
			if f := p.line(); f != "" {
				info.reads = append(info.reads, f)
			}
		case 'w', 'W':
			p.skip(" \t")
			if f := p.line(); f != "" {
				info.writes = append(info.writes, f)
			}
		case ':', 'b', 't', 'T', 'v':
			for p.i < len(p.s) && p.s[p.i] != '\n' && p.s[p.i] != ';' {
				p.i++
			}
		case 'q', 'Q', 'l', 'L':
			p.skip(" \t")
			p.skip("0123456789")
		case 'a', 'i', 'c':
			// Text up to the end of the line; a backslash at the end of
			// a line continues it.
			for {
				l := p.line()
				if !strings.HasSuffix(l, "\\") || p.i >= len(p.s) {
					break
				}
				p.i++
			}
		case 'e':
			p.skip(" \t")
			*runs = true
			if cmd := strings.TrimSpace(p.line()); cmd != "" {
				*cmds = append(*cmds, cmd)
			} else {
				*fromData = true
			}
		case 's':
			if !p.delimited(2) {
				return info
			}
		flags:
			for p.i < len(p.s) {
				switch f := p.s[p.i]; {
				case f == 'e':
					*runs, *fromData = true, true
					p.i++
				case f == 'w':
					p.i++
					p.skip(" \t")
					if f := p.line(); f != "" {
						info.writes = append(info.writes, f)
					}
				case strings.IndexByte("gpiImM0123456789", f) >= 0:
					p.i++
				default:
					break flags
				}
			}
		case 'y':
			if !p.delimited(2) {
				return info
			}
		default:
			if strings.IndexByte(p.s[p.i-1:], 'e') >= 0 {
				*runs, *fromData = true, true
			}
			return info
		}
	}
}

// sedScanner is a cursor over a sed script.
type sedScanner struct {
	s string
	i int
}

func (p *sedScanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// skip advances over any bytes in set.
func (p *sedScanner) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// line returns the text up to the end of the line, leaving the cursor on
// the newline.
func (p *sedScanner) line() string {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '\n' {
		p.i++
	}
	return p.s[start:p.i]
}

// address skips an optional address: a line number, first~step, $, +N,
// ~N, /regexp/ or \cregexpc, with the I and M flags.
func (p *sedScanner) address() bool {
	switch c := p.peek(); {
	case c >= '0' && c <= '9':
		p.skip("0123456789")
		if p.peek() == '~' {
			p.i++
			p.skip("0123456789")
		}
	case c == '$':
		p.i++
	case c == '+' || c == '~':
		p.i++
		p.skip("0123456789")
	case c == '/':
		p.i++
		if !p.until('/') {
			return false
		}
		p.skip("IM")
	case c == '\\':
		p.i++
		if p.i >= len(p.s) {
			return false
		}
		d := p.s[p.i]
		p.i++
		if !p.until(d) {
			return false
		}
		p.skip("IM")
	}
	return true
}

// delimited skips a delimiter character followed by n sections each ended
// by it, as in s/re/text/ and y/abc/xyz/.
func (p *sedScanner) delimited(n int) bool {
	if p.i >= len(p.s) {
		return false
	}
	d := p.s[p.i]
	if d == '\n' || d == '\\' {
		return false
	}
	p.i++
	for range n {
		if !p.until(d) {
			return false
		}
	}
	return true
}

// until advances past the next d not escaped by a backslash.
func (p *sedScanner) until(d byte) bool {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\':
			p.i += 2
			continue
		case c == d:
			p.i++
			return true
		case c == '\n':
			return false
		}
		p.i++
	}
	return false
}

// stdinProgram is the program a tool reads from stdin (sed -f -, awk -f
// /dev/stdin): its text when it is known (a here-document), to be
// analysed as if given on the command line; otherwise the command is
// dynamic and the returned program is empty.
func stdinProgram(a *analyzer, idx int, cs callSite, kind string) arg {
	if cs.in != nil && cs.in.file == "" {
		return arg{val: cs.in.text, pos: cs.in.pos}
	}
	a.dynamic(idx, "%s: the program is read from stdin, which is not known statically", kind)
	return arg{dyn: true}
}
