package shell

import (
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// redirects converts the redirections of a statement and collects their
// substitutions. stdin reports that one of them replaces stdin; in is then
// the text it feeds, when that is a static here-document or here-string.
func (a *analyzer) redirects(sc scope, rs []*syntax.Redirect, subs *[]syntax.Node) (out []Redirect, in *feed, stdin bool) {
	if len(rs) == 0 {
		return nil, nil, false
	}
	out = make([]Redirect, 0, len(rs))
	for _, r := range rs {
		rd := Redirect{Op: r.Op.String(), FD: defaultFD(r.Op)}
		if r.N != nil {
			if n, err := strconv.Atoi(r.N.Value); err == nil {
				rd.FD = n
			} else {
				rd.FD = -1 // {name}>file: bash picks the descriptor
			}
		}
		switch {
		case r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc:
			if r.Hdoc != nil {
				collect(r.Hdoc, subs)
				rd.Target, rd.Dynamic = hereDoc(r)
			}
		case r.Word != nil:
			collect(r.Word, subs)
			x := resolveVars(sc.src, r.Word, sc.vars)
			switch {
			case x.proc:
				// "> >(cmd)" writes to a pipe; cmd is analysed as a
				// substitution.
				rd.Target = x.val
			case x.dyn, x.glob && r.Op != syntax.WordHdoc:
				rd.Dynamic = true
			default:
				rd.Target = x.val
			}
			if rd.Dynamic && rd.file() {
				a.note(sc.at(r.Pos()), "redirection target %s is not static", quoteNote(source(sc.src, r.Word)))
			}
		}
		if rd.FD == 0 && readsStdin(r.Op) {
			stdin, in = true, nil
			if !rd.Dynamic {
				switch r.Op {
				case syntax.Hdoc, syntax.DashHdoc:
					in = &feed{text: rd.Target, pos: r.Pos()}
				case syntax.WordHdoc:
					in = &feed{text: rd.Target + "\n", pos: r.Pos()}
				case syntax.RdrIn:
					in = &feed{file: rd.Target, pos: r.Pos()}
				}
			}
		}
		out = append(out, rd)
	}
	return out, in, stdin
}

// defaultFD returns the descriptor an operator redirects when no number is
// written before it.
func defaultFD(op syntax.RedirOperator) int {
	if readsStdin(op) {
		return 0
	}
	return 1
}

func readsStdin(op syntax.RedirOperator) bool {
	switch op {
	case syntax.RdrIn, syntax.RdrInOut, syntax.DplIn, syntax.Hdoc, syntax.DashHdoc, syntax.WordHdoc:
		return true
	}
	return false
}

// hereDoc returns the body of a here-document as the command reads it, and
// whether it depends on run-time expansions. A quoted delimiter ('EOF',
// "EOF", \EOF) makes the body literal.
func hereDoc(r *syntax.Redirect) (string, bool) {
	body, dyn := hereDocBody(r)
	if r.Op == syntax.DashHdoc && !dyn {
		// <<- strips leading tabs from every line.
		lines := strings.SplitAfter(body, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimLeft(l, "\t")
		}
		body = strings.Join(lines, "")
	}
	return body, dyn
}

func hereDocBody(r *syntax.Redirect) (string, bool) {
	quoted := false
	if r.Word != nil {
		for _, p := range r.Word.Parts {
			lit, ok := p.(*syntax.Lit)
			if !ok || strings.IndexByte(lit.Value, '\\') >= 0 {
				quoted = true
			}
		}
	}
	if quoted {
		var sb strings.Builder
		for _, p := range r.Hdoc.Parts {
			if lit, ok := p.(*syntax.Lit); ok {
				sb.WriteString(lit.Value)
			}
		}
		return sb.String(), false
	}
	var res resolver
	res.parts(r.Hdoc.Parts, heredoc)
	if res.dyn {
		return "", true
	}
	return res.sb.String(), false
}
