package shell

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// Bounds on the brace expansion of one word. Past them the word is
// reported unexpanded and dynamic, rather than spending memory on
// {1..1000000}, or time on hundreds of groups: the cost of expansion grows
// with the square of the number of groups.
const (
	maxBraceWords  = 1024
	maxBraceGroups = 64
)

// arg is one word of a simple command after the expansions that can be
// done without running anything: quote removal, $'...' decoding and brace
// expansion.
type arg struct {
	val  string     // value after quote removal, or the source text when dyn
	pos  syntax.Pos // where the word starts in the text being analysed
	dyn  bool       // depends on run-time state: parameters, substitutions, arithmetic
	glob bool       // has unquoted pattern characters, so the shell may replace it with file names
	proc bool       // is a process substitution, which the shell replaces with a /dev/fd path
}

// words resolves the words of a simple command, brace-expanding them, and
// adds the command and process substitutions they contain to subs.
func (a *analyzer) words(sc scope, ws []*syntax.Word, subs *[]syntax.Node) []arg {
	args := make([]arg, 0, len(ws))
	for _, w := range ws {
		args = a.appendWord(sc, args, w, subs)
	}
	return args
}

// appendWord appends the words w expands to.
func (a *analyzer) appendWord(sc scope, args []arg, w *syntax.Word, subs *[]syntax.Node) []arg {
	collect(w, subs)
	// Take the position and text before SplitBraces rewrites the parts.
	pos, text := w.Pos(), source(sc.src, w)
	if !syntax.SplitBraces(w) {
		return append(args, resolveVars(sc.src, w, sc.vars))
	}
	words, ok := a.expandBraces(sc.src, sc.vars, w, pos, text)
	if !ok {
		a.res.Dynamic = true
		a.note(sc.at(pos), "brace expansion of %s is too large to follow", quoteNote(text))
		return append(args, arg{val: text, pos: pos, dyn: true})
	}
	return append(args, words...)
}

// expandBraces performs the brace expansion of a word split by
// syntax.SplitBraces. It fails past maxBraceWords words, or when the
// analysis has used up its budget.
func (a *analyzer) expandBraces(src string, vars *consts, w *syntax.Word, pos syntax.Pos, text string) ([]arg, bool) {
	groups := 0
	if braceWords(w, &groups) > maxBraceWords {
		return nil, false
	}
	var out []arg
	for ew, err := range expand.BracesSeq(nil, w) {
		if err != nil || len(out) >= maxBraceWords || a.braceBudget <= 0 {
			return nil, false
		}
		a.braceBudget--
		x := resolveVars(src, ew, vars)
		x.pos = pos
		if x.dyn {
			x.val = text
		}
		out = append(out, x)
	}
	return out, true
}

// braceWords returns how many words w brace-expands to, or more than
// maxBraceWords when that is exceeded or w has more than maxBraceGroups
// brace expressions, counted in groups.
func braceWords(w *syntax.Word, groups *int) int {
	const over = maxBraceWords + 1
	n := 1
	for _, p := range w.Parts {
		br, ok := p.(*syntax.BraceExp)
		if !ok {
			continue
		}
		if *groups++; *groups > maxBraceGroups {
			return over
		}
		m := 0
		if br.Sequence {
			m = sequenceLen(br)
		} else {
			for _, e := range br.Elems {
				if m += braceWords(e, groups); m > maxBraceWords {
					return over
				}
			}
		}
		if n *= m; n > maxBraceWords {
			return over
		}
	}
	return n
}

// sequenceLen bounds the number of words of a sequence expression such as
// {1..10..2} or {a..z}.
func sequenceLen(br *syntax.BraceExp) int {
	const over = maxBraceWords + 1
	if len(br.Elems) < 2 {
		return over
	}
	bound := func(w *syntax.Word) (float64, bool) {
		s := w.Lit()
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return float64(n), true
		}
		if len(s) == 1 {
			return float64(s[0]), true
		}
		return 0, false
	}
	from, ok1 := bound(br.Elems[0])
	to, ok2 := bound(br.Elems[1])
	if !ok1 || !ok2 {
		return over
	}
	step := 1.0
	if len(br.Elems) > 2 {
		if n, err := strconv.ParseInt(br.Elems[2].Lit(), 10, 64); err == nil && n != 0 {
			step = math.Abs(float64(n))
		}
	}
	n := math.Abs(to-from)/step + 1
	if n > maxBraceWords {
		return over
	}
	return int(n)
}

// resolve returns the static value of a word that holds no brace
// expansion.
func resolve(src string, w *syntax.Word) arg { return resolveVars(src, w, nil) }

// resolveVars is resolve, with the values of the variables vars knows.
func resolveVars(src string, w *syntax.Word, vars *consts) arg {
	if len(w.Parts) == 1 {
		switch p := w.Parts[0].(type) {
		case *syntax.Lit:
			// The common case: a plain word without quotes or escapes.
			if !strings.ContainsAny(p.Value, "\\*?[") {
				return arg{val: p.Value, pos: w.Pos()}
			}
		case *syntax.ProcSubst:
			return arg{val: source(src, w), pos: w.Pos(), proc: true}
		}
	}
	r := resolver{vars: vars}
	r.parts(w.Parts, unquoted)
	x := arg{pos: w.Pos(), glob: r.glob}
	if r.dyn {
		x.val, x.dyn = source(src, w), true
	} else {
		x.val = r.sb.String()
	}
	return x
}

// literal returns the value of a word that is entirely static and would
// not change under globbing or brace expansion.
func literal(w *syntax.Word) (string, bool) {
	var r resolver
	r.parts(w.Parts, unquoted)
	if r.dyn || r.glob || r.brace {
		return "", false
	}
	return r.sb.String(), true
}

// quoting says which backslash escapes apply to a literal part.
type quoting uint8

const (
	unquoted quoting = iota // a backslash quotes any character
	dquoted                 // inside "...": only $ ` " \ and newline
	heredoc                 // in an unquoted here-document: only $ ` \ and newline
)

// resolver accumulates the static value of word parts.
type resolver struct {
	vars    *consts // known variables, or nil
	sb      strings.Builder
	dyn     bool // a part needs run-time state
	glob    bool // an unquoted pattern character was seen
	brace   bool // an unquoted '{' was seen
	bracket bool // an unquoted '[' was seen, so a later ']' closes a pattern
}

func (r *resolver) parts(ps []syntax.WordPart, q quoting) {
	for _, p := range ps {
		switch p := p.(type) {
		case *syntax.Lit:
			r.lit(p.Value, q)
		case *syntax.SglQuoted:
			if p.Dollar {
				r.sb.WriteString(ansiC(p.Value))
			} else {
				r.sb.WriteString(p.Value)
			}
		case *syntax.DblQuoted:
			r.parts(p.Parts, dquoted)
		case *syntax.ExtGlob:
			r.glob = true
			r.sb.WriteString(p.Op.String())
			r.sb.WriteString(p.Pattern.Value)
			r.sb.WriteByte(')')
		case *syntax.ParamExp:
			r.param(p, q)
		default:
			// Command, process and arithmetic substitutions, and brace
			// expansions left in place.
			r.dyn = true
		}
	}
}

// param resolves $NAME or ${NAME} when its value is known there. Unquoted,
// a value that word splitting or globbing would change (or remove) stays
// unknown.
func (r *resolver) param(p *syntax.ParamExp, q quoting) {
	simple := p.Param != nil && !p.Excl && !p.Length && !p.Width && p.Index == nil &&
		p.Slice == nil && p.Repl == nil && p.Names == 0 && p.Exp == nil && p.Flags == nil && p.NestedParam == nil
	if !simple {
		r.dyn = true
		return
	}
	v, ok := r.vars.lookup(p.Param.Value, p.Pos().Offset())
	if ok && v.glob {
		if q == unquoted {
			// A path with a space splits into words that need not
			// match the pattern at all ("-rf .. x.go").
			r.dyn = true
			return
		}
		// One path the loop's pattern matched: judged as the pattern.
		r.glob = true
		r.sb.WriteString(v.val)
		return
	}
	if !ok || q == unquoted && (v.val == "" || strings.ContainsAny(v.val, " \t\n*?[]{}\\")) {
		r.dyn = true
		return
	}
	r.sb.WriteString(v.val)
}

// lit removes the backslash escapes of a literal part; an unquoted one
// also has its pattern characters noted.
func (r *resolver) lit(s string, q quoting) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			next := s[i+1]
			switch {
			case next == '\n':
				i++
				continue
			case q == unquoted,
				next == '$', next == '`', next == '\\',
				next == '"' && q == dquoted:
				r.sb.WriteByte(next)
				i++
				continue
			}
		}
		if q == unquoted {
			switch c {
			case '*', '?':
				r.glob = true
			case '[':
				r.bracket = true
			case ']':
				r.glob = r.glob || r.bracket
			case '{':
				r.brace = true
			}
		}
		r.sb.WriteByte(c)
	}
}

// ansiC decodes the body of a $'...' string as bash does. Decoding stops at
// a NUL byte, which bash cannot keep in a word.
func ansiC(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'e', 'E':
			sb.WriteByte(0x1b)
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'v':
			sb.WriteByte('\v')
		case '\\', '\'', '"', '?':
			sb.WriteByte(c)
		case 'c':
			if i+1 == len(s) {
				sb.WriteString(`\c`)
				break
			}
			i++
			x := s[i]
			if x == '\\' && i+1 < len(s) && s[i+1] == '\\' {
				i++
			}
			if x == '?' {
				sb.WriteByte(0x7f)
			} else {
				sb.WriteByte(upper(x) & 0x1f)
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, j := 0, i
			for ; j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7'; j++ {
				n = n*8 + int(s[j]-'0')
			}
			sb.WriteByte(byte(n))
			i = j - 1
		case 'x', 'u', 'U':
			width := 2
			switch c {
			case 'u':
				width = 4
			case 'U':
				width = 8
			}
			n, j := rune(0), i+1
			for ; j < len(s) && j < i+1+width; j++ {
				d, ok := hexDigit(s[j])
				if !ok {
					break
				}
				n = n*16 + d
			}
			switch {
			case j == i+1:
				sb.WriteByte('\\')
				sb.WriteByte(c)
			case c == 'x':
				sb.WriteByte(byte(n))
			case utf8.ValidRune(n):
				sb.WriteRune(n)
			default:
				sb.WriteRune(utf8.RuneError)
			}
			if j > i+1 {
				i = j - 1
			}
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
	}
	out := sb.String()
	if k := strings.IndexByte(out, 0); k >= 0 {
		out = out[:k]
	}
	return out
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func hexDigit(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

// source returns the text of a node in src, the text it was parsed from.
func source(src string, n syntax.Node) string {
	start, end := n.Pos().Offset(), n.End().Offset()
	if start > end || end > uint(len(src)) {
		return ""
	}
	return src[start:end]
}

// collect adds to subs the outermost command and process substitutions
// found in n. They run in the shell evaluating n, before the command that
// n belongs to.
func collect(n syntax.Node, subs *[]syntax.Node) {
	if w, ok := n.(*syntax.Word); ok && plain(w) {
		return
	}
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst:
			*subs = append(*subs, n)
			return false
		}
		return true
	})
}

// plain reports whether w is made only of literal and single-quoted parts,
// which cannot hold substitutions.
func plain(w *syntax.Word) bool {
	for _, p := range w.Parts {
		switch p.(type) {
		case *syntax.Lit, *syntax.SglQuoted:
		default:
			return false
		}
	}
	return true
}
