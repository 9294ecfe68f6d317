package shell

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// hiddenCode is text bash expands as a double-quoted string at run time,
// command substitutions included, where the word-by-word analysis does
// not look: a prompt variable's value, a subscript in a name argument, a
// quoted arithmetic expression, a value that arithmetic evaluates.
type hiddenCode struct {
	why  string // the Via of the commands found in it, e.g. "PS4"
	text string
	pos  syntax.Pos
}

// hazardsAndCode finds what makes bash run code the word-by-word analysis cannot
// see, anywhere in a parsed text, and says why. Any of them makes the
// Analysis Dynamic (so a policy asks at least) and turns variable
// resolution off:
//
//   - a name argument with a subscript (test -v, [[ -v ]], printf -v,
//     read, mapfile, declare and kin, unset, getopts, wait -p, let): bash
//     expands the subscript, command substitutions included;
//   - arithmetic that reads a variable whose value is not a plain integer
//     the text gave it: bash evaluates the value as an expression,
//     recursively, and an array subscript in it runs command substitutions;
//   - an assignment to PS0, PS1, PS2 or PS4 (expanded before commands when
//     tracing), or to BASH_CMDS or BASH_ALIASES (which bind command names);
//   - set -k or set -o keyword (NAME=value arguments become environment);
//   - an assignment to HOME where the text has a ~ (the analysis takes ~ to
//     be the caller's home).
//
// It also returns the hidden code it can read statically, so that what the
// code runs is judged too (see analyzer.hidden).
func hazardsAndCode(f *syntax.File, src string, nested bool) (notes []string, hidden []hiddenCode) {
	hide := func(why string, w *syntax.Word, p syntax.Pos) {
		if w == nil {
			return
		}
		var r resolver
		r.parts(w.Parts, unquoted)
		if !r.dyn {
			hidden = append(hidden, hiddenCode{why: why, text: r.sb.String(), pos: p})
		}
	}
	values := map[string][]*syntax.Word{} // static values given to each name
	intSet := map[string]bool{}           // names the text gives an integer literal
	add := func(p syntax.Pos, format string, a ...any) {
		notes = append(notes, fmt.Sprintf("%d:%d: ", p.Line(), p.Col())+fmt.Sprintf(format, a...))
	}
	// What each name is given: only integer literals (or arithmetic) keep
	// it safe to read in arithmetic.
	unsafeVals := map[string]bool{}
	anyWriter := false // read, mapfile, eval, source... may give anything
	var ariths []syntax.Node
	homeSet := false
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name == nil {
				break
			}
			name := n.Name.Value
			if n.Value != nil {
				values[name] = append(values[name], n.Value)
			}
			switch {
			case name == "PS0" || name == "PS1" || name == "PS2" || name == "PS4":
				add(n.Pos(), "%s is set: bash expands it, substitutions included, before commands it traces", name)
				hide(name, n.Value, n.Pos())
			case name == "BASH_CMDS" || name == "BASH_ALIASES":
				add(n.Pos(), "%s is set: it binds command names to other programs", name)
			case name == "HOME":
				homeSet = true
			}
			if n.Index != nil {
				ariths = append(ariths, n.Index)
			}
			v, ok := "", n.Value == nil
			if n.Value != nil {
				v, ok = literal(n.Value)
			}
			if n.Array != nil || n.Naked || !ok || !intLit().MatchString(v) && v != "" {
				unsafeVals[name] = true
			} else {
				intSet[name] = true
			}
		case *syntax.ForClause:
			if it, ok := n.Loop.(*syntax.WordIter); ok && it.Name != nil {
				unsafeVals[it.Name.Value] = true
				if it.Name.Value == "HOME" {
					homeSet = true
				}
			} else {
				ariths = append(ariths, n)
			}
		case *syntax.ArithmCmd, *syntax.ArithmExp, *syntax.LetClause:
			ariths = append(ariths, n)
		case *syntax.ParamExp:
			if n.Index != nil || n.Slice != nil {
				ariths = append(ariths, n)
			}
		case *syntax.BinaryTest:
			switch n.Op {
			case syntax.TsEql, syntax.TsNeq, syntax.TsLss, syntax.TsLeq, syntax.TsGtr, syntax.TsGeq:
				ariths = append(ariths, n)
			}
		case *syntax.UnaryTest:
			if w, ok := n.X.(*syntax.Word); ok && n.Op == syntax.TsVarSet {
				switch {
				case staticHas(w, "["):
					add(n.Pos(), "[[ -v ]] with a subscript: bash expands it")
					hide("subscript", w, n.Pos())
				case !isStatic(w):
					add(n.Pos(), "[[ -v ]] with a name not known statically: a subscript in it would be expanded")
				}
			}
		case *syntax.ArrayElem:
			if n.Index != nil {
				ariths = append(ariths, n.Index) // a=([i]=v): the subscript is arithmetic
			}
		case *syntax.DeclClause:
			anyWriter = true
			for _, a := range n.Args {
				if a.Naked && a.Value != nil {
					if o, ok := literal(a.Value); ok && strings.HasPrefix(o, "-") && strings.ContainsRune(o, 'i') {
						add(n.Pos(), "%s -i: what is assigned to the name is evaluated as arithmetic (subscripts run substitutions)", n.Variant.Value)
					}
				}
				if a.Index != nil || a.Naked && staticHas(a.Value, "[") {
					add(n.Pos(), "%s with a subscript: bash expands it", n.Variant.Value)
					if a.Naked {
						hide("subscript", a.Value, n.Pos())
					}
				}
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				break
			}
			name, args, ok := builtinCall(n.Args)
			if !ok {
				anyWriter = true
				break
			}
			switch name {
			case "test", "[", "printf", "wait", "read", "mapfile", "readarray", "unset", "getopts",
				"declare", "typeset", "local", "export", "readonly", "shift":
				anyWriter = anyWriter || name != "test" && name != "[" && name != "shift"
				if nameArgSubscript(name, args) {
					add(n.Pos(), "%s with a subscript: bash expands it, substitutions included", name)
					for _, w := range args {
						if staticHas(w, "[") {
							hide("subscript", w, n.Pos())
						}
					}
				}
			case "set":
				for i, w := range args {
					a, ok := literal(w)
					if !ok {
						add(n.Pos(), "set with an argument not known statically")
						break
					}
					if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsRune(a[1:], 'k') ||
						a == "-o" && i+1 < len(args) && staticHas(args[i+1], "keyword") {
						add(n.Pos(), "set -k: NAME=value arguments become the environment of commands")
					}
				}
			default:
				if stateBuiltins[name] {
					anyWriter = true
				}
			}
		}
		return true
	})
	if homeSet && strings.Contains(src, "~") {
		notes = append(notes, "1:1: HOME is set and the text has a ~, which bash expands with the new value")
	}
	// Arithmetic reading a name whose value may not be an integer.
	for _, a := range ariths {
		var bad string
		syntax.Walk(a, func(n syntax.Node) bool {
			if bad != "" {
				return false
			}
			var name string
			switch n := n.(type) {
			case *syntax.Word:
				if len(n.Parts) == 1 {
					if l, ok := n.Parts[0].(*syntax.Lit); ok && varName().MatchString(l.Value) {
						name = l.Value
					}
				}
				for _, p := range n.Parts {
					switch p.(type) {
					case *syntax.SglQuoted, *syntax.DblQuoted:
						// let 'a[$(x)]=1': a quoted expression, evaluated.
						bad = "a quoted expression"
						hide("arithmetic", n, n.Pos())
					}
				}
			case *syntax.ParamExp:
				if n.Param != nil {
					name = n.Param.Value
				}
			}
			// Code a nested shell runs gets its variables from the
			// environment too: one it never sets may hold anything.
			if name != "" && (unsafeVals[name] || anyWriter || nested && !intSet[name] && !bashInts[name]) {
				bad = name
			}
			return true
		})
		if bad != "" {
			add(a.Pos(), "arithmetic reads %s, whose value bash evaluates as an expression (subscripts run substitutions)", bad)
			for _, v := range values[bad] {
				hide("arithmetic", v, a.Pos())
			}
		}
	}
	return notes, hidden
}

// bashInts are variables bash itself keeps as integers, whatever the
// environment says.
var bashInts = map[string]bool{"RANDOM": true, "SRANDOM": true, "SECONDS": true, "LINENO": true,
	"BASHPID": true, "PPID": true, "UID": true, "EUID": true, "EPOCHSECONDS": true, "OPTIND": true,
	"#": true, "?": true, "$": true, "!": true}

var intLit = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-?[0-9]+$`) })

// isStatic reports whether w is known statically (quotes aside).
func isStatic(w *syntax.Word) bool {
	var r resolver
	r.parts(w.Parts, unquoted)
	return !r.dyn
}

// staticHas reports whether w is static (quotes aside; a glob counts) and
// contains s. A word with expansions makes its command dynamic anyway.
func staticHas(w *syntax.Word, s string) bool {
	if w == nil {
		return false
	}
	var r resolver
	r.parts(w.Parts, unquoted)
	return !r.dyn && strings.Contains(r.sb.String(), s)
}

// nameArgSubscript reports whether a builtin that takes variable names is
// given one with a subscript, which bash expands: the operand of -v (test,
// [, printf), of -p (wait), any operand of the others.
func nameArgSubscript(name string, args []*syntax.Word) bool {
	switch name {
	case "test", "[", "printf", "wait":
		flag := "-v"
		if name == "wait" {
			flag = "-p"
		}
		for i, w := range args {
			a, ok := literal(w)
			if !ok {
				continue
			}
			if a == flag && i+1 < len(args) && staticHas(args[i+1], "[") {
				return true
			}
			if strings.HasPrefix(a, flag) && len(a) > len(flag) && strings.Contains(a, "[") {
				return true
			}
		}
		return false
	}
	for _, w := range args {
		if staticHas(w, "[") {
			return true
		}
	}
	return false
}
