package policy

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cordon-sh/cordon/shell"
)

// Request is a command to judge and where it would run.
type Request struct {
	// Command is the shell text, as bash would read it.
	Command string
	// Workspace is the absolute path of the directory the command may
	// write; paths are judged inside or outside of it.
	Workspace string
	// Dir is the working directory, against which relative paths are
	// resolved; empty means the workspace.
	Dir string
	// Home is the caller's home directory, for "~" and for rules about
	// dotfiles and credential stores.
	Home string
}

// Names of the rules that Decide applies by itself.
const (
	RuleParseError     = "parse-error"     // the text is not valid shell: deny
	RuleUnknownProgram = "unknown-program" // no rule names the program: ask
	RuleDynamic        = "dynamic"         // what runs is not known statically: at least ask
	RuleEmpty          = "empty"           // nothing runs: allow
)

// Decision is a policy's judgement of a piece of shell text.
type Decision struct {
	// Verdict is the strictest verdict of any command in the text.
	Verdict Verdict `json:"verdict"`
	// Rule and Reason are those of the command that decided the verdict.
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Commands judges every command found in the text, in source order.
	Commands []CommandDecision `json:"commands"`
	// Dynamic reports that the text is not fully known statically.
	Dynamic bool `json:"dynamic,omitempty"`
	// Notes are the shell analyser's notes, each with a position.
	Notes []string `json:"notes,omitempty"`
}

// CommandDecision is the judgement of one command.
type CommandDecision struct {
	// Name, Args, Via and Pos describe the command as the shell analyser
	// found it (see shell.Command).
	Name     string   `json:"name"`
	Args     []string `json:"args,omitempty"`
	Via      []string `json:"via,omitempty"`
	CodeExec string   `json:"code_exec,omitempty"`
	Dynamic  bool     `json:"dynamic,omitempty"`
	Pos      string   `json:"pos"`

	Verdict Verdict `json:"verdict"`
	Rule    string  `json:"rule"`
	Reason  string  `json:"reason"`
	// Matched lists every rule that applied, in policy order.
	Matched []Match `json:"matched,omitempty"`
}

// Match is one rule that applied to a command.
type Match struct {
	Rule    string  `json:"rule"`
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason"`
	Source  Source  `json:"source"`
}

// ruleIndex finds the rules that may apply to a program name, so that a
// decision does not try every rule on every command.
type ruleIndex struct {
	byName map[string][]int // rules whose programs are all exact names
	rest   []int            // every other rule
}

func buildIndex(rules []*Rule) *ruleIndex {
	ix := &ruleIndex{byName: map[string][]int{}}
	for i, r := range rules {
		if r.anyProg || r.exact == nil {
			ix.rest = append(ix.rest, i)
			continue
		}
		for _, n := range r.exact {
			if l := ix.byName[n]; len(l) == 0 || l[len(l)-1] != i {
				ix.byName[n] = append(l, i)
			}
		}
	}
	return ix
}

// candidates returns the indexes of the rules that may apply to a
// command named name with base name base, in policy order.
func (ix *ruleIndex) candidates(buf []int, name, base string) []int {
	buf = append(buf[:0], ix.rest...)
	if base != "" {
		buf = append(buf, ix.byName[base]...)
		if name != base {
			buf = append(buf, ix.byName[name]...)
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// judge holds what one decision resolves paths against.
type judge struct {
	home      string
	homeComps []string
	wsComps   []string
	wsAbs     bool
	dirComps  []string
	dirAbs    bool
	bases     []string
	cdDirs    [][]string // directories the text changes to, resolved
}

// analyzers are reused across decisions: a parser allocates much of what
// one analysis costs.
var analyzers = sync.Pool{New: func() any { return shell.NewAnalyzer() }}

// Decide judges req.Command: every command in it, wherever it sits (in
// pipelines, substitutions, wrappers such as sudo or xargs, the code of
// bash -c), with its arguments and redirections. Each command gets the
// strictest verdict of the rules that apply to it; a command no rule
// names gets Ask, and one that is not statically known gets at least Ask.
// The text gets the strictest verdict of its commands. Text that does not
// parse is denied. Decide may be called from several goroutines at once.
func (p *Policy) Decide(req Request) *Decision {
	// The command runs with HOME as the request gives it: where the text
	// uses it and does not change it, its value is known. (Not PWD: a
	// shell may keep a path through a symbolic link there.)
	var env map[string]string
	if req.Home != "" && filepath.IsAbs(req.Home) {
		env = map[string]string{"HOME": req.Home}
	}
	z := analyzers.Get().(*shell.Analyzer)
	an, err := z.AnalyzeEnv(req.Command, env)
	analyzers.Put(z)
	if err != nil {
		reason := "the text is not valid shell: " + err.Error()
		if pe, ok := err.(*shell.ParseError); ok {
			reason = fmt.Sprintf("the text is not valid shell at %d:%d: %s", pe.Line, pe.Col, pe.Msg)
		}
		return &Decision{Verdict: Deny, Rule: RuleParseError, Reason: reason}
	}
	return p.judge(req, an)
}

// DecideAnalysis is Decide for text that was analysed already.
func (p *Policy) DecideAnalysis(req Request, an *shell.Analysis) *Decision {
	return p.judge(req, an)
}

func (p *Policy) judge(req Request, an *shell.Analysis) *Decision {
	ix, rules := p.idx, p.Commands
	if ix == nil {
		// A Policy built in code rather than by Parse: compile copies of
		// its rules, leaving the caller's untouched.
		rules = make([]*Rule, len(p.Commands))
		for i, r := range p.Commands {
			c := *r
			c.compile()
			rules[i] = &c
		}
		ix = buildIndex(rules)
	}
	e := &judge{home: req.Home}
	if req.Home != "" && filepath.IsAbs(req.Home) {
		e.homeComps = splitPath(filepath.Clean(req.Home))
	}
	if req.Workspace != "" && filepath.IsAbs(req.Workspace) {
		e.wsComps, e.wsAbs = splitPath(filepath.Clean(req.Workspace)), true
		e.dirComps, e.dirAbs = e.wsComps, true
	}
	if req.Dir != "" {
		switch {
		case filepath.IsAbs(req.Dir):
			e.dirComps, e.dirAbs = splitPath(filepath.Clean(req.Dir)), true
		case e.dirAbs:
			e.dirComps = cleanComps(append(slices.Clip(e.dirComps), splitPath(req.Dir)...))
		}
	}
	e.bases = make([]string, len(an.Commands))
	for i := range an.Commands {
		c := &an.Commands[i]
		e.bases[i] = c.Base
		if (c.Base == "cd" || c.Base == "pushd") && len(c.DynamicArgs) == 0 {
			if dir := cdTarget(c.Args); dir != "" {
				if a := e.pathArg(dir); a.abs && !a.glob {
					e.cdDirs = append(e.cdDirs, a.comps)
				}
			}
		}
	}

	d := &Decision{Dynamic: an.Dynamic, Notes: an.Notes, Commands: make([]CommandDecision, len(an.Commands))}
	var buf []int
	decisive := -1
	for i := range an.Commands {
		c := &an.Commands[i]
		cd := &d.Commands[i]
		*cd = CommandDecision{Name: c.Name, Args: c.Args, Via: c.Via, CodeExec: c.CodeExec, Dynamic: c.Dynamic, Pos: c.Pos.String()}
		if c.Bare {
			cd.Name = ""
		}
		v := cmdView{c: c, index: i}
		buf = ix.candidates(buf, c.Name, c.Base)
		covered, best := false, -1
		for _, ri := range buf {
			r := rules[ri]
			if !r.match(e, &v) {
				continue
			}
			cd.Matched = append(cd.Matched, Match{Rule: r.ID, Verdict: r.Decision, Reason: r.Reason, Source: r.Source})
			if !r.anyProg || r.c.programPath != nil {
				covered = true
			}
			if best < 0 || r.Decision > rules[best].Decision {
				best = ri
			}
		}
		cd.Verdict, cd.Rule, cd.Reason = Allow, RuleEmpty, "only assignments or redirections"
		if best >= 0 {
			r := rules[best]
			cd.Verdict, cd.Rule, cd.Reason = r.Decision, r.ID, r.Reason
		}
		if c.Dynamic && cd.Verdict < Ask {
			cd.Verdict, cd.Rule, cd.Reason = Ask, RuleDynamic, dynamicReason(c, an.Notes)
		}
		if !covered && !c.Bare && cd.Verdict < Ask {
			cd.Verdict, cd.Rule, cd.Reason = Ask, RuleUnknownProgram, fmt.Sprintf("no rule covers %s; an unknown program needs approval", c.Name)
		}
		if decisive < 0 || cd.Verdict > d.Commands[decisive].Verdict {
			decisive = i
		}
	}
	switch {
	case decisive >= 0:
		cd := &d.Commands[decisive]
		d.Verdict, d.Rule, d.Reason = cd.Verdict, cd.Rule, cd.Reason
	default:
		d.Verdict, d.Rule, d.Reason = Allow, RuleEmpty, "the text runs nothing"
	}
	if an.Dynamic && d.Verdict < Ask {
		d.Verdict, d.Rule, d.Reason = Ask, RuleDynamic, "the text is not fully known statically"
		if len(an.Notes) > 0 {
			d.Reason += ": " + an.Notes[0]
		}
	}
	return d
}

// dynamicReason finds the analyser's note about c, if any.
func dynamicReason(c *shell.Command, notes []string) string {
	prefix := c.Pos.String() + ":"
	for _, n := range notes {
		if strings.HasPrefix(n, prefix) {
			return "not known statically: " + n
		}
	}
	return "not known statically: what this command runs depends on values known only when it runs"
}

// cdTarget returns the directory cd or pushd changes to: its operand, or
// the home directory when there is none.
func cdTarget(args []string) string {
	for _, a := range args {
		if a == "--" || a == "-L" || a == "-P" || a == "-e" || a == "-@" {
			continue
		}
		if a == "-" || strings.HasPrefix(a, "+") || strings.HasPrefix(a, "-") {
			return ""
		}
		return a
	}
	return "~"
}
