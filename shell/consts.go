package shell

import (
	"regexp"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// consts are the variables of a script whose value is known wherever the
// analysis resolves them, so that "dir=build; rm -rf $dir" is judged as
// rm -rf build rather than left unknown. Only what is certain counts:
//
//   - a variable assigned exactly once in the whole text, by a statement of
//     its own at the top level (not backgrounded, not in a list, a pipeline,
//     a loop, a function or a subshell), to a value without expansions. It
//     holds from the end of that statement on; a use written before it is
//     unknown, since a function defined earlier may run before or after;
//   - a variable of the caller's environment that the analysis is told
//     (HOME, PWD), when the text never assigns it.
//
// Anything that can change variables in ways the analysis does not follow
// turns the lot off: eval, source, read, declare and its kin, unset,
// printf -v, trap, named file descriptors, an assignment to IFS, a command
// whose name is not static, and any arithmetic (which assigns what the
// values it reads say, recursively). Code in strings (sh -c '...') runs in another
// process and resolves nothing.
type consts struct {
	vals map[string]constVal
	// off says that variables can change in ways the analysis does not
	// follow: nothing is known, loop variables included.
	off bool
	// loopVars are the variables bound by exactly one for loop and
	// assigned nowhere else: within that loop's body their value is
	// each word of the loop in turn (see withLoop).
	loopVars map[string]bool
	// hdocs are the here-document bodies: bash expands them when their
	// command runs, which may be before an assignment written earlier in
	// the text (cat <<EOF; X=1), so nothing is resolved in them.
	hdocs [][2]uint
}

type constVal struct {
	val  string
	from uint // offset in the text from which the value holds
	to   uint // offset where it stops holding; 0: the end of the text
	glob bool // val is a glob pattern: the value is a path it matches
}

// lookup returns the value of name at offset off, if it is known there.
func (c *consts) lookup(name string, off uint) (constVal, bool) {
	if c == nil {
		return constVal{}, false
	}
	v, ok := c.vals[name]
	if !ok || off < v.from || v.to != 0 && off >= v.to {
		return constVal{}, false
	}
	for _, h := range c.hdocs {
		if h[0] <= off && off < h[1] {
			return constVal{}, false
		}
	}
	return v, true
}

// withLoop returns c with name known as val (a glob pattern when glob)
// between the offsets from and to: the body of a for loop, analysed once
// for each of its words.
func (c *consts) withLoop(name, val string, glob bool, from, to uint) *consts {
	n := &consts{vals: make(map[string]constVal, len(c.vals)+1), hdocs: c.hdocs, loopVars: c.loopVars}
	for k, v := range c.vals {
		n.vals[k] = v
	}
	n.vals[name] = constVal{val: val, from: from, to: to, glob: glob}
	return n
}

// loopVar reports whether name is a loop variable whose values the
// analysis may follow.
func (c *consts) loopVar(name string) bool { return c != nil && !c.off && c.loopVars[name] }

// varName is what a variable name looks like.
var varName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// specialVars are set by the shell itself, or change as it runs.
var specialVars = map[string]bool{
	"RANDOM": true, "SRANDOM": true, "SECONDS": true, "LINENO": true, "BASHPID": true,
	"EPOCHSECONDS": true, "EPOCHREALTIME": true, "PPID": true, "OLDPWD": true, "PWD": true,
	"SHLVL": true, "UID": true, "EUID": true, "GROUPS": true, "HOSTNAME": true, "IFS": true,
	"PIPESTATUS": true, "OPTIND": true, "OPTARG": true, "REPLY": true, "COLUMNS": true, "LINES": true,
	"FUNCNAME": true, "BASH_COMMAND": true, "BASH_SUBSHELL": true, "HISTCMD": true, "_": true,
	"DIRSTACK": true, "SHELLOPTS": true, "BASHOPTS": true, "COMP_WORDBREAKS": true, "MAPFILE": true,
	"PS0": true, "PS1": true, "PS2": true, "PS4": true,
}

// stateBuiltins change variables, or run code that may, in the shell
// that runs them.
var stateBuiltins = map[string]bool{
	"eval": true, "source": true, ".": true, "declare": true, "typeset": true, "local": true,
	"export": true, "readonly": true, "let": true, "read": true, "mapfile": true, "readarray": true,
	"getopts": true, "unset": true, "builtin": true, "enable": true, "alias": true, "shopt": true,
	"trap": true, "fc": true, "compgen": true, "coproc": true,
}

// builtinCall returns the command a call runs in the shell itself, with
// its arguments: through command and builtin (and their options), which
// run the builtin they name. ok is false when the name is not static.
func builtinCall(words []*syntax.Word) (name string, args []*syntax.Word, ok bool) {
	name, ok = literal(words[0])
	args = words[1:]
	for ok && (name == "command" || name == "builtin") && len(args) > 0 {
		for len(args) > 0 {
			a, lit := literal(args[0])
			if !lit || !strings.HasPrefix(a, "-") {
				break
			}
			args = args[1:]
		}
		if len(args) == 0 {
			break
		}
		name, ok = literal(args[0])
		args = args[1:]
	}
	return name, args, ok
}

// findConsts works out the known variables of a parsed text. env holds the
// caller's environment values the analysis may rely on.
func findConsts(f *syntax.File, env map[string]string) *consts {
	writes := map[string]int{}
	tainted := map[string]bool{}
	loops := map[string]int{}
	var hdocs [][2]uint
	off := false
	syntax.Walk(f, func(n syntax.Node) bool {
		if off {
			return false
		}
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Index != nil {
				off = true // a[i]=v: the subscript is arithmetic
			}
			if n.Name != nil {
				writes[n.Name.Value]++
				if n.Name.Value == "IFS" {
					off = true
				}
			}
		case *syntax.DeclClause, *syntax.LetClause, *syntax.CoprocClause:
			off = true
		case *syntax.ForClause:
			if it, ok := n.Loop.(*syntax.WordIter); ok && it.Name != nil {
				tainted[it.Name.Value] = true
				loops[it.Name.Value]++
				if it.Name.Value == "IFS" {
					off = true
				}
			} else {
				off = true // a C-style for: its arithmetic assigns
			}
		case *syntax.ArithmCmd, *syntax.ArithmExp, *syntax.BinaryArithm, *syntax.UnaryArithm:
			// Arithmetic assigns: not only what it names (i++), but what
			// the values it reads say, recursively (v='x=5'; (( v ))).
			off = true
		case *syntax.BinaryTest:
			switch n.Op {
			case syntax.TsEql, syntax.TsNeq, syntax.TsLss, syntax.TsLeq, syntax.TsGtr, syntax.TsGeq:
				off = true // [[ a -eq b ]] is arithmetic too
			}
		case *syntax.ParamExp:
			if n.Index != nil || n.Slice != nil {
				off = true // subscripts and offsets are arithmetic
			}
			if n.Exp != nil && (n.Exp.Op == syntax.AssignUnset || n.Exp.Op == syntax.AssignUnsetOrNull) && n.Param != nil {
				tainted[n.Param.Value] = true
				writes[n.Param.Value]++ // it may assign
				if n.Excl {
					off = true // ${!ref:=v} assigns the variable ref names
				}
			}
		case *syntax.Redirect:
			if n.Hdoc != nil {
				hdocs = append(hdocs, [2]uint{n.Hdoc.Pos().Offset(), n.Hdoc.End().Offset()})
			}
			if n.N != nil && strings.Trim(n.N.Value, "0123456789") != "" {
				off = true // {fd}>file assigns fd
			}
		case *syntax.CallExpr:
			if len(n.Args) == 0 {
				break
			}
			name, args, ok := builtinCall(n.Args)
			if !ok {
				off = true // could be any builtin
				break
			}
			switch {
			case stateBuiltins[name]:
				off = true
			case name == "printf":
				// printf -v NAME: an option comes before the format.
				if len(args) > 0 {
					if a, ok := literal(args[0]); !ok || strings.HasPrefix(a, "-") && a != "--" {
						off = true
					}
				}
			case name == "wait":
				// wait -p NAME
				for _, w := range args {
					if a, ok := literal(w); !ok || strings.HasPrefix(a, "-") {
						off = true
					}
				}
			case name == "cd" || name == "pushd" || name == "popd":
				tainted["PWD"] = true
			}
		}
		return true
	})
	c := &consts{vals: map[string]constVal{}, hdocs: hdocs, off: off}
	if off {
		return c
	}
	for name, n := range loops {
		if n == 1 && writes[name] == 0 && !specialVars[name] && !strings.HasPrefix(name, "BASH") {
			if c.loopVars == nil {
				c.loopVars = map[string]bool{}
			}
			c.loopVars[name] = true
		}
	}
	for name, v := range env {
		if writes[name] == 0 && !tainted[name] && varName().MatchString(name) {
			c.vals[name] = constVal{val: v}
		}
	}
	for _, st := range f.Stmts {
		call, ok := st.Cmd.(*syntax.CallExpr)
		if !ok || st.Background || st.Coprocess || st.Negated || len(st.Redirs) > 0 || len(call.Args) > 0 {
			continue
		}
		for _, as := range call.Assigns {
			if as.Name == nil || as.Append || as.Naked || as.Index != nil || as.Array != nil {
				continue
			}
			name := as.Name.Value
			if writes[name] != 1 || tainted[name] || specialVars[name] || strings.HasPrefix(name, "BASH") {
				continue
			}
			val := ""
			if as.Value != nil {
				// An assigned value is neither split nor globbed nor
				// brace-expanded: only its quotes go.
				var r resolver
				r.parts(as.Value.Parts, unquoted)
				if r.dyn {
					continue
				}
				val = r.sb.String()
				if strings.Contains(val, "~") {
					// Bash expands an unquoted ~ in an assignment, a
					// quoted one not; the value is not worth the doubt.
					continue
				}
			}
			c.vals[name] = constVal{val: val, from: st.End().Offset()}
		}
	}
	return c
}
