package policy

import (
	"errors"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/cordon-sh/cordon/shell"
)

// glob is a compiled glob pattern in which "*" matches any text, "/"
// included: an argument such as --output=/etc/x is one word, not a path.
type glob struct {
	raw  string
	lit  bool           // no meta characters: compare
	wild bool           // only "*" and "?"
	re   *regexp.Regexp // bracket expressions
}

func compileGlob(s string) glob {
	g := glob{raw: s}
	switch {
	case !strings.ContainsAny(s, `*?[\{`):
		g.lit = true
	case !strings.ContainsAny(s, `[\{`):
		g.wild = true
	default:
		var b strings.Builder
		b.WriteString(`^(?s:`)
		braces := 0
		for i := 0; i < len(s); i++ {
			switch c := s[i]; c {
			case '{':
				braces++
				b.WriteString(`(?:`)
			case ',':
				if braces > 0 {
					b.WriteString(`|`)
				} else {
					b.WriteString(`,`)
				}
			case '}':
				if braces > 0 {
					braces--
					b.WriteString(`)`)
				} else {
					b.WriteString(`\}`)
				}
			case '*':
				b.WriteString(`.*`)
			case '?':
				b.WriteString(`.`)
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteString(regexp.QuoteMeta(s[i : i+1]))
				}
			case '[':
				j := strings.IndexByte(s[i+1:], ']')
				if j < 0 {
					b.WriteString(`\[`)
					continue
				}
				class := s[i+1 : i+1+j]
				if strings.HasPrefix(class, "!") {
					class = "^" + class[1:]
				}
				b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
				i += j + 1
			default:
				b.WriteString(regexp.QuoteMeta(s[i : i+1]))
			}
		}
		for ; braces > 0; braces-- {
			b.WriteString(`)`)
		}
		b.WriteString(`)$`)
		re, err := regexp.Compile(b.String())
		if err != nil {
			// Validated with path.Match at load time; a pattern that
			// still fails matches only itself.
			g.lit = true
			return g
		}
		g.re = re
	}
	return g
}

func (g glob) match(s string) bool {
	switch {
	case g.lit:
		return g.raw == s
	case g.wild:
		return wildMatch(g.raw, s)
	}
	return g.re.MatchString(s)
}

// wildMatch matches s against a pattern of literal bytes, "*" and "?",
// without backtracking beyond the last star.
func wildMatch(p, s string) bool {
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func anyGlob(gs []glob, s string) bool {
	for _, g := range gs {
		if g.match(s) {
			return true
		}
	}
	return false
}

// Path pattern classes.
const (
	classNone             = iota
	classOutsideWorkspace // "@outside-workspace"
	classWorkspace        // "@workspace"
	classOtherHome        // "@other-home"
)

// pathPattern is a compiled path pattern:
//
//   - "/etc", "/etc/cron*": an absolute path; it matches that path and
//     everything below it;
//   - "~/.ssh": the same, below the home directory;
//   - ".git/hooks", "*.pem": a relative pattern matches wherever its
//     components appear in a row, and everything below;
//   - "@outside-workspace": a path that is neither in the workspace nor in
//     the sandbox's private scratch space (/tmp, /dev/shm, /dev/null...);
//   - "@workspace": a path in the workspace;
//   - "@other-home": a path in another user's home directory, below /home
//     or /root but not below the caller's home.
//
// Each component is a glob as in path.Match.
type pathPattern struct {
	class int
	abs   bool
	home  bool
	comps []pcomp
}

// pcomp is one component of a path pattern, sorted out once so that
// matching, which runs for every path of every command, only compares.
type pcomp struct {
	s    string
	lit  bool // no meta characters
	wild bool // only "*" and "?"
}

func (c pcomp) match(s string) bool {
	switch {
	case c.lit:
		return c.s == s
	case c.wild:
		return wildMatch(c.s, s)
	}
	ok, _ := path.Match(c.s, s)
	return ok
}

func checkPathPattern(g string) error {
	if strings.HasPrefix(g, "@") {
		if g == "@outside-workspace" || g == "@workspace" || g == "@other-home" {
			return nil
		}
		return errors.New("unknown path class (expected @outside-workspace, @workspace or @other-home)")
	}
	if g == "" {
		return errors.New("expected a path pattern, found an empty string")
	}
	for _, c := range strings.Split(g, "/") {
		if c == ".." {
			return errors.New(`a path pattern cannot contain ".."`)
		}
		if _, err := path.Match(c, ""); err != nil {
			return errors.New("not a valid glob pattern")
		}
	}
	return nil
}

func compilePathPattern(g string) pathPattern {
	switch g {
	case "@outside-workspace":
		return pathPattern{class: classOutsideWorkspace}
	case "@workspace":
		return pathPattern{class: classWorkspace}
	case "@other-home":
		return pathPattern{class: classOtherHome}
	}
	pp := pathPattern{}
	switch {
	case g == "~" || strings.HasPrefix(g, "~/"):
		pp.home = true
		g = strings.TrimPrefix(g[1:], "/")
	case strings.HasPrefix(g, "/"):
		pp.abs = true
	}
	for _, c := range splitPath(g) {
		pp.comps = append(pp.comps, pcomp{s: c, lit: !strings.ContainsAny(c, `*?[\\`), wild: !strings.ContainsAny(c, `[\\`)})
	}
	return pp
}

// splitPath returns the non-empty components of p.
func splitPath(p string) []string {
	out := make([]string, 0, strings.Count(p, "/")+1)
	for c := range strings.SplitSeq(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// globMatch reports whether a path component written as a glob (cat
// ~/.s*/id_*) could expand to a name the pattern component names. As in
// bash without dotglob, a glob that does not start with "." does not
// reach names that do. Only anchored patterns (absolute or below home)
// are compared this way: a relative pattern may match anywhere, and the
// analyser cannot tell a glob from a quoted pattern such as find's
// -name '.git*', so there it would deny ordinary searches.
func (c pcomp) globMatch(s string) bool {
	if c.match(s) {
		return true
	}
	if !strings.ContainsAny(s, "*?[") {
		return false
	}
	if strings.HasPrefix(c.s, ".") && !strings.HasPrefix(s, ".") {
		return false
	}
	ok, _ := path.Match(s, c.s)
	return ok
}

// prefixMatchGlob is prefixMatch for paths that hold glob characters.
func prefixMatchGlob(pat []pcomp, p []string) bool {
	if len(p) < len(pat) {
		return false
	}
	for i, c := range pat {
		if !c.globMatch(p[i]) {
			return false
		}
	}
	return true
}

// prefixMatch reports whether the components pat match the leading
// components of p.
func prefixMatch(pat []pcomp, p []string) bool {
	if len(p) < len(pat) {
		return false
	}
	for i, c := range pat {
		if !c.match(p[i]) {
			return false
		}
	}
	return true
}

func (pp *pathPattern) match(e *judge, a *pathArg) bool {
	switch pp.class {
	case classOutsideWorkspace:
		return a.outside
	case classWorkspace:
		return a.inWorkspace
	case classOtherHome:
		if !a.abs || len(a.comps) == 0 || a.inWorkspace {
			return false
		}
		if len(e.homeComps) > 0 && prefixMatchExact(e.homeComps, a.comps) {
			return false
		}
		return a.comps[0] == "root" || a.comps[0] == "home" && len(a.comps) > 1
	}
	if a.glob {
		switch {
		case pp.abs:
			return a.abs && prefixMatchGlob(pp.comps, a.comps)
		case pp.home:
			return a.underHome && prefixMatchGlob(pp.comps, a.comps[len(e.homeComps):])
		}
	}
	switch {
	case pp.abs:
		return a.abs && prefixMatch(pp.comps, a.comps)
	case pp.home:
		return a.underHome && prefixMatch(pp.comps, a.comps[len(e.homeComps):])
	}
	for i := 0; i+len(pp.comps) <= len(a.comps); i++ {
		if prefixMatch(pp.comps, a.comps[i:]) {
			return true
		}
	}
	return false
}

func anyPath(e *judge, ps *pathSet, args []pathArg) bool {
	for i := range args {
		if ps.match(e, &args[i]) {
			return true
		}
	}
	return false
}

// pathSet is a list of path patterns indexed by their first literal
// component, so that a path is compared only with the patterns that can
// match it: the credential rules alone hold dozens of patterns, and every
// path of every command meets them.
type pathSet struct {
	classes   []pathPattern
	abs, home map[string][]pathPattern // by first component
	rel       map[string][]pathPattern // by first component
	other     []pathPattern            // first component is a glob, or none
	all       []pathPattern            // every pattern, for paths holding globs
}

func newPathSet(ss []string) *pathSet {
	if len(ss) == 0 {
		return nil
	}
	ps := &pathSet{abs: map[string][]pathPattern{}, home: map[string][]pathPattern{}, rel: map[string][]pathPattern{}}
	for _, s := range ss {
		pp := compilePathPattern(s)
		if pp.class == classNone {
			ps.all = append(ps.all, pp)
		}
		switch {
		case pp.class != classNone:
			ps.classes = append(ps.classes, pp)
		case len(pp.comps) == 0 || !pp.comps[0].lit:
			ps.other = append(ps.other, pp)
		case pp.abs:
			ps.abs[pp.comps[0].s] = append(ps.abs[pp.comps[0].s], pp)
		case pp.home:
			ps.home[pp.comps[0].s] = append(ps.home[pp.comps[0].s], pp)
		default:
			ps.rel[pp.comps[0].s] = append(ps.rel[pp.comps[0].s], pp)
		}
	}
	return ps
}

func (ps *pathSet) match(e *judge, a *pathArg) bool {
	for i := range ps.classes {
		if ps.classes[i].match(e, a) {
			return true
		}
	}
	if a.glob {
		// A glob in the path may expand to any name the index is keyed
		// by: compare with every pattern.
		for i := range ps.all {
			if ps.all[i].match(e, a) {
				return true
			}
		}
		return false
	}
	for i := range ps.other {
		if ps.other[i].match(e, a) {
			return true
		}
	}
	if a.abs && len(a.comps) > 0 {
		for _, pp := range ps.abs[a.comps[0]] {
			if prefixMatch(pp.comps, a.comps) {
				return true
			}
		}
	}
	if a.underHome && len(a.comps) > len(e.homeComps) {
		rest := a.comps[len(e.homeComps):]
		for _, pp := range ps.home[rest[0]] {
			if prefixMatch(pp.comps, rest) {
				return true
			}
		}
	}
	if len(ps.rel) > 0 {
		for i, c := range a.comps {
			for _, pp := range ps.rel[c] {
				if prefixMatch(pp.comps, a.comps[i:]) {
					return true
				}
			}
		}
	}
	return false
}

// compiled is what compile derives from a rule's patterns.
type compiled struct {
	program     []glob
	progSet     map[string]bool // the literal entries of program
	progGlobs   []glob          // the others
	programPath *pathSet
	args        []glob
	anyArg      []glob
	path        *pathSet
	dest        *pathSet
	write       *pathSet
	read        *pathSet
	via         []glob
	codeExec    []glob
	assigns     []glob
	withProgram []glob
}

func globs(ss []string) []glob {
	if len(ss) == 0 {
		return nil
	}
	out := make([]glob, len(ss))
	for i, s := range ss {
		out[i] = compileGlob(s)
	}
	return out
}

// compile prepares the rule's patterns for matching. Parse calls it, and
// Decide calls it on a copy of each rule of a Policy built in code.
func (r *Rule) compile() {
	r.c.program = globs(r.Program)
	r.anyProg = len(r.Program) == 0
	r.c.progSet = map[string]bool{}
	r.c.progGlobs = nil
	for _, g := range r.c.program {
		if g.lit {
			r.c.progSet[g.raw] = true
		} else {
			r.c.progGlobs = append(r.c.progGlobs, g)
		}
	}
	r.exact = nil
	for _, g := range r.c.program {
		if !g.lit {
			r.exact = nil
			break
		}
		r.exact = append(r.exact, g.raw)
	}
	// The rest is compiled when the rule is first tried on a command
	// whose program it names: a run judges a few commands against a few
	// rules, and compiling all of the default's patterns up front cost a
	// millisecond of every cordon start.
	r.rest = &lazyRest{}
}

// lazyRest guards the compilation of everything but the program.
type lazyRest struct{ once sync.Once }

// ensure compiles the rule's matchers other than its program.
func (r *Rule) ensure() {
	r.rest.once.Do(func() {
		r.c.programPath = newPathSet(r.ProgramPath)
		r.c.args = globs(r.Args)
		r.c.anyArg = globs(r.AnyArg)
		r.c.path = newPathSet(r.Path)
		r.c.dest = newPathSet(r.Dest)
		r.c.write = newPathSet(r.Write)
		r.c.read = newPathSet(r.Read)
		r.c.via = globs(r.Via)
		r.c.codeExec = globs(r.CodeExec)
		r.c.assigns = globs(r.Assigns)
		r.c.withProgram = globs(r.WithProgram)
		if r.ArgsMatch != "" && r.argsRE == nil {
			r.argsRE, _ = regexp.Compile(r.ArgsMatch)
		}
	})
}

// match reports whether the rule applies to the command v.
func (r *Rule) match(e *judge, v *cmdView) bool {
	c := v.c
	if !r.anyProg {
		if c.Name == "" || !(r.c.progSet[c.Base] || r.c.progSet[c.Name] ||
			anyGlob(r.c.progGlobs, c.Base) || c.Name != c.Base && anyGlob(r.c.progGlobs, c.Name)) {
			return false
		}
	}
	r.ensure()
	if r.c.programPath != nil {
		if !strings.Contains(c.Name, "/") {
			return false
		}
		a := e.pathArg(c.Name)
		if !r.c.programPath.match(e, &a) {
			return false
		}
	}
	if r.c.args != nil {
		if len(c.Args) < len(r.c.args) {
			return false
		}
		for i, g := range r.c.args {
			if !g.match(c.Args[i]) {
				return false
			}
		}
	}
	if r.c.anyArg != nil {
		found := false
		for _, a := range c.Args {
			if anyGlob(r.c.anyArg, a) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.argsRE != nil && !r.argsRE.MatchString(v.joined()) {
		return false
	}
	if r.Dynamic != nil && *r.Dynamic != c.Dynamic {
		return false
	}
	if r.c.codeExec != nil && (c.CodeExec == "" || !anyGlob(r.c.codeExec, c.CodeExec)) {
		return false
	}
	if r.c.via != nil {
		found := false
		for _, w := range c.Via {
			if anyGlob(r.c.via, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.c.assigns != nil {
		found := false
		for _, a := range c.Assigns {
			if anyGlob(r.c.assigns, a.Name) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.c.withProgram != nil {
		found := false
		for i, b := range e.bases {
			if i != v.index && b != "" && anyGlob(r.c.withProgram, b) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if r.c.path != nil && !anyPath(e, r.c.path, v.paths(e)) {
		return false
	}
	if r.c.dest != nil {
		last := lastOperand(c.Args)
		if last == "" {
			return false
		}
		if !anyPath(e, r.c.dest, e.pathArgs(nil, last)) {
			return false
		}
	}
	if r.c.write != nil && !anyPath(e, r.c.write, v.writes(e)) {
		return false
	}
	if r.c.read != nil && !anyPath(e, r.c.read, v.reads(e)) {
		return false
	}
	return true
}

// pathArg is a path named by an argument or a redirection, resolved
// against the working directory.
type pathArg struct {
	glob        bool // a component holds *, ? or [
	abs         bool
	underHome   bool // comps start with the home directory's
	comps       []string
	outside     bool
	inWorkspace bool
}

// cmdView is one command being judged, with what is derived from it
// computed at most once.
type cmdView struct {
	c     *shell.Command
	index int

	joinedS                string
	pathsL, wl, rl         []pathArg
	hasJ, hasP, hasW, hasR bool
}

func (v *cmdView) joined() string {
	if !v.hasJ {
		v.joinedS, v.hasJ = strings.Join(v.c.Args, " "), true
	}
	return v.joinedS
}

// paths returns the paths the arguments may name. Options are skipped
// unless they carry a value (--file=PATH); values after "=" and "@" are
// looked at too, so that of=/dev/sda, -d @~/.ssh/id_rsa and
// file=@secret.pem are seen.
func (v *cmdView) paths(e *judge) []pathArg {
	if v.hasP {
		return v.pathsL
	}
	v.hasP = true
	for _, a := range v.c.Args {
		for _, cand := range candidates(a) {
			v.pathsL = e.pathArgs(v.pathsL, cand)
		}
	}
	return v.pathsL
}

func candidates(a string) []string {
	var out []string
	if a == "" || a == "-" || a == "--" {
		return nil
	}
	if strings.HasPrefix(a, "-") {
		_, val, ok := strings.Cut(a, "=")
		if !ok || val == "" {
			return nil
		}
		a = val
	} else {
		out = append(out, strings.TrimPrefix(a, "@"))
		_, val, ok := strings.Cut(a, "=")
		if !ok || val == "" {
			return out
		}
		a = val
	}
	return append(out, strings.TrimPrefix(a, "@"))
}

func (v *cmdView) writes(e *judge) []pathArg {
	if !v.hasW {
		v.hasW = true
		for _, r := range v.c.Redirects {
			if r.Write() && !r.Dynamic && r.Target != "" {
				v.wl = e.pathArgs(v.wl, r.Target)
			}
		}
	}
	return v.wl
}

func (v *cmdView) reads(e *judge) []pathArg {
	if !v.hasR {
		v.hasR = true
		for _, r := range v.c.Redirects {
			if r.Read() && !r.Dynamic && r.Target != "" {
				v.rl = e.pathArgs(v.rl, r.Target)
			}
		}
	}
	return v.rl
}

// scratch are the places outside the workspace that a sandboxed command
// writes without harm: the private /tmp and /dev/shm, and the character
// devices that discard or pass through.
var scratch = [][]string{
	{"tmp"}, {"dev", "shm"}, {"dev", "null"}, {"dev", "zero"}, {"dev", "stdout"},
	{"dev", "stderr"}, {"dev", "stdin"}, {"dev", "tty"}, {"dev", "fd"}, {"proc", "self", "fd"},
}

// pathArg resolves p: "~" and "~/x" against the home directory, "~user"
// against /home, relative paths against the working directory.
// pathArgs appends p resolved against the working directory, and, when
// it is relative, against every directory the text changes to with cd or
// pushd: where in the text the change happens is not tracked, so each is
// assumed for every command, which can only make a decision stricter.
func (e *judge) pathArgs(out []pathArg, p string) []pathArg {
	out = append(out, e.pathArg(p))
	if len(e.cdDirs) == 0 || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") {
		return out
	}
	saved, savedAbs := e.dirComps, e.dirAbs
	for _, d := range e.cdDirs {
		e.dirComps, e.dirAbs = d, true
		out = append(out, e.pathArg(p))
	}
	e.dirComps, e.dirAbs = saved, savedAbs
	return out
}

func (e *judge) pathArg(p string) pathArg {
	a := e.resolve(p)
	a.glob = strings.ContainsAny(p, "*?[")
	return a
}

func (e *judge) resolve(p string) pathArg {
	var a pathArg
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		if e.home == "" {
			// An unknown home is still somewhere outside the workspace.
			a.abs, a.outside = true, true
			a.comps = append([]string{"~"}, splitPath(p[1:])...)
			return a
		}
		a.abs = true
		a.comps = append(append(make([]string, 0, len(e.homeComps)+4), e.homeComps...), cleanComps(splitPath(p[1:]))...)
	case strings.HasPrefix(p, "~"):
		a.abs = true
		a.comps = cleanComps(splitPath("/home/" + p[1:]))
	case strings.HasPrefix(p, "/"):
		a.abs = true
		a.comps = cleanComps(splitPath(p))
	case len(e.dirComps) > 0 || e.dirAbs:
		a.abs = true
		a.comps = cleanComps(append(append(make([]string, 0, len(e.dirComps)+4), e.dirComps...), splitPath(p)...))
	default:
		// No workspace given: a relative path stays relative, and is
		// taken to be inside it unless it climbs out.
		a.comps = splitPath(p)
		if len(a.comps) > 0 && a.comps[0] == ".." {
			a.outside = true
			return a
		}
		a.comps = cleanComps(a.comps)
		a.inWorkspace = true
		return a
	}
	a.underHome = len(e.homeComps) > 0 && prefixMatchExact(e.homeComps, a.comps)
	if e.wsAbs && prefixMatchExact(e.wsComps, a.comps) {
		a.inWorkspace = true
		return a
	}
	for _, s := range scratch {
		if prefixMatchExact(s, a.comps) {
			return a
		}
	}
	a.outside = true
	return a
}

func prefixMatchExact(pre, p []string) bool {
	if len(p) < len(pre) {
		return false
	}
	for i := range pre {
		if pre[i] != p[i] {
			return false
		}
	}
	return true
}

// cleanComps resolves ".." lexically, as filepath.Clean does; a ".."
// above the root stays at the root.
func cleanComps(cs []string) []string {
	out := cs[:0:0]
	for _, c := range cs {
		if c == ".." {
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// lastOperand returns the last argument that is not an option, or the
// value of -t/--target-directory, which names the destination of cp, mv,
// ln and install when given.
func lastOperand(args []string) string {
	for i, a := range args {
		if (a == "-t" || a == "--target-directory") && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--target-directory="); ok {
			return v
		}
	}
	for i := len(args) - 1; i >= 0; i-- {
		if a := args[i]; a != "" && !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}
