package verify

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// TerminalOptions configure the Terminal detector.
type TerminalOptions struct {
	// KeepColour keeps SGR sequences (colour, bold, underline), for
	// output printed to a real terminal. Without it they are dropped
	// silently: for a model they are noise, not a risk.
	KeepColour bool
}

// Terminal returns a detector for bytes that act on a terminal rather
// than show as text: escape sequences, control strings (OSC, DCS, APC,
// PM, SOS), C1 controls, and carriage returns and backspaces that
// overwrite text on screen. Each is neutralised in the output: removed
// where it carries nothing worth reading (cursor movement, hyperlink
// brackets), shown in an inert visible form with control pictures
// (␛]52;…) where it does, and reported. A lone carriage return becomes
// a newline, so that text it would have hidden stays readable.
//
// The detector is stateless and safe for concurrent use.
func Terminal(opts TerminalOptions) Detector { return terminal{keepColour: opts.KeepColour} }

type terminal struct{ keepColour bool }

const (
	// maxControlString bounds an OSC, DCS, APC, PM or SOS string matched
	// whole. Past it the string is taken as unterminated and only its
	// introducer is neutralised, so that a stream that opens a string
	// and never closes it cannot make the Stream hold back without end.
	maxControlString = 8 << 10
	// maxCSI bounds a CSI sequence; real ones are a few bytes long.
	maxCSI = 64
	// shownString is how much of a control string's body is shown in
	// its visible form.
	shownString = 64
)

func (terminal) Window() int { return maxControlString + 8 }

// ctlByte marks the bytes that start something the detector looks at:
// C0 controls other than tab and newline, DEL, and 0xC2, the lead byte
// of the UTF-8 form of the C1 controls.
var ctlByte = func() (t [256]bool) {
	for b := range 0x20 {
		t[b] = b != '\t' && b != '\n'
	}
	t[0x7f] = true
	t[0xc2] = true
	return t
}()

// rule is what a sequence does, as far as the detector cares, and what
// becomes of it: removed (ActionStripped) or shown (ActionEscaped).
type rule struct {
	id       string
	severity Severity
	action   Action // ActionStripped (removed) or ActionEscaped (shown)
	message  string
}

var (
	ruleClipboard  = rule{"osc-clipboard", SeverityHigh, ActionEscaped, "OSC 52 sets or reads the clipboard"}
	ruleTitle      = rule{"osc-title", SeverityMedium, ActionEscaped, "OSC sets the window or icon title"}
	ruleHyperlink  = rule{"osc-hyperlink", SeverityMedium, ActionStripped, "OSC 8 hyperlink: the text is kept, the link dropped"}
	ruleOSC        = rule{"osc-other", SeverityLow, ActionEscaped, "operating system command"}
	ruleQuery      = rule{"terminal-query", SeverityHigh, ActionEscaped, "asks the terminal to answer: the answer would arrive as typed input"}
	ruleString     = rule{"control-string", SeverityMedium, ActionEscaped, "DCS, APC, PM or SOS control string"}
	rulePassthru   = rule{"tmux-passthrough", SeverityHigh, ActionEscaped, "tmux passthrough: a sequence for the terminal outside tmux"}
	ruleCursor     = rule{"cursor-control", SeverityLow, ActionStripped, "cursor movement, erase or scroll: can hide or rewrite text on screen"}
	ruleMode       = rule{"mode-change", SeverityLow, ActionStripped, "terminal mode change"}
	ruleReporting  = rule{"input-reporting", SeverityMedium, ActionStripped, "turns on mouse or focus reporting: the terminal would send input"}
	ruleWindow     = rule{"window-op", SeverityMedium, ActionStripped, "window manipulation (move, resize, iconify)"}
	ruleEscape     = rule{"escape", SeverityLow, ActionEscaped, "escape sequence"}
	ruleMalformed  = rule{"malformed-escape", SeverityLow, ActionEscaped, "incomplete or malformed escape sequence"}
	ruleC1         = rule{"c1-control", SeverityMedium, ActionEscaped, "C1 control character"}
	ruleControl    = rule{"control-character", SeverityLow, ActionEscaped, "control character"}
	ruleCR         = rule{"carriage-return", SeverityLow, ActionEscaped, "carriage return without newline: text after it overwrites the line on screen; shown as a newline"}
	ruleBackspace  = rule{"backspace", SeverityLow, ActionEscaped, "backspace: can overwrite text on screen"}
	ruleUntermOSC  = " (unterminated past 8 KiB; introducer neutralised)"
	emptyReplace   = []byte{}
	newlineReplace = []byte("\n")
)

func (t terminal) Scan(dst []Match, buf []byte, from int, final bool) []Match {
	dst, _ = t.scan(dst, buf, from, final)
	return dst
}

// Pending returns where a sequence that the end of buf leaves open
// starts, so that an idle Stream does not pass on half of it.
func (t terminal) Pending(buf []byte) int {
	_, stop := t.scan(nil, buf, max(0, len(buf)-t.Window()), false)
	return stop
}

// scan is Scan; it also returns where it stopped for want of input, or
// len(buf).
func (t terminal) scan(dst []Match, buf []byte, from int, final bool) ([]Match, int) {
	i := from
	last := from // the end of the last match
	for i < len(buf) {
		// The common case, text, is a table lookup per byte.
		for i < len(buf) && !ctlByte[buf[i]] {
			i++
		}
		if i >= len(buf) {
			break
		}
		var (
			end  int
			r    *rule
			repl []byte
			msg  string
		)
		switch b := buf[i]; {
		case b == 0x1b:
			if i+1 >= len(buf) {
				if !final {
					return dst, i // the rest comes later
				}
				end, r = i+1, &ruleControl
				break
			}
			var more bool
			end, r, repl, msg, more = t.escape(buf, i, buf[i+1], false, final)
			if more {
				return dst, i
			}
		case b == 0xc2:
			if i+1 >= len(buf) {
				i++
				continue
			}
			c := buf[i+1]
			if c < 0x80 || c > 0x9f {
				i++
				continue
			}
			var more bool
			end, r, repl, msg, more = t.escape(buf, i, c-0x40, true, final)
			if more {
				return dst, i
			}
			if r == &ruleMalformed {
				// An 8-bit introducer that introduces nothing.
				r = &ruleC1
			}
		case b == '\r':
			j := i + 1
			for j < len(buf) && buf[j] == '\r' {
				j++
			}
			if j >= len(buf) && !final {
				return dst, i
			}
			if j < len(buf) && buf[j] == '\n' {
				// CRLF stays. It is matched, as itself, so that the
				// Stream never passes on the CR without its LF and
				// Neutralize, which sees one write at a time, never
				// shows a lone half of it.
				dst = append(dst, Match{Start: j - 1, End: j + 1, Replace: buf[j-1 : j+1], Priority: PriorityTerminal})
				if j-1 > i {
					dst = append(dst, Match{Start: i, End: j - 1, Replace: emptyReplace, Priority: PriorityTerminal})
				}
				i = j + 1
				last = i
				continue
			}
			end, r, repl = j, &ruleCR, newlineReplace
		case b == '\b':
			// nroff overstrike, X\bX for bold and _\bX for underline, is
			// how man pages come out of a pipe; it hides nothing.
			// The letter before must be text, not the end of a sequence
			// matched just before.
			if i > last && i+1 < len(buf) && (buf[i-1] == buf[i+1] || buf[i-1] == '_') && buf[i+1] >= 0x20 && buf[i+1] < 0x7f {
				dst = append(dst, Match{Start: i - 1, End: i + 1, Replace: emptyReplace, Priority: PriorityTerminal})
				i += 2
				last = i - 1
				continue
			}
			end, r = i+1, &ruleBackspace
		default:
			end, r = i+1, &ruleControl
		}
		if r == nil {
			// A silent edit: colour dropped, or kept as itself.
			dst = append(dst, Match{Start: i, End: end, Replace: repl, Priority: PriorityTerminal})
			i = end
			last = end
			continue
		}
		if repl == nil {
			if r.action == ActionStripped {
				repl = emptyReplace
			} else {
				repl = visible(nil, buf[i:end])
			}
		}
		if msg == "" {
			msg = r.message
		}
		dst = append(dst, Match{Start: i, End: end, Replace: repl, Priority: PriorityTerminal,
			Finding: &Finding{Kind: KindTerminal, Rule: r.id, Severity: r.severity, Action: r.action, Message: msg}})
		i = end
		last = end
	}
	return dst, len(buf)
}

// escape classifies the sequence at buf[start:]: ESC c, or with c1 the
// UTF-8 form of the C1 control c+0x40 (two bytes either way). more says
// that buf ends before the sequence does and more input may come. A nil
// rule with a replacement is a silent edit.
func (t terminal) escape(buf []byte, start int, c byte, c1, final bool) (end int, r *rule, repl []byte, msg string, more bool) {
	p := start + 2
	switch c {
	case '[':
		return t.csi(buf, start, p, final)
	case ']', 'P', '_', '^', 'X':
		return controlString(buf, start, p, c, final)
	}
	if c1 {
		// A C1 control that introduces nothing: shown as ␛ and its 7-bit
		// form, and the text after it stays text.
		return p, &ruleC1, nil, "", false
	}
	// ESC, intermediates 0x20-0x2F, final 0x30-0x7E.
	p = start + 1
	j := p
	for j < len(buf) && j-start < maxCSI && buf[j] >= 0x20 && buf[j] <= 0x2f {
		j++
	}
	if j >= len(buf) {
		if !final {
			return 0, nil, nil, "", true
		}
		return p, &ruleMalformed, nil, "", false
	}
	if buf[j] < 0x30 || buf[j] > 0x7e {
		return p, &ruleMalformed, nil, "", false
	}
	if j == p && buf[j] == 'Z' {
		return j + 1, &ruleQuery, nil, "ESC Z (DECID) " + ruleQuery.message, false
	}
	return j + 1, &ruleEscape, nil, "", false
}

// csi classifies a control sequence: parameters 0x30-0x3F,
// intermediates 0x20-0x2F, a final byte 0x40-0x7E.
func (t terminal) csi(buf []byte, start, p int, final bool) (end int, r *rule, repl []byte, msg string, more bool) {
	j := p
	for j < len(buf) && j-start < maxCSI && buf[j] >= 0x30 && buf[j] <= 0x3f {
		j++
	}
	params := buf[p:j]
	for j < len(buf) && j-start < maxCSI && buf[j] >= 0x20 && buf[j] <= 0x2f {
		j++
	}
	inter := buf[p+len(params) : j]
	if j >= len(buf) && j-start < maxCSI {
		if !final {
			return 0, nil, nil, "", true
		}
		return p, &ruleMalformed, nil, "", false
	}
	if j-start >= maxCSI || buf[j] < 0x40 || buf[j] > 0x7e {
		// Not a sequence a terminal completes: neutralise the
		// introducer, the rest is text.
		return p, &ruleMalformed, nil, "", false
	}
	f := buf[j]
	end = j + 1
	switch {
	case f == 'm' && len(inter) == 0 && sgrParams(params):
		if t.keepColour {
			if p-start == 2 && buf[start] == 0xc2 {
				// The 8-bit form, which few terminals take: written
				// as the 7-bit one that NeutralizeColour lets pass.
				return end, nil, append([]byte("\x1b["), buf[p:end]...), "", false
			}
			// Kept as itself; matched so that it is never split
			// between two writes. The Stream applies a replacement
			// before it reuses buf, so it may alias buf.
			return end, nil, buf[start:end], "", false
		}
		return end, nil, emptyReplace, "", false
	case isQuery(params, inter, f):
		return end, &ruleQuery, nil, "", false
	case f == 'h' || f == 'l':
		if reportingMode(params) {
			return end, &ruleReporting, nil, "", false
		}
		return end, &ruleMode, nil, "", false
	case f == 't':
		return end, &ruleWindow, nil, "", false
	}
	return end, &ruleCursor, nil, "", false
}

// isQuery reports whether a CSI sequence makes the terminal answer.
func isQuery(params, inter []byte, f byte) bool {
	switch {
	case f == 'n' && len(inter) == 0: // DSR: status, cursor position
		return true
	case f == 'c' && len(inter) == 0: // DA1, DA2, DA3
		return true
	case f == 'x' && len(inter) == 0: // DECREQTPARM
		return true
	case f == 'p' && bytes.Equal(inter, []byte("$")): // DECRQM
		return true
	case f == 'u' && len(params) > 0 && params[0] == '?': // kitty keyboard flags
		return true
	case f == 'q' && len(params) > 0 && params[0] == '>': // XTVERSION
		return true
	case f == 'w' && bytes.Equal(inter, []byte("$")): // DECRQPSR
		return true
	case f == 't' && len(inter) == 0:
		// Window reports: 11 state, 13 position, 14/15/16 size in
		// pixels, 18/19 size in characters, 20/21 icon label and title.
		n, _, _ := bytes.Cut(params, []byte(";"))
		switch string(n) {
		case "11", "13", "14", "15", "16", "18", "19", "20", "21":
			return true
		}
	}
	return false
}

// reportingMode reports whether DEC private modes turn on mouse or focus
// reporting, which has the terminal send input when the mouse moves.
func reportingMode(params []byte) bool {
	if len(params) == 0 || params[0] != '?' {
		return false
	}
	for m := range bytes.SplitSeq(params[1:], []byte(";")) {
		switch string(m) {
		case "9", "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1015", "1016":
			return true
		}
	}
	return false
}

// controlString classifies an OSC, DCS, APC, PM or SOS string, ended by
// ST (ESC \ or C1 ST), BEL for OSC, CAN or SUB (which abort it), or an
// ESC that starts something else.
func controlString(buf []byte, start, p int, c byte, final bool) (end int, r *rule, repl []byte, msg string, more bool) {
	limit := min(len(buf), start+maxControlString)
	j := p
	bodyEnd := -1
	for ; j < limit; j++ {
		switch b := buf[j]; b {
		case 0x07, 0x18, 0x1a:
			bodyEnd, end = j, j+1
		case 0x1b:
			bodyEnd, end = j, j
			if j+1 < len(buf) && buf[j+1] == '\\' {
				end = j + 2
			} else if j+1 >= len(buf) && !final {
				return 0, nil, nil, "", true
			}
		case 0xc2:
			if j+1 < len(buf) && buf[j+1] == 0x9c {
				bodyEnd, end = j, j+2
			} else if j+1 >= len(buf) && !final {
				return 0, nil, nil, "", true
			}
		default:
			continue
		}
		break
	}
	body := buf[p:max(p, bodyEnd)]
	unterminated := bodyEnd < 0
	if unterminated {
		if j >= len(buf) && j-start < maxControlString && !final {
			return 0, nil, nil, "", true
		}
		// Past the cap, or at the end of the stream: the introducer is
		// neutralised and the rest stays as text.
		end = p
		body = buf[p:j]
	}
	r = stringRule(c, body)
	msg = r.message
	if r == &ruleHyperlink && !unterminated {
		_, uri, _ := bytes.Cut(body[min(2, len(body)):], []byte(";"))
		if len(uri) == 0 {
			// The end of a link: dropped with its start, which was
			// reported.
			return end, nil, emptyReplace, "", false
		}
		msg = "OSC 8 hyperlink to " + quoteShort(uri, 200) + ": the text is kept, the link dropped"
	}
	if unterminated {
		msg += ruleUntermOSC
		return end, r, visible(nil, buf[start:end]), msg, false
	}
	if r.action == ActionStripped {
		return end, r, emptyReplace, msg, false
	}
	return end, r, visibleString(buf[start:end], p-start, len(body)), msg, false
}

func stringRule(c byte, body []byte) *rule {
	switch c {
	case ']':
		n, rest, _ := bytes.Cut(body, []byte(";"))
		switch string(n) {
		case "52":
			return &ruleClipboard
		case "0", "1", "2":
			return &ruleTitle
		case "8":
			return &ruleHyperlink
		}
		// OSC 4, 10-19 and friends answer a "?" with the colour.
		if bytes.HasSuffix(rest, []byte("?")) || bytes.Contains(rest, []byte(";?")) {
			return &ruleQuery
		}
		return &ruleOSC
	case 'P':
		switch {
		case bytes.HasPrefix(body, []byte("$q")), bytes.HasPrefix(body, []byte("+q")):
			return &ruleQuery // DECRQSS, XTGETTCAP
		case bytes.HasPrefix(body, []byte("tmux;")):
			return &rulePassthru
		}
	}
	return &ruleString
}

// visibleString is the inert form of a control string: its introducer,
// the first bytes of its body and its terminator as control pictures,
// and how much of the body was left out.
func visibleString(seq []byte, i, n int) []byte {
	if n <= shownString {
		return visible(nil, seq)
	}
	body := seq[i : i+n]
	out := visible(nil, seq[:i])
	cut := shownString
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	out = visible(out, body[:cut])
	out = fmt.Appendf(out, "…(%d bytes)", len(body)-cut)
	return visible(out, seq[i+len(body):])
}

// visible appends b to dst with every control character replaced by
// its Unicode control picture (ESC as ␛, BEL as ␇, DEL as ␡) and each C1
// control shown as ␛ and its 7-bit form (CSI as ␛[), so that nothing in
// it acts on a terminal. Other bytes that are not UTF-8 pass unchanged:
// they act on nothing.
func visible(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20:
				dst = utf8.AppendRune(dst, 0x2400+rune(c))
			case c == 0x7f:
				dst = append(dst, "␡"...)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r >= 0x80 && r <= 0x9f:
			dst = append(dst, "␛"...)
			dst = append(dst, byte(r-0x40))
		case r == utf8.RuneError && n == 1:
			if c >= 0x80 && c <= 0x9f {
				dst = append(dst, "␛"...)
				dst = append(dst, c-0x40)
			} else {
				dst = append(dst, c)
			}
		default:
			dst = append(dst, b[i:i+n]...)
		}
		i += n
	}
	return dst
}

// quoteShort quotes b for a message, cut to at most n bytes.
func quoteShort(b []byte, n int) string {
	if len(b) <= n {
		return strconv.QuoteToASCII(string(b))
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.QuoteToASCII(string(b[:n])) + "…"
}

// neutralByte marks the ASCII bytes Neutralize leaves alone.
var neutralByte = func() (t [256]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = true
	}
	t['\t'] = true
	t['\n'] = true
	return t
}()

// Neutralize appends src to dst with every control character that could
// act on a terminal made visible: C0 controls other than tab, newline
// and a carriage return directly before a newline, DEL, and C1 controls,
// raw or UTF-8 encoded. It is the last pass over what cordon passes on,
// whatever the detectors did. It keeps no state between calls.
func Neutralize(dst, src []byte) []byte {
	return neutralize(dst, src, false)
}

// NeutralizeColour is Neutralize for output printed to a terminal with
// TerminalOptions.KeepColour: complete SGR sequences (ESC [ digits and
// semicolons m) pass as they are, everything else as in Neutralize.
func NeutralizeColour(dst, src []byte) []byte {
	return neutralize(dst, src, true)
}

func neutralize(dst, src []byte, keepSGR bool) []byte {
	for i := 0; i < len(src); {
		// Copy the run of plain text in one append.
		j := i
		for j < len(src) && neutralByte[src[j]] {
			j++
		}
		dst = append(dst, src[i:j]...)
		i = j
		if i >= len(src) {
			break
		}
		c := src[i]
		switch {
		case c == '\r' && i+1 < len(src) && src[i+1] == '\n':
			dst = append(dst, '\r')
			i++
		case c == 0x1b && keepSGR:
			if n := sgrLen(src[i:]); n > 0 {
				dst = append(dst, src[i:i+n]...)
				i += n
				continue
			}
			dst = append(dst, "␛"...)
			i++
		case c < utf8.RuneSelf:
			dst = visible(dst, src[i:i+1])
			i++
		default:
			r, n := utf8.DecodeRune(src[i:])
			if (r >= 0x80 && r <= 0x9f) || (r == utf8.RuneError && n == 1 && c <= 0x9f) {
				dst = visible(dst, src[i:i+n])
			} else {
				dst = append(dst, src[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// sgrParams reports whether params are an SGR's: digits, ';' and ':'.
func sgrParams(params []byte) bool {
	for _, c := range params {
		if (c < '0' || c > '9') && c != ';' && c != ':' {
			return false
		}
	}
	return true
}

// sgrLen returns the length of the SGR sequence b starts with, or 0.
func sgrLen(b []byte) int {
	if len(b) < 3 || b[0] != 0x1b || b[1] != '[' {
		return 0
	}
	for i := 2; i < len(b) && i < maxCSI; i++ {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == ';', c == ':':
		case c == 'm':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}
