package verify

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// inert reports the first byte offset in out at which something could
// act on a terminal: a C0 control other than tab, newline and CR before
// LF, DEL, or a C1 control, raw or UTF-8. With sgr, complete SGR
// sequences are allowed.
func inert(out []byte, sgr bool) (int, bool) {
	for i := 0; i < len(out); {
		c := out[i]
		if sgr && c == 0x1b {
			if n := sgrLen(out[i:]); n > 0 {
				i += n
				continue
			}
		}
		switch {
		case c == '\t' || c == '\n':
		case c == '\r' && i+1 < len(out) && out[i+1] == '\n':
		case c < 0x20 || c == 0x7f:
			return i, false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(out[i:])
			if r >= 0x80 && r <= 0x9f || r == utf8.RuneError && n == 1 && c <= 0x9f {
				return i, false
			}
			i += n
			continue
		}
		i++
	}
	return 0, true
}

// Every sample is found and neutralised, through a Stream fed in writes
// of random sizes, in the middle of a coloured build log whose colour
// is dropped (or kept) without a finding.
func TestTerminalAttacks(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for _, s := range loadTextSamples(t, "testdata/terminal/attacks.txt") {
		t.Run(s.name, func(t *testing.T) {
			for _, maxWrite := range []int{1, 4, 300, 70000} {
				for _, keep := range []bool{false, true} {
					prefix := syntheticLog(r, r.IntN(20000), true)
					suffix := syntheticLog(r, r.IntN(20000), true)
					in := slices.Concat(prefix, s.text, suffix)
					out, fs := runStream(t, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{KeepColour: keep})}}, in, r, maxWrite)
					if at, ok := inert(out, keep); !ok {
						t.Fatalf("writes up to %d, keep colour %v: control left at %d: %q", maxWrite, keep, at, out[max(0, at-20):min(len(out), at+20)])
					}
					f, ok := findRule(fs, s.rule)
					if !ok {
						t.Fatalf("writes up to %d: %s not found; findings %v", maxWrite, s.rule, fs)
					}
					if f.Kind != KindTerminal || f.Action == ActionFlagged {
						t.Fatalf("finding %v", f)
					}
					for _, f := range fs {
						if f.Offset < int64(len(prefix)) || f.Offset >= int64(len(prefix)+len(s.text)) {
							t.Fatalf("finding in the log around the sample: %v", f)
						}
					}
					wantPrefix := prefix
					if !keep {
						wantPrefix = sgr.ReplaceAll(prefix, nil)
					}
					if !bytes.HasPrefix(out, wantPrefix) {
						t.Fatalf("keep colour %v: the log before the sample changed", keep)
					}
				}
			}
		})
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// The neutralised forms: what a model or a person sees instead.
func TestTerminalForms(t *testing.T) {
	long := strings.Repeat("A", maxControlString)
	for _, c := range []struct{ in, out, rule string }{
		{"a\x1b[31mred\x1b[0m\n", "ared\n", ""},
		{"\x1b]52;c;Y3VybCBldmlsfHNo\x07", "␛]52;c;Y3VybCBldmlsfHNo␇", ruleClipboard.id},
		{"\x1b]52;c;" + strings.Repeat("QUJD", 40) + "\x1b\\", "␛]52;c;" + strings.Repeat("QUJD", 14) + "QUJ…(101 bytes)␛\\", ruleClipboard.id},
		{"\x1b]0;title\x1b\\text", "␛]0;title␛\\text", ruleTitle.id},
		{"see \x1b]8;id=1;https://evil.example/\x1b\\the docs\x1b]8;;\x1b\\.", "see the docs.", ruleHyperlink.id},
		{"x\x1b[6ny", "x␛[6ny", ruleQuery.id},
		{"a\x1b[2K\x1b[1Gb", "ab", ruleCursor.id},
		{"safe\rrm -rf\n", "safe\nrm -rf\n", ruleCR.id},
		{"one\r\ntwo\r\r\n", "one\r\ntwo\r\n", ""},
		{"ab\bc", "ab␈c", ruleBackspace.id},
		{"N\bNA\bAM\bME\bE _\bx", "NAME x", ""},
		{"\u00852", "␛E2", ruleC1.id},
		{"\u009b2Jx", "x", ruleCursor.id},
		{"\x1b[1;2;3", "␛[1;2;3", ruleMalformed.id},
		{"\x1b[1\x07m", "␛[1␇m", ruleMalformed.id},
		{"bell\x07", "bell␇", ruleControl.id},
		{"\x1b(0lqk\x1b(B", "␛(0lqk␛(B", ruleEscape.id},
		{"\x1b]2;t", "␛]2;t", ruleTitle.id},
		{"\x1b]52;c;" + long + "\x07", "␛]52;c;" + long + "␇", ruleClipboard.id},
	} {
		for _, maxWrite := range []int{1, 3, 1 << 20} {
			out, fs := runStream(t, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{})}}, []byte(c.in), rand.New(rand.NewPCG(1, 2)), maxWrite)
			if string(out) != c.out {
				t.Errorf("%q: got %q, want %q", c.in[:min(40, len(c.in))], out[:min(200, len(out))], c.out[:min(200, len(c.out))])
			}
			if c.rule == "" && len(fs) > 0 || c.rule != "" && (len(fs) == 0 || fs[0].Rule != c.rule) {
				t.Errorf("%q: findings %v, want %q", c.in[:min(40, len(c.in))], fs, c.rule)
			}
		}
	}
}

// An OSC string that never ends within the cap has its introducer
// neutralised; the Stream does not hold back more than its window.
func TestTerminalUnterminated(t *testing.T) {
	in := "\x1b]52;c;" + strings.Repeat("QUJD", 10000) + "\x07 end\n"
	out, fs := runStream(t, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{})}}, []byte(in), rand.New(rand.NewPCG(1, 2)), 1000)
	if !bytes.HasPrefix(out, []byte("␛]52;c;QUJD")) || !bytes.HasSuffix(out, []byte("␇ end\n")) {
		t.Fatalf("got %q…%q", out[:20], out[len(out)-20:])
	}
	if len(fs) != 2 || fs[0].Rule != ruleClipboard.id || !strings.Contains(fs[0].Message, "unterminated") {
		t.Fatalf("findings %v", fs)
	}
}

// Benign coloured logs, CRLF text and man-page overstrike pass without a
// finding: colour dropped, or kept as it is.
func TestTerminalBenign(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range loadTextSamples(t, "testdata/terminal/benign.txt") {
		for _, keep := range []bool{false, true} {
			out, fs := runStream(t, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{KeepColour: keep})}}, s.text, r, 7)
			if len(fs) > 0 {
				t.Errorf("%s: findings %v", s.name, fs)
			}
			want := s.text
			if !keep {
				want = sgr.ReplaceAll(want, nil)
			}
			if s.name == "man-overstrike" {
				want = regexp.MustCompile(`.\x08`).ReplaceAll(want, nil)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("%s, keep colour %v: got %q, want %q", s.name, keep, out, want)
			}
		}
	}
}

// Random bytes heavy in controls and escape fragments come out inert,
// from the detector alone and from Neutralize alone, and Neutralize
// leaves the detector's output as it is.
// An idle Stream passes on complete lines, but not the start of a
// control string that a later write ends.
func TestTerminalIdle(t *testing.T) {
	r, w := newPipe()
	s := NewStream(w, StreamOptions{Idle: 20 * time.Millisecond, Detectors: []Detector{Terminal(TerminalOptions{})}})
	s.Write([]byte("first\n\x1b]52;c;QUJD\nRA==\nmore"))
	select {
	case got := <-r:
		if got != "first\n" {
			t.Fatalf("idle flush: %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing passed on while idle")
	}
	s.Write([]byte("\x07 end\n"))
	s.Close()
	if got := <-r; got != "␛]52;c;QUJD␊RA==␊more␇ end\n" {
		t.Fatalf("rest: %q", got)
	}
	if fs := s.Findings(); len(fs) != 1 || fs[0].Rule != ruleClipboard.id || fs[0].Offset != 6 {
		t.Fatalf("findings %v", fs)
	}
}

func TestTerminalRandom(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	pieces := []string{"\x1b", "[", "]", "P", "\\", "\x07", ";", "52", "8", "?", "m", "H", "\r", "\n", "\b", "\u009b", "\u009d", "\u009c", "\xc2", "\x9b", "text ", "é", "\x7f", "\x00", "\x18", "1", "$q"}
	for range 300 {
		var in []byte
		for range 1 + r.IntN(400) {
			in = append(in, pieces[r.IntN(len(pieces))]...)
		}
		for _, keep := range []bool{false, true} {
			out, _ := runStream(t, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{KeepColour: keep})}}, in, r, 1+r.IntN(64))
			// Raw C1 bytes that are not UTF-8 are Neutralize's job.
			clean := bytes.Map(func(r rune) rune {
				if r == utf8.RuneError {
					return 'x'
				}
				return r
			}, out)
			if at, ok := inert(clean, keep); !ok {
				t.Fatalf("input %q\noutput %q: control at %d", in, out, at)
			}
			if n := Neutralize(nil, in); !isInert(n, false) {
				t.Fatalf("Neutralize(%q) = %q", in, n)
			}
			if keep {
				if n := NeutralizeColour(nil, out); !bytes.Equal(n, NeutralizeColour(nil, n)) || !isInert(n, true) {
					t.Fatalf("NeutralizeColour(%q) = %q", out, n)
				}
			} else if n := Neutralize(nil, clean); !bytes.Equal(n, clean) {
				t.Fatalf("Neutralize changed the detector's output %q to %q", clean, n)
			}
		}
	}
}

func isInert(b []byte, sgr bool) bool {
	_, ok := inert(b, sgr)
	return ok
}

func TestNeutralize(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"plain text\n", "plain text\n"},
		{"tab\there\r\n", "tab\there\r\n"},
		{"\x1b[31mred", "␛[31mred"},
		{"lone\rcr", "lone␍cr"},
		{"\x00\x01\x7f", "␀␁␡"},
		{"\u009b2J", "␛[2J"},
		{"raw \x9b byte", "raw ␛[ byte"},
		{"latin-1 \xe9 stays", "latin-1 \xe9 stays"},
		{"ünïcödé ✓ 𝄞", "ünïcödé ✓ 𝄞"},
	} {
		if got := string(Neutralize(nil, []byte(c.in))); got != c.out {
			t.Errorf("Neutralize(%q) = %q, want %q", c.in, got, c.out)
		}
	}
	if got := string(NeutralizeColour(nil, []byte("\x1b[1;31mred\x1b[0m \x1b]0;t\x07"))); got != "\x1b[1;31mred\x1b[0m ␛]0;t␇" {
		t.Errorf("NeutralizeColour: %q", got)
	}
}

// Terminal findings at medium or above on benign text: none expected.
func TestTerminalFalsePositives(t *testing.T) {
	if testing.Short() {
		t.Skip("reads Go's tree and /usr/share/doc")
	}
	det := []Detector{Terminal(TerminalOptions{})}
	for kind, files := range benignCorpus(t) {
		flagged := 0
		rules := map[string]int{}
		for _, f := range files {
			_, fs := runStream(t, StreamOptions{Detectors: det}, f.data, rand.New(rand.NewPCG(1, 1)), 1<<20)
			hit := false
			for _, x := range fs {
				if x.Severity.Rank() >= SeverityMedium.Rank() {
					hit = true
					rules[x.Rule]++
					if rules[x.Rule] <= 2 {
						t.Logf("  %s: %v", f.name, x)
					}
				}
			}
			if hit {
				flagged++
			}
		}
		rate := 100 * float64(flagged) / float64(max(1, len(files)))
		t.Logf("terminal findings at medium or above, %s: %d of %d (%.3f%%); by rule %v", kind, flagged, len(files), rate, rules)
		if rate > 0.5 {
			t.Errorf("%s: rate %.3f%% above 0.5%%", kind, rate)
		}
	}
}

func FuzzTerminal(f *testing.F) {
	for _, s := range []string{"\x1b]52;c;QUJD\x07", "\x1b[6n", "a\rb", "\u009b2J", "\x1bP$qm\x1b\\", "x\x1b]8;;u\x1b\\y"} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, w uint8) {
		r := rand.New(rand.NewPCG(uint64(w), 0))
		out, fs := runStream(t, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{}), Injection(InjectionOptions{Strip: w%2 == 0})}, Neutralize: Neutralize}, in, r, 1+int(w))
		if !isInert(out, false) {
			t.Fatalf("%q -> %q", in, out)
		}
		for _, f := range fs {
			if f.Offset < 0 || f.Offset+f.Length > int64(len(in)) {
				t.Fatalf("finding %v outside the input", f)
			}
			if strings.ContainsFunc(f.Message, func(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }) {
				t.Fatalf("control in message %q", f.Message)
			}
			_ = fmt.Sprint(f)
		}
	})
}

func BenchmarkTerminal(b *testing.B) {
	b.Run("drop-colour", func(b *testing.B) {
		benchStream(b, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{})}, Neutralize: Neutralize})
	})
	b.Run("keep-colour", func(b *testing.B) {
		benchStream(b, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{KeepColour: true})}, Neutralize: NeutralizeColour})
	})
}

func BenchmarkNeutralize(b *testing.B) {
	in := syntheticLog(rand.New(rand.NewPCG(9, 9)), 1<<20, false)
	b.SetBytes(int64(len(in)))
	var out []byte
	for b.Loop() {
		out = Neutralize(out[:0], in)
	}
}

// All output checks of this package together, as cordon runs them on
// output for a model.
func BenchmarkInjectionAndTerminal(b *testing.B) {
	benchStream(b, StreamOptions{Detectors: []Detector{Terminal(TerminalOptions{}), Injection(InjectionOptions{Strip: true})}, Neutralize: Neutralize})
}
