package shell

import (
	"strings"
)

// codeLang says whether inline code is shell code, which is analysed, or
// code in another language, which is only recorded.
type codeLang uint8

const (
	otherCode codeLang = iota
	shellCode
)

// inline records on the command at idx that it runs code given inline,
// and analyses the code when it is shell code. kind becomes CodeExec; via
// is the Via element of the commands found in the code. Several calls on
// one command join their code with newlines.
func (a *analyzer) inline(sc scope, idx int, kind string, code arg, lang codeLang, via string) {
	c := &a.res.Commands[idx]
	if c.CodeExec == "" {
		c.CodeExec = kind
	}
	if code.dyn || code.glob {
		a.dynamic(idx, "%s: code %s is not static", kind, quoteNote(code.val))
		return
	}
	a.addCode(idx, code.val)
	if sc.placeholder != "" && strings.Contains(code.val, sc.placeholder) {
		// xargs -I{} sh -c 'rm {}' pastes input into the code, where it
		// can be any command.
		a.dynamic(idx, "%s: input replaces %q inside the code at run time", kind, sc.placeholder)
	}
	if lang == shellCode {
		// A shell's -c code runs in a new shell, whose variables are its
		// own: they are followed (see nested).
		a.nested(sc, idx, code, via, kind == "sh -c")
	}
}

// addCode appends a piece of code to the Code of the command at idx.
// Pieces are gathered in a builder and copied to Code once the analysis
// is done, since a command may take thousands of them (alias a=x b=y ...).
func (a *analyzer) addCode(idx int, code string) {
	if a.code == nil {
		a.code = map[int]*strings.Builder{}
	}
	b := a.code[idx]
	if b == nil {
		b = &strings.Builder{}
		a.code[idx] = b
	} else {
		b.WriteByte('\n')
	}
	b.WriteString(code)
}

// nested parses a string of shell code run by the command at idx and
// analyses it in a scope extended with via. Code that cannot be followed
// (too deep, too long, not parsable) makes the command dynamic. When own
// is set, the code runs in a new shell of its own, and the variables it
// assigns and loops over are followed, unless the text defines functions
// (a function exported to it could assign them). Code run by the same
// shell (eval, trap) or elsewhere (ssh) has no variables known.
func (a *analyzer) nested(sc scope, idx int, code arg, via string, own bool) {
	if a.full {
		return
	}
	if sc.depth >= MaxDepth {
		a.dynamic(idx, "%s: code nests more than %d levels deep", via, MaxDepth)
		return
	}
	if len(code.val) > a.codeBudget {
		a.dynamic(idx, "%s: too much nested code to analyse", via)
		return
	}
	a.codeBudget -= len(code.val)
	f, err := a.parser.Parse(strings.NewReader(code.val), "")
	if err != nil {
		a.dynamic(idx, "%s: code does not parse: %v", via, err)
		return
	}
	// None of the caller's variables is taken as known in the code.
	// What makes bash run code unseen makes the command dynamic, as it
	// makes a whole text dynamic.
	vars := &consts{off: true}
	if own && !a.funcs {
		vars = findConsts(f, nil)
	}
	hz, hidden := hazardsAndCode(f, code.val, true)
	if len(hz) > 0 {
		a.dynamic(idx, "%s: %s", via, hz[0])
		vars = &consts{off: true}
	}
	inner := scope{
		src:      code.val,
		via:      append(sc.via[:len(sc.via):len(sc.via)], via),
		fixed:    sc.at(code.pos),
		hasFixed: true,
		depth:    sc.depth + 1,
		nest:     sc.nest + 1,
		vars:     vars,
	}
	if inner.fixed.Line == 0 {
		inner.fixed = a.res.Commands[idx].Pos
	}
	a.stmts(inner, f.Stmts)
	a.hidden(inner, hidden)
}

// joinArgs joins words into one, as a command that hands its operands to
// a shell does (watch, ssh, parallel). The result is dynamic if any word
// is.
func joinArgs(args []arg) arg {
	if len(args) == 0 {
		return arg{}
	}
	j := arg{pos: args[0].pos}
	vals := make([]string, len(args))
	for i, x := range args {
		vals[i] = x.val
		j.dyn = j.dyn || x.dyn
		j.glob = j.glob || x.glob
	}
	j.val = strings.Join(vals, " ")
	return j
}
