package shell

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// feed is what a command reads on stdin, known statically: a
// here-document, a here-string, the output of echo or printf piped in, or
// a file named in a redirection.
type feed struct {
	text string
	file string     // the file stdin is redirected from; text is then unknown
	pos  syntax.Pos // where the text comes from
}

// stdinScript records that the command at idx runs a program read from
// stdin, as "curl ... | sh" or "python3 - <<EOF" do. When the text on stdin
// is known it becomes Code, and shell code is analysed; otherwise the
// command is dynamic.
func (a *analyzer) stdinScript(sc scope, idx int, cs callSite, lang codeLang) {
	c := &a.res.Commands[idx]
	switch {
	case cs.in == nil:
		c.CodeExec = "stdin script"
		a.dynamic(idx, "%s runs a program read from stdin, which is not known statically", c.Base)
		return
	case cs.in.file != "":
		// As with "bash script.sh", the policy judges the file by name.
		c.CodeExec = "stdin script"
		a.note(c.Pos, "%s runs the program in %s", c.Base, quoteNote(cs.in.file))
		return
	}
	a.inline(sc, idx, "stdin script", arg{val: cs.in.text, pos: cs.in.pos}, lang, c.Base+" stdin")
}

// streamPath reports whether a script operand names a stream rather than
// a file, so that the program is whatever arrives on it: a process
// substitution, /dev/stdin or a /dev/fd path.
func streamPath(x arg) bool {
	if x.proc {
		return true
	}
	switch x.val {
	case "-", "/dev/stdin", "/proc/self/fd/0":
		return true
	}
	return strings.HasPrefix(x.val, "/dev/fd/") || strings.HasPrefix(x.val, "/proc/self/fd/")
}

// streamScript handles a script operand for which streamPath is true.
func (a *analyzer) streamScript(sc scope, idx int, x arg, cs callSite, lang codeLang) {
	if x.proc {
		c := &a.res.Commands[idx]
		c.CodeExec = "stdin script"
		a.dynamic(idx, "%s runs a program produced by %s", c.Base, quoteNote(x.val))
		return
	}
	switch x.val {
	case "-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0":
	default:
		cs.in = nil // another descriptor, whose content is unknown
	}
	a.stdinScript(sc, idx, cs, lang)
}

// staticOutput returns what a statement writes to stdout when that is
// statically known: echo and printf with literal words, or cat of a
// here-document or here-string. It lets "echo 'rm -rf /' | sh" be
// analysed like sh -c.
func staticOutput(st *syntax.Stmt) *feed {
	ce, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 || len(ce.Assigns) > 0 {
		return nil
	}
	var in *feed
	for _, r := range st.Redirs {
		fd := defaultFD(r.Op)
		if r.N != nil {
			fd = -1
			if r.N.Value == "2" {
				fd = 2
			}
		}
		switch {
		case fd == 2 && r.Op != syntax.RdrAll && r.Op != syntax.AppAll:
		case fd == 0 && (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc) && r.Hdoc != nil:
			if text, dyn := hereDoc(r); !dyn {
				in = &feed{text: text, pos: r.Pos()}
			}
		case fd == 0 && r.Op == syntax.WordHdoc:
			if text, ok := literal(r.Word); ok {
				in = &feed{text: text + "\n", pos: r.Pos()}
			}
		case fd == 0 && r.Op == syntax.RdrIn:
			if file, ok := literal(r.Word); ok {
				in = &feed{file: file, pos: r.Pos()}
			}
		default:
			return nil
		}
	}
	words := make([]string, len(ce.Args))
	for i, w := range ce.Args {
		s, ok := literal(w)
		if !ok {
			return nil
		}
		words[i] = s
	}
	// Code piped in is located at the text that holds it.
	pos := ce.Args[len(ce.Args)-1].Pos()
	switch baseName(words[0]) {
	case "echo":
		args, newline := words[1:], true
		for len(args) > 0 && (args[0] == "-n" || args[0] == "-E") {
			newline = newline && args[0] != "-n"
			args = args[1:]
		}
		if len(args) > 0 && strings.HasPrefix(args[0], "-") && strings.Trim(args[0], "-neE") == "" && args[0] != "-" {
			return nil // -e and clusters: escapes would be interpreted
		}
		text := strings.Join(args, " ")
		if newline {
			text += "\n"
		}
		return &feed{text: text, pos: pos}
	case "printf":
		switch {
		case len(words) == 2 && !strings.ContainsAny(words[1], `%\`):
			return &feed{text: words[1], pos: pos}
		case len(words) >= 3 && (words[1] == `%s\n` || words[1] == "%s"):
			var sb strings.Builder
			for _, w := range words[2:] {
				sb.WriteString(w)
				if words[1] == `%s\n` {
					sb.WriteByte('\n')
				}
			}
			return &feed{text: sb.String(), pos: pos}
		}
	case "cat":
		if len(words) == 1 {
			return in
		}
	}
	return nil
}
