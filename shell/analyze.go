package shell

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Limits on the work Analyze does. Text that reaches one is reported
// Dynamic with a note rather than as an error, so that a policy asks
// instead of allowing.
const (
	// MaxSource is the longest text Analyze parses, in bytes. Code found
	// in strings (bash -c, eval, ...) is parsed from a second budget of
	// the same size.
	MaxSource = 1 << 20

	// MaxCommands is the most commands Analyze reports.
	MaxCommands = 10000

	// MaxDepth is how deeply strings of code may nest, as in
	// bash -c 'sh -c "eval ..."'; the text given to Analyze is depth 0.
	MaxDepth = 8
)

const (
	maxNesting    = 100     // compound commands and substitutions inside one another
	maxWrappers   = 64      // wrappers peeled off one command, as in sudo env nice ...
	maxNotes      = 100     // notes kept; the rest are summarised in one line
	maxBraceTotal = 1 << 12 // words produced by brace expansion in one analysis
)

// Analyze parses src as bash and returns every command that would run. It
// never runs anything. The only error it returns is a *ParseError, for
// text that does not parse.
func Analyze(src string) (*Analysis, error) {
	return NewAnalyzer().Analyze(src)
}

// An Analyzer analyses shell text like Analyze, reusing its parser from
// one call to the next to save allocations. It must not be used by several
// goroutines at once; give each goroutine its own.
type Analyzer struct {
	parser *syntax.Parser
}

// NewAnalyzer returns an Analyzer.
func NewAnalyzer() *Analyzer {
	return &Analyzer{parser: syntax.NewParser(syntax.KeepComments(false), syntax.Variant(syntax.LangBash))}
}

// Analyze is like the package's Analyze function.
func (z *Analyzer) Analyze(src string) (*Analysis, error) { return z.AnalyzeEnv(src, nil) }

// AnalyzeEnv is Analyze for text that will run with the environment
// values in env (HOME, PWD, ...): where the text uses one of them and
// never changes it, its value is taken as known. Variables the text sets
// once at its top level are known after that in any case.
func AnalyzeEnv(src string, env map[string]string) (*Analysis, error) {
	return NewAnalyzer().AnalyzeEnv(src, env)
}

// AnalyzeEnv is like the package's AnalyzeEnv function.
func (z *Analyzer) AnalyzeEnv(src string, env map[string]string) (*Analysis, error) {
	res := &Analysis{}
	if len(src) > MaxSource {
		res.Dynamic = true
		res.Notes = append(res.Notes, fmt.Sprintf("1:1: text is longer than %d bytes and was not analysed", MaxSource))
		return res, nil
	}
	f, err := z.parser.Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, newParseError(err)
	}
	res.Commands = make([]Command, 0, 4)
	a := &analyzer{res: res, parser: z.parser, codeBudget: MaxSource, braceBudget: maxBraceTotal}
	syntax.Walk(f, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.FuncDecl); ok {
			a.funcs = true
		}
		return !a.funcs
	})
	vars := findConsts(f, env)
	hz, hidden := hazardsAndCode(f, src, false)
	if len(hz) > 0 {
		// Code the word-by-word analysis cannot see may run: the text is
		// dynamic, and no variable is taken as known.
		res.Dynamic = true
		res.Notes = append(res.Notes, hz...)
		vars = &consts{off: true}
	}
	a.stmts(scope{src: src, vars: vars}, f.Stmts)
	a.hidden(scope{src: src}, hidden)
	for idx, b := range a.code {
		res.Commands[idx].Code = b.String()
	}
	return res, nil
}

// maxLoopValues bounds the words of a for loop whose body is analysed
// once per word; a longer list leaves the variable unknown.
const maxLoopValues = 32

// loopValues returns the words a for loop's variable takes, when the
// variable is one the analysis may follow (consts.loopVar) and every word
// is static: a literal, or a glob pattern (whose value is a path it
// matches). Brace expansion is followed.
func (a *analyzer) loopValues(sc scope, c *syntax.ForClause) ([]arg, bool) {
	it, ok := c.Loop.(*syntax.WordIter)
	if !ok || it.Name == nil || !it.InPos.IsValid() || len(it.Items) == 0 || !sc.vars.loopVar(it.Name.Value) {
		return nil, false
	}
	var discard []syntax.Node
	var vals []arg
	// SplitBraces rewrites the word it is given: work on copies.
	clone := func(w *syntax.Word) *syntax.Word {
		return &syntax.Word{Parts: append([]syntax.WordPart(nil), w.Parts...)}
	}
	for _, w := range it.Items {
		if strings.Contains(source(sc.src, w), "~") {
			return nil, false // bash expands an unquoted ~ in a loop's words; not worth the doubt
		}
		if split, groups := clone(w), 0; syntax.SplitBraces(split) && braceWords(split, &groups) > maxLoopValues {
			return nil, false
		}
		vals = a.appendWord(sc, vals, clone(w), &discard)
		if len(vals) > maxLoopValues {
			return nil, false
		}
	}
	for _, v := range vals {
		if v.dyn || v.proc {
			return nil, false
		}
	}
	return vals, true
}

// hidden analyses code bash runs where the word-by-word analysis does not
// look (see hiddenCode): the text is parsed as bash expands it, as a
// here-document, and the commands its substitutions run are judged with
// Via the reason, so that what they do decides the verdict (the text is
// dynamic already, so it is asked about at least).
func (a *analyzer) hidden(sc scope, code []hiddenCode) {
	for _, h := range code {
		if a.full || !strings.ContainsAny(h.text, "$`") {
			continue
		}
		if len(h.text) > a.codeBudget {
			return
		}
		a.codeBudget -= len(h.text)
		w, err := a.parser.Document(strings.NewReader(h.text))
		if err != nil {
			continue
		}
		inner := scope{src: h.text, via: append(sc.via[:len(sc.via):len(sc.via)], h.why), fixed: sc.at(h.pos), hasFixed: true,
			depth: sc.depth + 1, nest: sc.nest + 1, vars: &consts{off: true}}
		a.scan(inner, w)
	}
}

// analyzer holds the state of one call to Analyze.
type analyzer struct {
	res *Analysis

	// parser parses the strings of code found along the way. Reusing it is
	// safe because each tree is complete before the next parse starts.
	parser *syntax.Parser

	codeBudget  int                      // bytes of nested code that may still be parsed
	braceBudget int                      // words that brace expansion may still produce
	inherited   int                      // commands given the redirections of an enclosing compound command
	code        map[int]*strings.Builder // Code of the commands, by index, until the end
	full        bool                     // MaxCommands was reached
	funcs       bool                     // the text defines a function
	notesFull   bool                     // maxNotes was reached
}

// scope is the context a statement is analysed in. It is passed by value:
// each derived scope is a copy.
type scope struct {
	src      string     // text the syntax nodes point into
	via      []string   // Via of the commands found here; never appended to in place
	fixed    Pos        // position of every command found here, when hasFixed
	hasFixed bool       // set in code from a string, whose positions mean nothing to the caller
	inherit  []Redirect // redirections of enclosing compound commands
	depth    int        // strings of code entered
	nest     int        // compound commands and substitutions entered
	wrappers int        // wrappers peeled off the current command

	// placeholder is the text that xargs -I or find -exec replaces with
	// input at run time; in a command name or in code it makes the
	// command dynamic.
	placeholder string
	// vars are the variables known in this text. Code from a string,
	// which another shell runs, has its own.
	vars *consts
	// appended reports that arguments are added at run time (xargs,
	// find -exec ... +), so a missing program or code operand is supplied
	// by input.
	appended bool
}

// at converts a position in the scope's text to a position for the caller.
func (sc scope) at(p syntax.Pos) Pos {
	if sc.hasFixed {
		return sc.fixed
	}
	return Pos{Line: int(p.Line()), Col: int(p.Col())}
}

// with returns the scope extended with one more Via element.
func (sc scope) with(via string) scope {
	sc.via = append(sc.via[:len(sc.via):len(sc.via)], via)
	return sc
}

// withVars returns the scope with other known variables.
func (sc scope) withVars(vars *consts) scope {
	sc.vars = vars
	return sc
}

// wrapped returns the scope of a command run by a wrapper such as sudo.
// The redirections were applied to the wrapper, so they are not repeated.
func (sc scope) wrapped(via string) scope {
	sc = sc.with(via)
	sc.inherit = nil
	sc.wrappers++
	return sc
}

// sub returns the scope of a command or process substitution, which the
// enclosing shell runs before the command it belongs to.
func (sc scope) sub(via string) scope {
	sc = sc.with(via)
	sc.inherit = nil
	sc.nest++
	sc.wrappers = 0
	sc.placeholder = ""
	sc.appended = false
	return sc
}

// callSite is what a simple command comes with besides its words.
type callSite struct {
	redirs  []Redirect
	assigns []Assign
	in      *feed // text on stdin, when statically known
}

func (a *analyzer) stmts(sc scope, list []*syntax.Stmt) {
	for _, st := range list {
		a.stmt(sc, st, nil)
	}
}

// stmt analyses one statement; in is the text its stdin receives from a
// pipe, when statically known.
func (a *analyzer) stmt(sc scope, st *syntax.Stmt, in *feed) {
	if a.full {
		return
	}
	var subs []syntax.Node
	redirs, own, stdin := a.redirects(sc, st.Redirs, &subs)
	if stdin {
		in = own
	}
	switch cmd := st.Cmd.(type) {
	case nil:
		if len(redirs) > 0 {
			a.bare(sc, st.Pos(), nil, redirs)
		}
	case *syntax.CallExpr:
		assigns := a.assigns(sc, cmd.Assigns, &subs)
		if len(cmd.Args) == 0 {
			a.bare(sc, st.Pos(), assigns, redirs)
			break
		}
		args := a.words(sc, cmd.Args, &subs)
		a.call(sc, args, callSite{redirs: redirs, assigns: assigns, in: in})
	case *syntax.DeclClause:
		a.decl(sc, cmd, redirs, &subs)
	default:
		inner := sc
		if len(redirs) > 0 {
			inner.inherit = slices.Clip(sc.inherit)
			for _, r := range redirs {
				r.Inherited = true
				inner.inherit = append(inner.inherit, r)
			}
		}
		before := a.inherited
		a.compound(inner, cmd, in)
		// A redirection must be reported even when no command inside
		// took it, as in "(( n )) > file", which still creates the file.
		if len(redirs) > 0 && a.inherited == before {
			a.bare(sc, st.Pos(), nil, redirs)
		}
	}
	a.substs(sc, subs)
}

// compound analyses a command that holds other statements or only
// expressions.
func (a *analyzer) compound(sc scope, cmd syntax.Command, in *feed) {
	if sc.nest >= maxNesting {
		a.res.Dynamic = true
		a.note(sc.at(cmd.Pos()), "commands nest more than %d deep; the rest were not analysed", maxNesting)
		return
	}
	sc.nest++
	switch c := cmd.(type) {
	case *syntax.Block:
		a.stmts(sc, c.Stmts)
	case *syntax.Subshell:
		a.stmts(sc, c.Stmts)
	case *syntax.BinaryCmd:
		// Lists and pipelines grow long rather than deep.
		sc.nest--
		a.stmt(sc, c.X, in)
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			in = staticOutput(c.X)
		}
		a.stmt(sc, c.Y, in)
	case *syntax.IfClause:
		for ic := c; ic != nil; ic = ic.Else {
			a.stmts(sc, ic.Cond)
			a.stmts(sc, ic.Then)
		}
	case *syntax.WhileClause:
		a.stmts(sc, c.Cond)
		a.stmts(sc, c.Do)
	case *syntax.ForClause:
		if c.Loop != nil {
			a.scan(sc, c.Loop)
		}
		if vals, ok := a.loopValues(sc, c); ok {
			// The body is analysed once for each value the variable takes.
			it := c.Loop.(*syntax.WordIter)
			from, to := c.DoPos.Offset(), c.DonePos.Offset()
			for _, v := range vals {
				a.stmts(sc.withVars(sc.vars.withLoop(it.Name.Value, v.val, v.glob, from, to)), c.Do)
			}
			break
		}
		a.stmts(sc, c.Do)
	case *syntax.CaseClause:
		if c.Word != nil {
			a.scan(sc, c.Word)
		}
		for _, item := range c.Items {
			for _, p := range item.Patterns {
				a.scan(sc, p)
			}
			a.stmts(sc, item.Stmts)
		}
	case *syntax.FuncDecl:
		name := "?"
		if c.Name != nil {
			name = c.Name.Value
		}
		// The body runs when the function is called, not here, so the
		// redirections around the definition do not apply to it.
		fsc := sc.with("function " + name)
		fsc.inherit = nil
		if c.Body != nil {
			a.stmt(fsc, c.Body, nil)
		}
	case *syntax.ArithmCmd, *syntax.TestClause, *syntax.LetClause:
		a.scan(sc, c)
	case *syntax.TimeClause:
		if c.Stmt != nil {
			a.stmt(sc, c.Stmt, in)
		}
	case *syntax.CoprocClause:
		if c.Name != nil {
			a.scan(sc, c.Name)
		}
		if c.Stmt != nil {
			a.stmt(sc.with("coproc"), c.Stmt, nil)
		}
	case *syntax.TestDecl:
		if c.Body != nil {
			a.stmt(sc, c.Body, nil)
		}
	default:
		a.res.Dynamic = true
		a.note(sc.at(cmd.Pos()), "unsupported construct %T was not analysed", cmd)
	}
}

// scan analyses the substitutions inside a node that is not a command,
// such as the expression of [[ ]] or the words of a for loop.
func (a *analyzer) scan(sc scope, n syntax.Node) {
	var subs []syntax.Node
	collect(n, &subs)
	a.substs(sc, subs)
}

// substs analyses command and process substitutions, in source order.
func (a *analyzer) substs(sc scope, subs []syntax.Node) {
	if len(subs) > 1 {
		slices.SortStableFunc(subs, func(x, y syntax.Node) int {
			return cmp.Compare(x.Pos().Offset(), y.Pos().Offset())
		})
	}
	for _, n := range subs {
		if sc.nest >= maxNesting {
			a.res.Dynamic = true
			a.note(sc.at(n.Pos()), "substitutions nest more than %d deep; the rest were not analysed", maxNesting)
			return
		}
		switch n := n.(type) {
		case *syntax.CmdSubst:
			a.stmts(sc.sub("$()"), n.Stmts)
		case *syntax.ProcSubst:
			via := "<()"
			if n.Op == syntax.CmdOut {
				via = ">()"
			}
			a.stmts(sc.sub(via), n.Stmts)
		}
	}
}

// assigns converts assignments and collects their substitutions.
func (a *analyzer) assigns(sc scope, as []*syntax.Assign, subs *[]syntax.Node) []Assign {
	if len(as) == 0 {
		return nil
	}
	out := make([]Assign, 0, len(as))
	for _, x := range as {
		collect(x, subs)
		out = append(out, assignOf(sc.src, x))
	}
	return out
}

// assignOf converts one assignment. Values are not brace-expanded or
// globbed, as in bash.
func assignOf(src string, x *syntax.Assign) Assign {
	var as Assign
	if x.Name != nil {
		as.Name = x.Name.Value
	}
	if x.Index != nil {
		as.Name += "[" + source(src, x.Index) + "]"
	}
	switch {
	case x.Array != nil:
		as.Value = source(src, x.Array)
		for _, e := range x.Array.Elems {
			if e.Index != nil {
				if w, ok := e.Index.(*syntax.Word); !ok || !plain(w) {
					as.Dynamic = true
				}
			}
			if e.Value != nil && resolve(src, e.Value).dyn {
				as.Dynamic = true
			}
		}
	case x.Value != nil:
		v := resolve(src, x.Value)
		as.Value, as.Dynamic = v.val, v.dyn
	}
	return as
}

// bare reports a statement without a command word.
func (a *analyzer) bare(sc scope, pos syntax.Pos, assigns []Assign, redirs []Redirect) {
	c := Command{Bare: true, Assigns: assigns, Redirects: redirs, Pos: sc.at(pos)}
	for _, as := range assigns {
		if as.Name == "IFS" {
			c.Dynamic = true
			a.note(c.Pos, "IFS is assigned, which changes how later words are split")
		}
	}
	if idx := a.emit(sc, c); idx >= 0 && len(assigns) > 0 {
		a.environ(sc, idx)
	}
}

// decl reports declare, export, local, readonly, typeset and nameref,
// which bash parses specially but which run as builtins.
func (a *analyzer) decl(sc scope, d *syntax.DeclClause, redirs []Redirect, subs *[]syntax.Node) {
	collect(d, subs)
	name := d.Variant.Value
	c := Command{Name: name, Base: name, Redirects: redirs, Pos: sc.at(d.Pos())}
	for _, x := range d.Args {
		switch {
		case x.Naked && x.Name == nil && x.Value != nil:
			// An option, or a word that may expand to options or to
			// assignments at run time.
			v := resolve(sc.src, x.Value)
			if v.dyn {
				c.DynamicArgs = append(c.DynamicArgs, len(c.Args))
				c.Dynamic = true
				a.note(c.Pos, "%s: argument %s is not static", name, quoteNote(v.val))
			}
			c.Args = append(c.Args, v.val)
		case x.Naked && x.Name != nil:
			c.Args = append(c.Args, assignOf(sc.src, x).Name)
		case x.Name != nil:
			as := assignOf(sc.src, x)
			op := "="
			if x.Append {
				op = "+="
			}
			c.Assigns = append(c.Assigns, as)
			c.Args = append(c.Args, as.Name+op+as.Value)
			if as.Name == "IFS" {
				c.Dynamic = true
				a.note(c.Pos, "%s IFS changes how later words are split", name)
			}
		}
	}
	if idx := a.emit(sc, c); idx >= 0 && len(c.Assigns) > 0 {
		a.environ(sc, idx)
	}
}

// call reports a simple command given its words, then analyses what it
// runs in turn.
func (a *analyzer) call(sc scope, args []arg, cs callSite) {
	if a.full || len(args) == 0 {
		return
	}
	name := args[0]
	c := Command{Redirects: cs.redirs, Assigns: cs.assigns, Pos: sc.at(name.pos)}
	why := ""
	switch {
	case name.dyn:
		why = "is not static"
	case name.proc:
		why = "is a process substitution"
	case name.glob:
		why = "is a glob pattern"
	case name.val == "":
		why = "is empty"
	case sc.placeholder != "" && strings.Contains(name.val, sc.placeholder):
		why = "is filled in from input at run time"
	default:
		c.Name, c.Base = name.val, baseName(name.val)
	}
	firstDyn := ""
	if len(args) > 1 {
		c.Args = make([]string, len(args)-1)
		for j, x := range args[1:] {
			c.Args[j] = x.val
			if x.dyn {
				c.DynamicArgs = append(c.DynamicArgs, j)
				if firstDyn == "" {
					firstDyn = x.val
				}
			}
		}
	}
	c.Dynamic = why != "" || len(c.DynamicArgs) > 0
	idx := a.emit(sc, c)
	if idx < 0 {
		return
	}
	if len(c.Assigns) > 0 {
		// Runs after dispatch so that the command's own code comes first.
		defer a.environ(sc, idx)
	}
	if why != "" {
		a.note(c.Pos, "command name %s %s", quoteNote(name.val), why)
		return
	}
	if firstDyn != "" {
		a.note(c.Pos, "%s: argument %s is not static", c.Base, quoteNote(firstDyn))
	}
	if sc.wrappers >= maxWrappers {
		a.dynamic(idx, "%s: more than %d wrappers; the rest were not analysed", c.Base, maxWrappers)
		return
	}
	a.dispatch(sc, idx, args, cs)
}

// emit appends a command to the analysis and returns its index, or -1
// once MaxCommands is reached.
func (a *analyzer) emit(sc scope, c Command) int {
	if len(a.res.Commands) >= MaxCommands {
		if !a.full {
			a.full = true
			a.res.Dynamic = true
			a.note(c.Pos, "more than %d commands; the rest were not analysed", MaxCommands)
		}
		return -1
	}
	if len(sc.via) > 0 {
		c.Via = slices.Clone(sc.via)
	}
	if len(sc.inherit) > 0 {
		c.Redirects = append(slices.Clip(c.Redirects), sc.inherit...)
		a.inherited++
	}
	for _, r := range c.Redirects {
		// The note was added when the redirection was converted.
		if r.Dynamic && r.file() {
			c.Dynamic = true
		}
	}
	if c.Dynamic {
		a.res.Dynamic = true
	}
	a.res.Commands = append(a.res.Commands, c)
	return len(a.res.Commands) - 1
}

// dynamic marks the command at idx as not statically known and says why.
func (a *analyzer) dynamic(idx int, format string, args ...any) {
	c := &a.res.Commands[idx]
	c.Dynamic = true
	a.res.Dynamic = true
	a.note(c.Pos, format, args...)
}

// note adds a line to Notes.
func (a *analyzer) note(p Pos, format string, args ...any) {
	if a.notesFull {
		return
	}
	if len(a.res.Notes) >= maxNotes {
		a.notesFull = true
		a.res.Notes = append(a.res.Notes, p.String()+": further notes omitted")
		return
	}
	a.res.Notes = append(a.res.Notes, p.String()+": "+fmt.Sprintf(format, args...))
}

// quoteNote quotes text for a note, shortening it.
func quoteNote(s string) string {
	const max = 60
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

// baseName returns the last element of a command name.
func baseName(name string) string {
	if name == "" {
		return ""
	}
	return filepath.Base(name)
}
