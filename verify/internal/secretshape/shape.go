// Package secretshape finds, in a gitleaks rule's regex, where its
// matches must sit relative to the rule's keywords, so that verify can
// try the regex only there. verify/internal/gensecrets runs it at
// generate time; the cordon binary never parses the rules' regexes
// for this.
package secretshape

import (
	"regexp/syntax"
	"slices"
	"strings"
)

// Multiline reports whether a regex is written to match across lines.
// Other regexes' \s can cross a line end too; verify's regions allow
// for a value on the line after its name.
func Multiline(re string) bool {
	return strings.Contains(re, `[\s\S`) || strings.Contains(re, `(?s`) || strings.Contains(re, `[\r\n]`)
}

// AssignSyntax is how about half of gitleaks' rules (those made by its
// GenerateSemiGenericRegex, and generic-api-key) require an assignment
// right after their keyword: "password = ...", "token: ...".
const AssignSyntax = `(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)`

// Shape says how a rule's regex relates to AssignSyntax. A rule
// is gated when every match of its regex has, at its top level, a
// group whose strings all end in one of the rule's keywords, followed
// by AssignSyntax: then a keyword with no assignment after it cannot
// be part of a match. It is anchored when, moreover, the regex is
// semiGenericPrefix (an optional name), the group (whose strings are
// all keywords) and the rest, with nothing captured before the rest:
// a match is then the group at a keyword followed by the rest, and the
// rest can run anchored at the keyword's end.
type Shape struct {
	Gated         bool
	Group, Suffix string // for an anchored rule
}

func Assign(re string, keywords []string) Shape {
	i := strings.Index(re, AssignSyntax)
	if i < 0 || strings.Count(re, AssignSyntax) != 1 || i == 0 || re[i-1] != ')' {
		return Shape{}
	}
	// The group before: from its "(" to re[i-1].
	depth, j := 0, i-1
	for ; j >= 0; j-- {
		switch {
		case re[j] == ')' && (j == 0 || re[j-1] != '\\'):
			depth++
		case re[j] == '(' && (j == 0 || re[j-1] != '\\'):
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if j <= 0 {
		return Shape{}
	}
	flags := syntax.Perl
	if strings.HasPrefix(re, "(?i)") {
		flags |= syntax.FoldCase
	}
	// The pieces must be the top-level sequence of the whole regex, so
	// that no alternation goes around the assignment.
	full, err1 := syntax.Parse(re, syntax.Perl)
	pre, err2 := syntax.Parse(re[:j], syntax.Perl)
	group, err3 := syntax.Parse(re[j:i], flags)
	rest, err4 := syntax.Parse(re[i:], flags)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || full.Op != syntax.OpConcat || rest.Op != syntax.OpConcat {
		return Shape{}
	}
	seq := []*syntax.Regexp{pre}
	if pre.Op == syntax.OpConcat {
		seq = pre.Sub
	} else if pre.Op == syntax.OpEmptyMatch {
		seq = nil
	}
	seq = slices.Clone(seq)
	if group.Op == syntax.OpConcat {
		// The parser flattens a non-capturing group into its parent.
		seq = append(seq, group.Sub...)
	} else {
		seq = append(seq, group)
	}
	seq = append(seq, rest.Sub...)
	if !slices.EqualFunc(full.Sub, seq, (*syntax.Regexp).Equal) {
		return Shape{}
	}
	words, ok := literalStrings(group.Simplify(), 64)
	if !ok {
		return Shape{}
	}
	exact := true
	for _, w := range words {
		w = strings.ToLower(w)
		if !slices.ContainsFunc(keywords, func(k string) bool { return strings.HasSuffix(w, strings.ToLower(k)) }) {
			return Shape{}
		}
		exact = exact && slices.ContainsFunc(keywords, func(k string) bool { return strings.EqualFold(w, k) })
	}
	if !exact || re[:j] != semiGenericPrefix || hasCapture(group) {
		return Shape{Gated: true}
	}
	return Shape{Gated: true, Group: re[j:i], Suffix: re[i:]}
}

const semiGenericPrefix = `(?i)[\w.-]{0,50}?`

func hasCapture(re *syntax.Regexp) bool {
	if re.Op == syntax.OpCapture {
		return true
	}
	return slices.ContainsFunc(re.Sub, hasCapture)
}

// literalStrings lists the strings re matches, if they are few.
func literalStrings(re *syntax.Regexp, limit int) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpCapture:
		return literalStrings(re.Sub[0], limit)
	case syntax.OpCharClass:
		var out []string
		for k := 0; k+1 < len(re.Rune); k += 2 {
			for r := re.Rune[k]; r <= re.Rune[k+1]; r++ {
				if len(out) >= limit {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, true
	case syntax.OpQuest:
		s, ok := literalStrings(re.Sub[0], limit)
		return append(s, ""), ok
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			s, ok := literalStrings(sub, limit)
			if !ok || len(out)+len(s) > limit {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			s, ok := literalStrings(sub, limit)
			if !ok || len(out)*len(s) > limit {
				return nil, false
			}
			var next []string
			for _, a := range out {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// StartsWithKeyword reports whether every match of re starts with one
// of the keywords (in any case), possibly after a word boundary: then
// the regex need only be tried, anchored, where a keyword is.
func StartsWithKeyword(re string, keywords []string) (starts, boundary bool) {
	g, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return false, false
	}
	g = g.Simplify()
	for g.Op == syntax.OpCapture {
		g = g.Sub[0]
	}
	if g.Op == syntax.OpConcat && len(g.Sub) > 1 && g.Sub[0].Op == syntax.OpWordBoundary {
		boundary = true
		g = &syntax.Regexp{Op: syntax.OpConcat, Sub: g.Sub[1:]}
	}
	prefixes, ok := literalPrefixes(g)
	if !ok {
		return false, false
	}
	for _, p := range prefixes {
		p = strings.ToLower(p)
		if !slices.ContainsFunc(keywords, func(k string) bool { return strings.HasPrefix(p, strings.ToLower(k)) }) {
			return false, false
		}
	}
	return true, boundary
}

// literalPrefixes lists literal strings one of which starts every
// match of re.
func literalPrefixes(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return literalPrefixes(re.Sub[0])
	case syntax.OpConcat:
		// The literal pieces in front, then the prefixes of the first
		// piece that is not literal.
		acc := []string{""}
		for _, sub := range re.Sub {
			next, ok := literalStrings(sub, 64)
			literal := ok
			if !ok {
				if next, ok = literalPrefixes(sub); !ok {
					break
				}
			}
			if len(acc)*len(next) > 256 {
				break
			}
			var cross []string
			for _, a := range acc {
				for _, b := range next {
					cross = append(cross, a+b)
				}
			}
			acc = cross
			if !literal {
				break
			}
		}
		return acc, !slices.Contains(acc, "")
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			p, ok := literalPrefixes(sub)
			if !ok {
				return nil, false
			}
			out = append(out, p...)
		}
		return out, true
	}
	return nil, false
}
