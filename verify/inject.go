package verify

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"sync"
	"unicode/utf8"
)

// InjectionOptions configure the Injection detector.
type InjectionOptions struct {
	// Strip removes what is found: hidden characters are deleted, and
	// every other span is replaced by "[cordon: removed <rule>]". Without
	// it findings are only reported and the output is unchanged.
	Strip bool
}

// Injection returns a detector for prompt-injection signals: text in a
// command's output that is aimed at the model reading it rather than at
// the person who ran the command. It finds
//
//   - hidden text: Unicode tag characters (ASCII smuggling), bidi
//     override and isolate controls (Trojan Source), runs of zero-width
//     characters and of variation selectors;
//   - chat-template and role tokens: <|im_start|>, [INST], <<SYS>>,
//     <start_of_turn>, <system>, "Human:" after a blank line;
//   - instruction-override phrasing: "ignore previous instructions",
//     "you are now …", "new instructions:", "do not tell the user",
//     "system prompt:", "if you are an AI agent", read through colour
//     codes and zero-width characters as a model would read them;
//   - forged tool calls: <function_calls>, <invoke name=…>, <tool_call>,
//     "tool_calls": [, a ReAct "Action:" / "Action Input:" pair;
//   - markdown images and links, and <img> tags, whose URL carries data
//     in its query or path: an image is fetched by the client as soon as
//     it is shown, so a URL built by the model leaks what it put there.
//
// These are signals, not proof: a paraphrase is not caught, and a
// document about prompt injection is flagged. The policy decides what
// a severity leads to. The detector is safe for concurrent use.
func Injection(opts InjectionOptions) Detector { return injection{strip: opts.Strip} }

type injection struct{ strip bool }

const (
	// maxHiddenRun bounds, in characters, one match of hidden
	// characters; a longer run is reported in pieces.
	maxHiddenRun = 1024
	maxAlt       = 256  // markdown link text
	maxURL       = 2048 // markdown link or image URL
	lookBack     = 256  // how far back a ReAct check looks
)

func (injection) Window() int { return max(4*maxHiddenRun, maxAlt+maxURL+256) + 64 }

// Rule ids and their severities.
const (
	ruleTags        = "unicode-tags"
	ruleBidi        = "bidi-control"
	ruleZeroWidth   = "zero-width-run"
	ruleVariation   = "variation-selector-run"
	ruleChatToken   = "chat-template-token"
	ruleRoleTag     = "role-tag"
	ruleRolePrefix  = "role-prefix"
	ruleOverride    = "instruction-override"
	ruleConceal     = "conceal-from-user"
	ruleSysPrompt   = "system-prompt"
	ruleAddressed   = "addressed-to-model"
	ruleToolForgery = "tool-call-forgery"
	ruleReAct       = "react-block"
	ruleImageURL    = "image-url-data"
	ruleLinkURL     = "link-url-data"
)

func (d injection) Scan(dst []Match, buf []byte, from int, final bool) []Match {
	dst = d.hidden(dst, buf, from)
	lp := lowerPool.Get().(*[]byte)
	low, cuts := prepare((*lp)[:0], buf, from)
	dst = d.angles(dst, buf, low, from)
	dst = d.literals(dst, buf, from)
	dst = d.words(dst, buf, low, from)
	dst = d.splitPhrases(dst, low, cuts, from)
	dst = d.links(dst, buf, from)
	*lp = low
	lowerPool.Put(lp)
	return dst
}

var lowerPool = sync.Pool{New: func() any { b := make([]byte, 0, 96<<10); return &b }}

var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// blankLead marks the bytes that can start what prepare blanks: ESC
// and the lead bytes of U+00AD, U+200B-U+200D, U+2060 and U+FEFF.
var blankLead = func() (t [256]bool) {
	t[0x1b], t[0xc2], t[0xe2], t[0xef] = true, true, true, true
	return t
}()

// prepare appends to dst the text the word checks read: b with ASCII
// letters lower-cased, and SGR sequences, zero-width characters and soft
// hyphens turned into spaces, byte for byte, so that every offset stays
// the same. A model never sees those (the terminal detector drops
// colour, a renderer hides the rest), so "ignore\x1b[0m previous
// instructions" must read as the phrase it shows. It also returns the
// blanked runs in b[from:] that sit inside a word, which a space does
// not mend ("ig\u200bnore"); see splitPhrases.
func prepare(dst, b []byte, from int) ([]byte, [][2]int) {
	dst = append(dst, b...)
	var cuts [][2]int
	for i := 0; i < len(dst); i++ {
		c := dst[i]
		if !blankLead[c] {
			dst[i] = lowerTable[c]
			continue
		}
		j := i
		for j < len(dst) {
			if dst[j] == 0x1b {
				n := sgrLen(dst[j:])
				if n == 0 {
					break
				}
				j += n
				continue
			}
			r, n := utf8.DecodeRune(dst[j:])
			if classify(r) != hiddenZeroWidth && r != 0xAD {
				break
			}
			j += n
		}
		if j == i {
			continue // the next bytes are lowered in turn
		}
		for k := i; k < j; k++ {
			dst[k] = ' '
		}
		if i >= from && i > 0 && letter[dst[i-1]] && j < len(dst) && letter[dst[j]] {
			cuts = append(cuts, [2]int{i, j})
		}
		i = j - 1
	}
	return dst, cuts
}

// match builds the Match for a finding: removed (hidden characters) or
// replaced by a marker when stripping, reported only otherwise.
func (d injection) match(start, end int, rule string, sev Severity, msg string, hidden bool) Match {
	m := Match{Start: start, End: end, Priority: PriorityInjection,
		Finding: &Finding{Kind: KindInjection, Rule: rule, Severity: sev, Message: msg, Action: ActionFlagged}}
	switch {
	case d.strip && hidden:
		m.Replace = []byte{}
		m.Finding.Action = ActionStripped
	case d.strip:
		m.Replace = []byte("[cordon: removed " + rule + "]")
		m.Finding.Action = ActionStripped
	}
	return m
}

// Hidden characters.

type hiddenClass uint8

const (
	notHidden hiddenClass = iota
	hiddenTag
	hiddenBidi
	hiddenZeroWidth
	hiddenVariation
)

func classify(r rune) hiddenClass {
	switch {
	case r >= 0xE0000 && r <= 0xE007F:
		return hiddenTag
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return hiddenBidi
	case r >= 0x200B && r <= 0x200D, r >= 0x2060 && r <= 0x2064, r == 0xFEFF:
		return hiddenZeroWidth
	case r >= 0xFE00 && r <= 0xFE0F, r >= 0xE0100 && r <= 0xE01EF:
		return hiddenVariation
	}
	return notHidden
}

// minRun is how many characters of a class make a finding. A single
// zero-width joiner is how emoji sequences are built, a single
// variation selector picks emoji or text style; runs of them carry
// data. Bidi overrides and tag characters have no place in ordinary
// output (but see the flag check below).
var minRun = [...]int{hiddenTag: 1, hiddenBidi: 1, hiddenZeroWidth: 4, hiddenVariation: 4}

// hiddenLead marks the lead bytes of the UTF-8 forms of the hidden
// characters: E2 (U+2000 block), EF (U+FE00, U+FEFF), F3 (plane 14).
var hiddenLead = func() (t [256]bool) {
	t[0xe2], t[0xef], t[0xf3] = true, true, true
	return t
}()

func (d injection) hidden(dst []Match, buf []byte, from int) []Match {
	for i := from; i < len(buf); {
		if !hiddenLead[buf[i]] {
			i++
			continue
		}
		r, n := utf8.DecodeRune(buf[i:])
		c := classify(r)
		if c == notHidden {
			i += n
			continue
		}
		start, count := i, 0
		for i < len(buf) && count < maxHiddenRun {
			r, n := utf8.DecodeRune(buf[i:])
			if classify(r) != c {
				break
			}
			i += n
			count++
		}
		prev, _ := utf8.DecodeLastRune(buf[:start])
		continued := start == from && classify(prev) == c
		if continued && !d.strip {
			// The rest of a run reported before: a report-only match
			// does not move the point the Stream passes output on, so
			// the run may be seen again from the middle. Stripping
			// moves it to the end of the piece stripped, so there the
			// rest is the next piece of a long run.
			continue
		}
		if count < minRun[c] && !continued {
			continue
		}
		if c == hiddenTag && isTagFlag(buf[:start], buf[start:i]) {
			continue
		}
		var rule, msg string
		var sev Severity
		switch c {
		case hiddenTag:
			rule, sev = ruleTags, SeverityHigh
			msg = "hidden text in Unicode tag characters: " + quoteShort(decodeTags(buf[start:i]), 80)
		case hiddenBidi:
			rule, sev = ruleBidi, SeverityMedium
			msg = "bidi override or isolate controls: text shows in another order than it is read"
		case hiddenZeroWidth:
			rule, sev = ruleZeroWidth, SeverityMedium
			msg = "run of zero-width characters: can encode hidden data"
		case hiddenVariation:
			rule, sev = ruleVariation, SeverityMedium
			msg = "run of variation selectors: can encode hidden data"
		}
		if continued {
			msg += " (continued)"
		}
		dst = append(dst, d.match(start, i, rule, sev, msg, true))
	}
	return dst
}

// isTagFlag reports whether tags follow U+1F3F4 WAVING BLACK FLAG as a
// subdivision flag (England is 🏴 + "gbeng" in tags + CANCEL TAG).
func isTagFlag(before, tags []byte) bool {
	if !bytes.HasSuffix(before, []byte("\U0001F3F4")) || len(tags) > 8*4 {
		return false
	}
	last, _ := utf8.DecodeLastRune(tags)
	if last != 0xE007F {
		return false
	}
	for _, c := range decodeTags(tags[:len(tags)-4]) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// decodeTags returns the ASCII that tag characters stand for.
func decodeTags(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r >= 0xE0020 && r <= 0xE007E {
			out = append(out, byte(r-0xE0000))
		}
		b = b[n:]
	}
	return out
}

// Tokens and tags that start with '<'.

type angleToken struct {
	rule    string
	sev     Severity
	attr    string // an attribute the tag must have, as "name="
	closing bool   // the closing tag counts too
}

// angleTags are tag names (after any "prefix:" namespace) that forge a
// turn or a tool call in the formats of the common chat templates.
//
// A closing tag counts only for names no other markup uses: </parameter>
// closes many an XML element, </function_results> closes nothing else.
// A role tag counts only as a whole word that opens a block of text, so
// that getentropy_<SYSTEM>.c, <system>:0.0 and a Maven POM's
// <system>GitHub</system> are let be.
var angleTags = map[string]angleToken{
	"function_calls":   {ruleToolForgery, SeverityHigh, "", true},
	"function_results": {ruleToolForgery, SeverityHigh, "", true},
	"invoke":           {ruleToolForgery, SeverityHigh, "name=", false},
	"parameter":        {ruleToolForgery, SeverityMedium, "name=", false},
	"tool_call":        {ruleToolForgery, SeverityHigh, "", true},
	"tool_calls":       {ruleToolForgery, SeverityHigh, "", true},
	"tool_use":         {ruleToolForgery, SeverityMedium, "", false},
	"tool_result":      {ruleToolForgery, SeverityMedium, "", true},
	"tool_response":    {ruleToolForgery, SeverityMedium, "", true},
	"start_of_turn":    {ruleChatToken, SeverityMedium, "", false},
	"end_of_turn":      {ruleChatToken, SeverityMedium, "", false},
	"system":           {ruleRoleTag, SeverityMedium, "", false},
	"system_prompt":    {ruleRoleTag, SeverityMedium, "", false},
	"system-prompt":    {ruleRoleTag, SeverityMedium, "", false},
	"system-reminder":  {ruleRoleTag, SeverityMedium, "", false},
	// <IMPORTANT> opens the instructions hidden in poisoned MCP tool
	// descriptions.
	"important": {ruleRoleTag, SeverityMedium, "", false},
}

func (d injection) angles(dst []Match, buf, low []byte, from int) []Match {
	for i := from; ; {
		k := bytes.IndexByte(low[i:], '<')
		if k < 0 {
			return dst
		}
		i += k
		rest := low[i:min(len(low), i+128)]
		switch {
		case bytes.HasPrefix(rest, []byte("<|")):
			// <|im_start|>, <|eot_id|>, <|start_header_id|>, <|endoftext|>
			j := 2
			for j < len(rest) && (isNameByte(rest[j]) || rest[j] == '.') {
				j++
			}
			if j > 2 && j+1 < len(rest) && rest[j] == '|' && rest[j+1] == '>' {
				dst = append(dst, d.match(i, i+j+2, ruleChatToken, SeverityHigh,
					"chat template token "+quoteShort(buf[i:i+j+2], 40), false))
				i += j + 2
				continue
			}
		case bytes.HasPrefix(buf[i:], []byte("<<SYS>>")), bytes.HasPrefix(buf[i:], []byte("<</SYS>>")):
			n := bytes.IndexByte(rest, '>') + 2
			dst = append(dst, d.match(i, i+n, ruleChatToken, SeverityMedium,
				"chat template token "+quoteShort(buf[i:i+n], 40), false))
			i += n
			continue
		case bytes.HasPrefix(rest, []byte("<img")) && len(rest) > 4 && isSpace(rest[4]):
			if m, ok := d.imgTag(buf, low, i); ok {
				dst = append(dst, m)
				i = m.End
				continue
			}
		default:
			if m, ok := d.tag(buf, rest, i); ok {
				dst = append(dst, m)
				i = m.End
				continue
			}
		}
		i++
	}
}

// tag matches a forged turn or tool-call tag at buf[i:]; rest is the
// lower-cased text from i.
func (d injection) tag(buf, rest []byte, i int) (Match, bool) {
	j := 1
	if j < len(rest) && rest[j] == '/' {
		j++
	}
	ns := j
	for j < len(rest) && (isNameByte(rest[j]) || rest[j] == ':') {
		if rest[j] == ':' {
			ns = j + 1
		}
		j++
	}
	if j >= len(rest) || (rest[j] != '>' && !isSpace(rest[j])) {
		return Match{}, false
	}
	t, ok := angleTags[string(rest[ns:j])]
	if !ok {
		return Match{}, false
	}
	closing := rest[1] == '/'
	if closing && !t.closing {
		return Match{}, false
	}
	end := j + 1
	if rest[j] != '>' {
		gt := bytes.IndexByte(rest[j:], '>')
		if closing || gt < 0 {
			return Match{}, false
		}
		attrs := rest[j : j+gt]
		if t.attr != "" && !bytes.Contains(attrs, []byte(t.attr)) {
			return Match{}, false
		}
		end = j + gt + 1
	} else if t.attr != "" && !closing {
		return Match{}, false
	}
	if t.rule == ruleRoleTag {
		if i > 0 && (isNameByte(lowerTable[buf[i-1]]) || buf[i-1] == '.') {
			return Match{}, false
		}
		line := rest[end:]
		if len(line) > 0 && !isSpace(line[0]) && !(line[0] >= 'a' && line[0] <= 'z') {
			return Match{}, false
		}
		if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
			line = line[:nl]
		}
		if bytes.Contains(line, []byte("</")) {
			return Match{}, false
		}
	}
	what := "forged tool-call tag "
	switch t.rule {
	case ruleChatToken:
		what = "chat template token "
	case ruleRoleTag:
		what = "role tag "
	}
	return d.match(i, i+end, t.rule, t.sev, what+quoteShort(buf[i:i+end], 60), false), true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// imgTag checks an HTML <img> tag's src URL.
func (d injection) imgTag(buf, low []byte, i int) (Match, bool) {
	lim := min(len(low), i+maxURL+maxAlt)
	gt := bytes.IndexByte(low[i:lim], '>')
	if gt < 0 {
		return Match{}, false
	}
	tag := low[i : i+gt+1]
	s := bytes.Index(tag, []byte("src="))
	if s < 0 || s+5 >= len(tag) {
		return Match{}, false
	}
	s += 4
	var url []byte
	if q := tag[s]; q == '"' || q == '\'' {
		e := bytes.IndexByte(tag[s+1:], q)
		if e < 0 {
			return Match{}, false
		}
		url = buf[i+s+1 : i+s+1+e]
	} else {
		e := bytes.IndexAny(tag[s:], " \t\n>")
		url = buf[i+s : i+s+e]
	}
	why, host := urlData(url, true)
	if why == "" {
		return Match{}, false
	}
	return d.match(i, i+gt+1, ruleImageURL, SeverityHigh,
		"<img> URL on "+quoteShort(host, 80)+" carries data ("+why+"): fetched as soon as it is shown", false), true
}

// Tokens found by a literal search.

func (d injection) literals(dst []Match, buf []byte, from int) []Match {
	// Llama 2's tokens are upper-case; "[inst]" is a changelog's tag.
	for _, lit := range [...]string{"[INST]", "[/INST]"} {
		for i := from; ; {
			k := bytes.Index(buf[i:], []byte(lit))
			if k < 0 {
				break
			}
			i += k
			dst = append(dst, d.match(i, i+len(lit), ruleChatToken, SeverityMedium,
				"chat template token "+quoteShort(buf[i:i+len(lit)], 40), false))
			i += len(lit)
		}
	}
	return dst
}

// Words: one pass over the text looks up each word's first two letters
// in wordTable and tries the checks that start with that word. A pass
// per phrase anchor with bytes.Index was five times slower: common
// first letters made IndexByte stop every few bytes.

// wordCheck is a check tried at a word start where word begins.
type wordCheck struct {
	word   string
	phrase int // index in phrases, or -1 for special
}

var wordTable = func() (t [26 * 26][]wordCheck) {
	add := func(w string, p int) {
		k := wordKey(w[0], w[1])
		t[k] = append(t[k], wordCheck{w, p})
	}
	for i, p := range phrases {
		for _, a := range p.anchors {
			add(a, i)
		}
	}
	for _, w := range []string{"human:", "assistant:", "action input:", "tool_calls\"", "function_call\""} {
		add(w, -1)
	}
	return t
}()

func wordKey(a, b byte) int {
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return -1
	}
	return int(a-'a')*26 + int(b-'a')
}

var letter = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	return t
}()

// words runs the word checks; with buf nil, only the phrases.
func (d injection) words(dst []Match, buf, low []byte, from int) []Match {
	var found [][2]int // phrase spans, so that two anchors of one phrase report it once
	n := len(low)
	for i := from; i+1 < n; {
		for i < n && !letter[low[i]] {
			i++
		}
		start := i
		for i < n && letter[low[i]] {
			i++
		}
		if start+1 >= n || start > 0 && letter[low[start-1]] {
			continue
		}
		k := wordKey(low[start], low[start+1])
		if k < 0 {
			continue
		}
		i := start
		for _, w := range wordTable[k] {
			if !bytes.HasPrefix(low[i:], []byte(w.word)) {
				continue
			}
			if w.phrase >= 0 {
				dst = d.phrase(dst, &found, low, from, i, w.phrase)
				continue
			}
			if buf != nil {
				dst = d.special(dst, buf, low, from, i, w.word)
			}
		}
	}
	return dst
}

// special checks the turn markers, the ReAct block and the chat API
// JSON, at low[i:], which starts with word.
func (d injection) special(dst []Match, buf, low []byte, from, i int, word string) []Match {
	switch word {
	case "human:", "assistant:":
		// "Human:" and "Assistant:" after a blank line: the turn markers
		// of the older completion format.
		if i >= 2 && buf[i-1] == '\n' && buf[i-2] == '\n' && (buf[i] == 'H' || buf[i] == 'A') {
			dst = append(dst, d.match(i, i+len(word), ruleRolePrefix, SeverityMedium,
				"turn marker "+quoteShort(buf[i:i+len(word)], 20)+" after a blank line", false))
		}
	case "action input:":
		// ReAct: an "Action Input:" line shortly after an "Action:" line.
		if atLineStart(low, i) {
			before := low[max(0, i-lookBack):i]
			if a := bytes.LastIndex(before, []byte("action:")); a >= 0 && atLineStart(low, i-len(before)+a) {
				dst = append(dst, d.match(i, i+len(word), ruleReAct, SeverityMedium,
					"ReAct Action / Action Input block: reads as the model's own tool call", false))
			}
		}
	default:
		// "tool_calls": [ and "function_call": { as in the chat APIs' JSON.
		if i-1 < from || low[i-1] != '"' {
			break
		}
		j := i + len(word)
		for j < len(low) && isSpace(low[j]) {
			j++
		}
		if j >= len(low) || low[j] != ':' {
			break
		}
		j++
		for j < len(low) && isSpace(low[j]) {
			j++
		}
		if j < len(low) && (low[j] == '[' || low[j] == '{') {
			dst = append(dst, d.match(i-1, j+1, ruleToolForgery, SeverityMedium,
				"forged tool call in chat API JSON: "+quoteShort(buf[i-1:j+1], 40), false))
		}
	}
	return dst
}

// atLineStart reports whether only spaces stand between low[i] and the
// start of its line (or the start of the window).
func atLineStart(low []byte, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch low[j] {
		case '\n':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// Phrases.

// phrase is a rule matched on lower-cased text, only in a small region
// around one of its anchor words, which every match contains (at a word
// start): the regular expression runs on a hundred bytes, not on the
// output.
type phrase struct {
	rule    string
	msg     string
	anchors []string
	back    int // the region starts this far before the anchor
	fwd     int // and ends this far after its start
	pattern string
	// pre, when set, is a cheap test of the text around the anchor at
	// low[i] that every match passes; the expression runs only then.
	pre func(low []byte, i int) bool
}

// colonAfter reports whether a ':' follows the word at low[i], after
// spaces: "instructions:" and "prompt:".
func colonAfter(low []byte, i int) bool {
	j := i
	for j < len(low) && letter[low[j]] {
		j++
	}
	for j < len(low) && isSpace(low[j]) {
		j++
	}
	return j < len(low) && low[j] == ':'
}

// negationBefore reports whether "not", "n't" or "never" stands just
// before the word at low[i].
func negationBefore(low []byte, i int) bool {
	b := low[max(0, i-16):i]
	return bytes.Contains(b, []byte("not")) || bytes.Contains(b, []byte("n't")) || bytes.Contains(b, []byte("never"))
}

// systemBefore reports whether "system" stands just before the word at
// low[i], and a colon follows or a verb stands before.
func systemBefore(low []byte, i int) bool {
	return bytes.Contains(low[max(0, i-12):i], []byte("system"))
}

// hiddenBefore reports whether "initial" or "hidden" stands just
// before the word at low[i].
func hiddenBefore(low []byte, i int) bool {
	b := low[max(0, i-12):i]
	return bytes.Contains(b, []byte("initial")) || bytes.Contains(b, []byte("hidden"))
}

var phrases = [...]phrase{
	{ruleOverride, "instruction-override phrase", []string{"ignor", "disregard", "forget"}, 0, 160,
		`^(?:ignore|disregard|forget)\s+(?:(?:(?:all|any|each|every|the|your|my|of|these|those|everything)\s+){0,3}(?:previous|prior|preceding|above|earlier|former|original|initial|system|existing|old)\s+(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guidance|context|messages?|commands|orders|conversation)|(?:all\s+|everything\s+)?(?:that\s+|what\s+)?you\s+(?:were|have\s+been)\s+told)`, nil},
	// At the start of a line or after punctuation: "Adds five new
	// instructions:" is a bytecode changelog.
	{ruleOverride, "new-instructions phrase", []string{"instruction"}, 40, 24,
		`(?:^|\n|[^a-z0-9,\s])\s*((?:new|updated|revised|real|actual|secret|hidden)\s+(?:system\s+)?instructions?\s*:)`, colonAfter},
	{ruleOverride, "role-change phrase", []string{"you"}, 0, 80,
		`^you\s+are\s+now\s+(?:an?\s+(?:ai|assistant|different|new|unrestricted|unfiltered|evil|uncensored)\b|no\s+longer\b|dan\b|acting\s+as\b|free\s+(?:of|from)\b|in\s+(?:developer|god|jailbreak|dan|admin|debug|unrestricted|maintenance)\s+mode)`, nil},
	{ruleConceal, "asks to keep something from the user", []string{"tell", "inform", "alert", "notify", "mention", "reveal"}, 16, 48,
		`(?:do\s+not|don't|never)\s+(?:tell|inform|alert|notify|mention\s+(?:this|it)\s+to|reveal\s+(?:this|it)\s+to)\s+the\s+user\b`, negationBefore},
	{ruleSysPrompt, "system-prompt phrase", []string{"prompt"}, 56, 16,
		`\bsystem\s+prompt\s*:|(?:reveal|print|show|output|repeat|display|leak|dump)\s+(?:your|the)\s+(?:full\s+|entire\s+)?system\s+prompt`, systemBefore},
	{ruleSysPrompt, "system-prompt phrase", []string{"instructions"}, 40, 16,
		`(?:reveal|print|show|output|repeat|display|leak|dump)\s+(?:your|the)\s+(?:full\s+|entire\s+)?(?:initial|hidden)\s+instructions`, hiddenBefore},
	{ruleAddressed, "text addressed to an AI model", []string{"if"}, 0, 80,
		`^if\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|large\s+language\s+model|language\s+model|ai\s+assistant|ai\s+agent|coding\s+agent|automated\s+agent)\b`, nil},
	{ruleAddressed, "text addressed to an AI model", []string{"note", "message", "instruction", "attention"}, 0, 64,
		`^(?:note|message|instructions?|attention)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llms?|ai\s+assistants?|ai\s+agents?|coding\s+agents?|language\s+models?)\b`, nil},
}

// phraseRes are the phrases' expressions, compiled on first use: every
// start of the binary (the CLI, and the sandbox init it re-executes)
// would otherwise pay about 0.4 ms to compile them.
var phraseRes = sync.OnceValue(func() (res [len(phrases)]*regexp.Regexp) {
	for i := range phrases {
		res[i] = regexp.MustCompile(phrases[i].pattern)
	}
	return res
})

// splitPhrases finds the phrases that invisible characters break up
// inside a word: "ig\u200bnore previous instructions", or a colour code
// in the middle of a word. prepare made them spaces; here a copy of low
// without them is searched, and each phrase found spans the raw bytes,
// invisible ones included, so that stripping removes it whole. Such
// cuts are rare in honest output, so the copy is seldom made.
func (d injection) splitPhrases(dst []Match, low []byte, cuts [][2]int, from int) []Match {
	if len(cuts) == 0 {
		return dst
	}
	// text is low without the cuts; pos maps each of its bytes, and its
	// end, back to low.
	text := make([]byte, 0, len(low))
	pos := make([]int32, 0, len(low)+1)
	last := 0
	for _, c := range cuts {
		text = append(text, low[last:c[0]]...)
		for k := last; k < c[0]; k++ {
			pos = append(pos, int32(k))
		}
		last = c[1]
	}
	text = append(text, low[last:]...)
	for k := last; k < len(low); k++ {
		pos = append(pos, int32(k))
	}
	pos = append(pos, int32(len(low)))
	f, _ := slices.BinarySearch(pos, int32(from))
	for _, m := range d.words(nil, nil, text, f) {
		s, e := int(pos[m.Start]), int(pos[m.End-1])+1
		if e-s == m.End-m.Start {
			continue // not split: the plain pass has it
		}
		m.Start, m.End = s, e
		m.Finding.Message += " (split by invisible characters)"
		dst = append(dst, m)
	}
	return dst
}

// phrase tries phrases[n] around the anchor word at low[i:].
func (d injection) phrase(dst []Match, found *[][2]int, low []byte, from, i, n int) []Match {
	p := &phrases[n]
	if p.pre != nil && !p.pre(low, i) {
		return dst
	}
	s0, e0 := max(from, i-p.back), min(len(low), i+p.fwd)
	loc := phraseRes()[n].FindSubmatchIndex(low[s0:e0])
	if loc == nil {
		return dst
	}
	if len(loc) >= 4 && loc[2] >= 0 {
		loc = loc[2:4] // the phrase, without the context before it
	}
	s, e := s0+loc[0], s0+loc[1]
	if overlapsAny(*found, s, e) {
		return dst
	}
	*found = append(*found, [2]int{s, e})
	return append(dst, d.match(s, e, p.rule, SeverityMedium, p.msg+": "+quoteShort(low[s:e], 80), false))
}

func overlapsAny(spans [][2]int, s, e int) bool {
	for _, t := range spans {
		if s < t[1] && t[0] < e {
			return true
		}
	}
	return false
}

// Markdown links and images.

func (d injection) links(dst []Match, buf []byte, from int) []Match {
	for i := from; ; {
		k := bytes.Index(buf[i:], []byte("]("))
		if k < 0 {
			return dst
		}
		i += k
		cl := i
		i += 2
		// The link text: back to the '[' on the same line.
		open := -1
		for j := cl - 1; j >= max(0, cl-maxAlt); j-- {
			if buf[j] == '[' {
				open = j
				break
			}
			if buf[j] == '\n' {
				break
			}
		}
		if open < 0 {
			continue
		}
		start, image := open, false
		if open > 0 && buf[open-1] == '!' {
			start, image = open-1, true
		}
		if start < from {
			continue
		}
		// The URL: up to whitespace or ')'; then any title, up to ')'.
		u := cl + 2
		if u < len(buf) && buf[u] == '<' {
			u++
		}
		e := u
		for e < len(buf) && e-u < maxURL && buf[e] != ')' && buf[e] != '>' && !isSpace(buf[e]) {
			e++
		}
		if e >= len(buf) || e-u >= maxURL {
			continue
		}
		end := e
		if p := bytes.IndexByte(buf[e:min(len(buf), e+maxAlt)], ')'); p >= 0 {
			end = e + p + 1
		}
		why, host := urlData(buf[u:e], image)
		if why == "" {
			continue
		}
		if image {
			dst = append(dst, d.match(start, end, ruleImageURL, SeverityHigh,
				"markdown image URL on "+quoteShort(host, 80)+" carries data ("+why+"): fetched as soon as it is shown", false))
		} else {
			dst = append(dst, d.match(start, end, ruleLinkURL, SeverityMedium,
				"markdown link URL on "+quoteShort(host, 80)+" carries data ("+why+")", false))
		}
		i = end
	}
}

// urlData says why an absolute http(s) URL looks like it carries data,
// or "" if it does not, and returns its host. Data is a template
// placeholder ({secret}, $VAR), an encoded value (long, mixed-case
// letters and digits, high entropy) in the query or the path, or, for
// an image, running text in the query.
func urlData(url []byte, image bool) (why string, host []byte) {
	l := bytes.ToLower(url)
	var rest []byte
	switch {
	case bytes.HasPrefix(l, []byte("https://")):
		rest = url[8:]
	case bytes.HasPrefix(l, []byte("http://")):
		rest = url[7:]
	case bytes.HasPrefix(l, []byte("//")):
		rest = url[2:]
	default:
		return "", nil
	}
	if f := bytes.IndexByte(rest, '#'); f >= 0 {
		rest = rest[:f] // a fragment is not sent
	}
	host, path, _ := bytes.Cut(rest, []byte("/"))
	if q := bytes.IndexByte(host, '?'); q >= 0 {
		host, path = host[:q], append([]byte("/"), host[q:]...)
	}
	path, query, _ := bytes.Cut(path, []byte("?"))
	if hasPlaceholder(query) || image && hasPlaceholder(path) {
		return "template placeholder", host
	}
	for kv := range bytes.FieldsFuncSeq(query, func(r rune) bool { return r == '&' || r == ';' }) {
		_, v, ok := bytes.Cut(kv, []byte("="))
		if !ok {
			v = kv
		}
		v = percentDecode(v)
		if looksEncoded(v, 24) {
			return "encoded value in the query", host
		}
		if image && words(v) >= 5 {
			return "text in the query", host
		}
	}
	if !image {
		// A link's path is left alone: document ids (Google Docs, Dropbox)
		// look like encoded data, and a link, unlike an image, is only
		// fetched when someone follows it.
		return "", host
	}
	for seg := range bytes.SplitSeq(path, []byte("/")) {
		if dot := bytes.LastIndexByte(seg, '.'); dot > 0 && len(seg)-dot <= 5 {
			seg = seg[:dot]
		}
		if looksEncoded(percentDecode(seg), 32) {
			return "encoded value in the path", host
		}
	}
	return "", host
}

func hasPlaceholder(b []byte) bool {
	if bytes.IndexByte(b, '{') >= 0 || bytes.IndexByte(b, '}') >= 0 {
		return true
	}
	l := bytes.ToLower(b)
	if bytes.Contains(l, []byte("%7b")) || bytes.Contains(l, []byte("%7d")) {
		return true
	}
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '$' && (b[i+1] == '{' || b[i+1] == '_' || b[i+1] >= 'A' && b[i+1] <= 'Z') {
			return true
		}
	}
	return false
}

// looksEncoded reports whether v looks like encoded data rather than a
// word, a slug, an id or a hash: at least n bytes of the base64 or
// base64url alphabet, with upper- and lower-case letters and digits,
// and the entropy of random text. Hex (commit ids, content hashes) and
// UUIDs, common in image URLs, do not count.
func looksEncoded(v []byte, n int) bool {
	if len(v) < n {
		return false
	}
	var upper, lower, digit bool
	var count [256]int
	for _, c := range v {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' || c == '/' || c == '=' || c == '_' || c == '-':
		default:
			return false
		}
		count[c]++
	}
	if !upper || !lower || !digit {
		return false
	}
	var h float64
	for _, k := range count {
		if k > 0 {
			p := float64(k) / float64(len(v))
			h -= p * math.Log2(p)
		}
	}
	return h >= 3.5
}

// words counts the words of a query value: runs of letters between
// spaces, '+' or '-'.
func words(v []byte) int {
	n := 0
	for f := range bytes.FieldsFuncSeq(v, func(r rune) bool { return r == ' ' || r == '+' || r == '_' }) {
		if len(f) > 0 {
			n++
		}
	}
	return n
}

func percentDecode(b []byte) []byte {
	if bytes.IndexByte(b, '%') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
			continue
		}
		out = append(out, b[i])
	}
	return out
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
