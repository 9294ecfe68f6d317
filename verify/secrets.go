package verify

//go:generate go run ./internal/gensecrets -o secrets_gen.go

import (
	"bytes"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// secretRule is one of gitleaks' rules, as secrets_gen.go lists them.
type secretRule struct {
	id, description string
	regex           string
	// secretGroup is the capture group that holds the secret; zero
	// means the first non-empty group, or the whole match if the regex
	// has no groups (gitleaks' rule).
	secretGroup int
	// entropy, when set, is the Shannon entropy the secret must exceed.
	entropy    float64
	keywords   []string // lower case; the rule runs only near one
	allowlists []secretAllowlist

	// How the regex can be run near a keyword, as the generator found
	// with verify/internal/secretshape (parsing regexes at each start
	// of cordon would cost tens of milliseconds).
	//
	// multiline: a match can span lines.
	multiline bool
	// starts: every match starts with a keyword, after a word
	// boundary if boundary; the regex runs anchored at the keyword.
	starts, boundary bool
	// gated: every match has a keyword followed by an assignment
	// (see assignAfter). When suffix is set, a match is the keyword
	// group (source in group) at a keyword, followed by suffix: suffix
	// runs anchored at the keyword's end.
	gated         bool
	group, suffix string
}

// What an allowlist's regexes are tested against.
const (
	targetSecret = iota
	targetMatch
	targetLine
)

// secretAllowlist is a gitleaks allowlist reduced to what applies to
// text without a file path or commit.
type secretAllowlist struct {
	target    int
	and       bool // both a regex and a stopword must match
	regexes   []string
	stopwords []string // lower case, matched as substrings of the secret
}

// secretWindow is the longest secret the detector promises to see whole
// across writes: a PEM block of a 4096-bit RSA key is 3.3 KiB, so 8 KiB
// leaves room for a larger key and its headers. The Stream scans this
// much of every 64 KiB chunk twice.
const secretWindow = 8 << 10

// multilineBack is how far before a keyword a rule that spans lines is
// run from (a Kubernetes secret manifest names data before kind).
const multilineBack = 1 << 10

// Secrets returns the detector for credentials, built from gitleaks'
// default rules (see docs/secrets.md). A match is replaced by
// [REDACTED:<rule-id>]: the secret capture group when the rule has
// one, so that the name around it stays readable, or the whole match
// otherwise. The detector is shared and safe for concurrent use; its
// rules are compiled on first use, each regex when a keyword first
// calls for it.
func Secrets() Detector { return lazySecrets{} }

// secretsDet is the detector Secrets stands for, built when it first
// scans: its keyword tables take about 0.3 ms and 140 KiB, which a run
// with no output and no file to read would pay for nothing.
var secretsDet = sync.OnceValue(func() *secretDetector {
	return newSecretDetector(secretRules, secretGlobalAllowlists)
})

type lazySecrets struct{}

func (lazySecrets) Window() int { return secretWindow }

func (lazySecrets) Scan(dst []Match, buf []byte, from int, final bool) []Match {
	if from >= len(buf) {
		return dst // no match starts in nothing (a stream closed with no output)
	}
	return secretsDet().Scan(dst, buf, from, final)
}

func (lazySecrets) Pending(buf []byte) int { return secretsDet().Pending(buf) }

// ruleSet is a set of rule indexes; the default config has about 220.
type ruleSet []uint64

func (s ruleSet) add(i int) { s[i>>6] |= 1 << (i & 63) }

func (s ruleSet) union(o ruleSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

type keyword struct {
	word  string  // lower case
	rules ruleSet // rules that run near the keyword
	// assign are rules that also need an assignment after it; see
	// assignAfter.
	assign ruleSet
	multi  bool // one of its rules spans lines

	// anchored are the assign rules that run anchored at the keyword's
	// end, starts the rules whose matches start with a keyword and run
	// anchored at its start.
	anchored, starts []*compiledRule

	anyPlain, anyAssign, anyRegion bool
}

type compiledRule struct {
	*secretRule
	// sre is the regex anchored at its start, for a rule that starts
	// with a keyword; are is suffix anchored, and gre the keyword group
	// matching a whole keyword (the group may be case-sensitive).
	sre, are, gre *regexp.Regexp
	repl          []byte
	once          sync.Once
	re            *regexp.Regexp
	allow         []compiledAllowlist
}

type compiledAllowlist struct {
	target    int
	and       bool
	re        *regexp.Regexp // the regexes joined, as gitleaks joins them
	stopwords []string
}

type secretDetector struct {
	rules  []compiledRule
	global []compiledAllowlist
	gonce  sync.Once
	words  int // ruleSet length in words
	// pairs has a bit for each lower-cased two-byte prefix of a
	// keyword; byPair finds in groups the keywords that start with it.
	pairs   [1 << 16 / 64]uint64
	byPair  [1 << 16]uint16 // index+1 into groups
	groups  [][]*keyword
	global0 []secretAllowlist
	pool    sync.Pool
}

func newSecretDetector(rules []secretRule, global []secretAllowlist) *secretDetector {
	d := &secretDetector{
		rules:   make([]compiledRule, len(rules)),
		words:   (len(rules) + 63) / 64,
		global0: global,
	}
	kws := map[string]*keyword{}
	for i := range rules {
		r := &d.rules[i]
		r.secretRule = &rules[i]
		r.repl = []byte("[REDACTED:" + r.id + "]")
		gated, anchored := r.gated, r.suffix
		for _, w := range r.keywords {
			w = strings.ToLower(w)
			k := kws[w]
			if k == nil {
				k = &keyword{word: w, rules: make(ruleSet, d.words), assign: make(ruleSet, d.words)}
				kws[w] = k
				p := pairOf(w[0], w[1])
				d.pairs[p>>6] |= 1 << (p & 63)
				if d.byPair[p] == 0 {
					d.groups = append(d.groups, nil)
					d.byPair[p] = uint16(len(d.groups))
				}
				d.groups[d.byPair[p]-1] = append(d.groups[d.byPair[p]-1], k)
			}
			switch {
			case r.starts:
				k.starts = append(k.starts, r)
			case gated && anchored != "":
				k.anchored = append(k.anchored, r)
				k.anyAssign = true
			case gated:
				k.assign.add(i)
				k.anyAssign, k.anyRegion = true, true
			default:
				k.rules.add(i)
				k.anyPlain = true
			}
			k.multi = k.multi || r.multiline
		}
	}
	d.pool.New = func() any { return &secretScratch{set: make(ruleSet, d.words)} }
	return d
}

// lower maps ASCII letters to lower case; keywords are ASCII.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func pairOf(a, b byte) uint16 { return uint16(lower[a])<<8 | uint16(lower[b]) }

func (d *secretDetector) Window() int { return secretWindow }

// secretScratch is per-Scan state, pooled so that the detector itself
// holds none.
type secretScratch struct {
	set ruleSet
}

// Scan finds keywords in one pass, then runs the regexes of the rules
// they belong to on the lines around each keyword only: Go's regexp
// is too slow to run two hundred expressions over all output, and a
// gitleaks rule only ever reports a match near one of its keywords.
func (d *secretDetector) Scan(dst []Match, buf []byte, from int, final bool) []Match {
	sc := d.pool.Get().(*secretScratch)
	defer d.pool.Put(sc)
	set := sc.set
	clear(set)
	start := len(dst)
	lo, hi := -1, -1 // the region gathered so far
	n := len(buf)
	for i := 0; i+1 < n; i++ {
		p := pairOf(buf[i], buf[i+1])
		if d.pairs[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for _, k := range d.groups[d.byPair[p]-1] {
			if !hasFoldPrefix(buf[i:], k.word) {
				continue
			}
			q := i + len(k.word)
			for _, r := range k.starts {
				dst = d.runAtStart(dst, r, buf, from, i, q, start)
			}
			assign := k.anyAssign && assignAfter(buf, q)
			if assign {
				for _, r := range k.anchored {
					dst = d.runAnchored(dst, r, buf, from, i, q, start)
				}
			}
			if !k.anyPlain && !(assign && k.anyRegion) {
				continue
			}
			rlo, rhi := region(buf, i, i+len(k.word), k.multi)
			if lo >= 0 && rlo > hi {
				dst = d.run(dst, buf, from, lo, hi, start, set)
				clear(set)
				lo = -1
			}
			if lo < 0 {
				lo, hi = rlo, rhi
			} else {
				lo, hi = min(lo, rlo), max(hi, rhi)
			}
			set.union(k.rules)
			if assign {
				set.union(k.assign)
			}
		}
	}
	if lo >= 0 {
		dst = d.run(dst, buf, from, lo, hi, start, set)
	}
	return d.dropGeneric(dst, start)
}

// dropGeneric removes a generic rule's match inside a specific rule's,
// as gitleaks filters its findings: the specific rule names the secret.
func (d *secretDetector) dropGeneric(dst []Match, start int) []Match {
	found := dst[start:]
	covered := func(m Match) bool {
		if !isGeneric(m) {
			return false
		}
		for _, n := range found {
			if !isGeneric(n) && n.Start <= m.Start && m.End <= n.End {
				return true
			}
		}
		return false
	}
	if !slices.ContainsFunc(found, covered) {
		return dst
	}
	keep := make([]Match, 0, len(found))
	for _, m := range found {
		if !covered(m) {
			keep = append(keep, m)
		}
	}
	return append(dst[:start], keep...)
}

func isGeneric(m Match) bool { return strings.Contains(m.Finding.Rule, "generic") }

func hasFoldPrefix(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if lower[b[j]] != w[j] {
			return false
		}
	}
	return true
}

// region is where the rules of a keyword at buf[p:q] run: its line,
// and the next one when the line ends soon after the keyword (a value
// on the line after "password:"), at most a window either side. A rule
// that spans lines runs from a little before the keyword to a window
// after it.
func region(buf []byte, p, q int, multi bool) (lo, hi int) {
	lo = max(0, p-secretWindow)
	if multi {
		lo = max(0, p-multilineBack)
	}
	if i := bytes.LastIndexByte(buf[lo:p], '\n'); i >= 0 {
		lo += i + 1
	}
	hi = min(len(buf), q+secretWindow)
	if multi {
		return lo, hi
	}
	if i := bytes.IndexByte(buf[q:hi], '\n'); i >= 0 {
		end := q + i + 1
		if len(bytes.TrimSpace(buf[q:end])) <= 8 {
			if j := bytes.IndexByte(buf[end:hi], '\n'); j >= 0 {
				end += j + 1
			} else {
				end = hi
			}
		}
		hi = end
	}
	return lo, hi
}

// run applies the rules in set to buf[lo:hi] and appends the matches
// whose span starts in buf[from:].
func (d *secretDetector) run(dst []Match, buf []byte, from, lo, hi, start int, set ruleSet) []Match {
	for w, word := range set {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			dst = d.runRule(dst, &d.rules[i], buf, from, lo, hi, start)
		}
	}
	return dst
}

func (d *secretDetector) runRule(dst []Match, r *compiledRule, buf []byte, from, lo, hi, start int) []Match {
	d.compile(r)
	for _, m := range r.re.FindAllSubmatchIndex(buf[lo:hi], -1) {
		for k := range m {
			if m[k] >= 0 {
				m[k] += lo
			}
		}
		dst = d.accept(dst, r, buf, from, m, start)
	}
	return dst
}

// runAnchored runs a rule's regex after the keyword at buf[p:q], and
// takes the name before the keyword as the start of the match.
func (d *secretDetector) runAnchored(dst []Match, r *compiledRule, buf []byte, from, p, q, start int) []Match {
	d.compile(r)
	if !r.gre.Match(buf[p:q]) {
		return dst
	}
	_, hi := region(buf, p, q, false)
	m := r.are.FindSubmatchIndex(buf[q:hi])
	if m == nil {
		return dst
	}
	for k := range m {
		if m[k] >= 0 {
			m[k] += q
		}
	}
	s := p
	for s > 0 && p-s < 50 && (isAssignName(buf[s-1]) && buf[s-1] != ' ' && buf[s-1] != '\t') {
		s--
	}
	m[0] = s
	return d.accept(dst, r, buf, from, m, start)
}

// runAtStart runs a rule whose matches start with a keyword at the
// keyword at buf[p:q].
func (d *secretDetector) runAtStart(dst []Match, r *compiledRule, buf []byte, from, p, q, start int) []Match {
	if r.boundary && p > 0 && isWordByte(buf[p-1]) == isWordByte(buf[p]) {
		return dst
	}
	d.compile(r)
	_, hi := region(buf, p, q, r.multiline)
	m := r.sre.FindSubmatchIndex(buf[p:hi])
	if m == nil {
		return dst
	}
	for k := range m {
		if m[k] >= 0 {
			m[k] += p
		}
	}
	return d.accept(dst, r, buf, from, m, start)
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (d *secretDetector) compile(r *compiledRule) {
	r.once.Do(func() { r.compile() })
	d.gonce.Do(func() { d.global = compileAllowlists(d.global0) })
}

// accept applies gitleaks' checks to a match, m as from
// FindSubmatchIndex on buf, and appends it to dst if it passes.
func (d *secretDetector) accept(dst []Match, r *compiledRule, buf []byte, from int, m []int, start int) []Match {
	ms, me := m[0], m[1]
	// gitleaks trims newlines off the match.
	for ms < me && buf[ms] == '\n' {
		ms++
	}
	for me > ms && buf[me-1] == '\n' {
		me--
	}
	ss, se := ms, me
	if len(m) >= 4 {
		if g := r.secretGroup; g > 0 {
			if 2*g+1 >= len(m) || m[2*g] < 0 {
				return dst
			}
			ss, se = m[2*g], m[2*g+1]
		} else {
			for g := 1; 2*g+1 < len(m); g++ {
				if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
					ss, se = m[2*g], m[2*g+1]
					break
				}
			}
		}
	}
	if ss < from || se <= ss {
		return dst
	}
	for _, o := range dst[start:] {
		if o.Finding.Rule == r.id && o.Start < se && ss < o.End {
			return dst // found already, from another keyword
		}
	}
	secret := buf[ss:se]
	if r.entropy != 0 && shannonEntropy(secret) <= r.entropy {
		return dst
	}
	line := lineAround(buf, ms, me)
	if allowed(d.global, secret, buf[ms:me], line) || allowed(r.allow, secret, buf[ms:me], line) {
		return dst
	}
	return append(dst, Match{Start: ss, End: se, Replace: r.repl, Priority: PrioritySecret,
		Finding: &Finding{Kind: KindSecret, Rule: r.id, Severity: SeverityHigh,
			Action: ActionRedacted, Message: r.description}})
}

func (r *compiledRule) compile() {
	r.re = regexp.MustCompile(r.regex)
	if r.starts {
		r.sre = regexp.MustCompile(`^(?:` + r.regex + `)`)
	}
	if r.suffix != "" {
		r.are = regexp.MustCompile(`(?i)^(?:` + r.suffix + `)`)
		r.gre = regexp.MustCompile(`(?i)^(?:` + r.group + `)$`)
		if r.are.NumSubexp() != r.re.NumSubexp() {
			// secretshape checked this; the groups must line up.
			panic("verify: anchored regex of " + r.id + " numbers its groups differently")
		}
	}
	r.allow = compileAllowlists(r.allowlists)
}

func compileAllowlists(as []secretAllowlist) []compiledAllowlist {
	out := make([]compiledAllowlist, 0, len(as))
	for _, a := range as {
		c := compiledAllowlist{target: a.target, and: a.and, stopwords: a.stopwords}
		if len(a.regexes) > 0 {
			c.re = regexp.MustCompile("(?:" + strings.Join(a.regexes, "|") + ")")
		}
		out = append(out, c)
	}
	return out
}

// allowed reports whether an allowlist lets a finding through, as
// gitleaks' checkFindingAllowed decides for a fragment without a path.
func allowed(as []compiledAllowlist, secret, match, line []byte) bool {
	for i := range as {
		a := &as[i]
		target := secret
		switch a.target {
		case targetMatch:
			target = match
		case targetLine:
			target = line
		}
		re := a.re != nil && len(target) > 0 && a.re.Match(target)
		sw := len(a.stopwords) > 0 && containsStopword(secret, a.stopwords)
		if a.and {
			if (a.re == nil || re) && (len(a.stopwords) == 0 || sw) {
				return true
			}
		} else if re || sw {
			return true
		}
	}
	return false
}

func containsStopword(secret []byte, words []string) bool {
	var small [128]byte
	s := small[:0]
	for _, c := range secret {
		s = append(s, lower[c])
	}
	// gitleaks lower-cases with Unicode rules; stopwords are ASCII, so
	// only ASCII letters can make a difference.
	str := string(s)
	for _, w := range words {
		if strings.Contains(str, w) {
			return true
		}
	}
	return false
}

// lineAround returns the lines holding buf[s:e], as far as buf reaches.
func lineAround(buf []byte, s, e int) []byte {
	ls := bytes.LastIndexByte(buf[:s], '\n') + 1
	le := len(buf)
	if i := bytes.IndexByte(buf[e:], '\n'); i >= 0 {
		le = e + i
	}
	return buf[ls:le]
}

// shannonEntropy is gitleaks' measure: the entropy of the runes of s,
// with frequencies taken over its length in bytes.
func shannonEntropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]int
	ascii := true
	for _, c := range s {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		counts[c]++
	}
	inv := 1 / float64(len(s))
	var e float64
	if ascii {
		for _, n := range counts {
			if n > 0 {
				f := float64(n) * inv
				e -= f * math.Log2(f)
			}
		}
		return e
	}
	runes := map[rune]int{}
	for _, r := range string(s) {
		runes[r]++
	}
	for _, n := range runes {
		f := float64(n) * inv
		e -= f * math.Log2(f)
	}
	return e
}

// Pending keeps an idle Stream from passing on the start of a PEM
// block whose end has not come yet: the private-key rule spans lines.
func (d *secretDetector) Pending(buf []byte) int {
	i := lastFoldIndex(buf, "-----begin")
	if i < 0 {
		return len(buf)
	}
	if lastFoldIndex(buf[i:], "-----end") >= 0 || len(buf)-i > secretWindow {
		return len(buf)
	}
	return i
}

func lastFoldIndex(b []byte, w string) int {
	for i := len(b) - len(w); i >= 0; i-- {
		if lower[b[i]] == w[0] && hasFoldPrefix(b[i:], w) {
			return i
		}
	}
	return -1
}

// assignAfter reports whether buf at q can match assignSyntax.
func assignAfter(buf []byte, q int) bool {
	for i := 0; i <= 20 && q+i <= len(buf); i++ {
		if i > 0 && !isAssignName(buf[q+i-1]) {
			break
		}
		for j := 0; j <= 3 && q+i+j < len(buf); j++ {
			p := q + i + j
			if j > 0 && !isAssignSpace(buf[p-1]) {
				break
			}
			switch c := buf[p]; {
			case c == '=' || c == '>' || c == ':' || c == ',':
				return true
			case (c == '|' || c == '?') && p+1 < len(buf) && (buf[p+1] == '|' && c == '|' || buf[p+1] == '=' && c == '?'):
				return true
			}
		}
	}
	return false
}

// isAssignName is [ \t\w.-].
func isAssignName(c byte) bool {
	return c == ' ' || c == '\t' || c == '.' || c == '-' || c == '_' ||
		'0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isAssignSpace is [\s'"]: Go's \s is [\t\n\f\r ].
func isAssignSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\'' || c == '"'
}
