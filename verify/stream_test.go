package verify

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// literal is a detector for tests: it replaces every occurrence of a
// word with a replacement, at a priority.
type literal struct {
	word, repl string
	prio       int
}

func (l literal) Window() int { return len(l.word) }

func (l literal) Scan(dst []Match, buf []byte, from int, final bool) []Match {
	for i := from; ; {
		j := bytes.Index(buf[i:], []byte(l.word))
		if j < 0 {
			return dst
		}
		dst = append(dst, Match{Start: i + j, End: i + j + len(l.word), Replace: []byte(l.repl), Priority: l.prio,
			Finding: &Finding{Kind: KindSecret, Rule: l.word, Severity: SeverityHigh, Action: ActionRedacted}})
		i += j + 1
	}
}

func run(t *testing.T, opts StreamOptions, input []byte, sizes func() int) (string, []Finding) {
	t.Helper()
	var out bytes.Buffer
	s := NewStream(&out, opts)
	for len(input) > 0 {
		n := min(len(input), sizes())
		if _, err := s.Write(input[:n]); err != nil {
			t.Fatal(err)
		}
		input = input[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String(), s.Findings()
}

// A span split across writes of any size is found once, at its offset
// in the raw stream, and replaced.
func TestStreamSplitWrites(t *testing.T) {
	secret := "SECRET-" + strings.Repeat("x", 300)
	var in strings.Builder
	var offsets []int64
	for i := range 2000 {
		fmt.Fprintf(&in, "line %d of the build log\n", i)
		if i%97 == 0 {
			offsets = append(offsets, int64(in.Len()))
			in.WriteString(secret)
		}
	}
	want := strings.ReplaceAll(in.String(), secret, "[R]")
	for _, max := range []int{1, 7, 4096, 1 << 20} {
		got, fs := run(t, StreamOptions{Name: "stdout", Detectors: []Detector{literal{secret, "[R]", PrioritySecret}}},
			[]byte(in.String()), func() int { return 1 + rand.IntN(max) })
		if got != want {
			t.Fatalf("writes up to %d: output differs", max)
		}
		if len(fs) != len(offsets) {
			t.Fatalf("writes up to %d: %d findings, want %d", max, len(fs), len(offsets))
		}
		for i, f := range fs {
			if f.Offset != offsets[i] || f.Length != int64(len(secret)) || f.Stream != "stdout" {
				t.Fatalf("finding %d: %+v, want offset %d", i, f, offsets[i])
			}
		}
	}
}

// Where spans overlap the higher priority is applied, even when it starts
// after the point the lower one would have been passed on.
func TestStreamOverlap(t *testing.T) {
	in := strings.Repeat("a", chunk) + "XXXXSECRETPART" + strings.Repeat("b", chunk)
	low := literal{"XXXXSECRET", "<low>", PriorityTerminal}
	high := literal{"SECRETPART", "<high>", PrioritySecret}
	got, fs := run(t, StreamOptions{Detectors: []Detector{low, high}}, []byte(in), func() int { return 1000 })
	if strings.Contains(got, "SECRET") || strings.Contains(got, "PART") || !strings.Contains(got, "XXXX<high>") {
		t.Fatalf("overlap: %q", got[chunk-5:chunk+20])
	}
	if len(fs) != 2 || fs[0].Action != ActionFlagged || fs[1].Action != ActionRedacted {
		t.Fatalf("findings %+v", fs)
	}
}

// reportOnly reports every occurrence of a word and changes nothing.
type reportOnly struct{ word string }

func (r reportOnly) Window() int { return len(r.word) }

func (r reportOnly) Scan(dst []Match, buf []byte, from int, final bool) []Match {
	for i := from; ; {
		j := bytes.Index(buf[i:], []byte(r.word))
		if j < 0 {
			return dst
		}
		dst = append(dst, Match{Start: i + j, End: i + j + len(r.word), Priority: PriorityInjection,
			Finding: &Finding{Kind: KindInjection, Rule: r.word, Severity: SeverityMedium}})
		i += j + 1
	}
}

// A span that is only reported does not stop a lower-priority edit of
// the bytes around it.
func TestStreamReportOnlyOverlap(t *testing.T) {
	in := "before ESC-TOKEN-END after"
	edit := literal{"ESC-TOKEN-END", "<edited>", PriorityTerminal}
	got, fs := run(t, StreamOptions{Detectors: []Detector{edit, reportOnly{"TOKEN"}}}, []byte(in), func() int { return 3 })
	if got != "before <edited> after" {
		t.Fatalf("edit lost under a report-only span: %q", got)
	}
	if len(fs) != 2 {
		t.Fatalf("findings %+v", fs)
	}
}

// Output that repeats one finding without end keeps a bounded list: the
// first maxFindingsPerRule, then one finding that counts the rest.
func TestStreamFindingsBounded(t *testing.T) {
	in := strings.Repeat("tok ", 50000)
	_, fs := run(t, StreamOptions{Detectors: []Detector{reportOnly{"tok"}}}, []byte(in), func() int { return 1 << 16 })
	if len(fs) != maxFindingsPerRule+1 {
		t.Fatalf("%d findings, want %d", len(fs), maxFindingsPerRule+1)
	}
	last := fs[len(fs)-1]
	if !strings.HasPrefix(last.Message, "49000 more findings") || last.Offset != 4*maxFindingsPerRule {
		t.Fatalf("summary finding %+v", last)
	}
}

func TestStreamLimit(t *testing.T) {
	var in strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&in, "line %05d\n", i)
	}
	got, fs := run(t, StreamOptions{Limit: 1000}, []byte(in.String()), func() int { return 333 })
	if !strings.HasPrefix(got, "line 00000\n") || !strings.HasSuffix(got, "line 09999\n") {
		t.Fatalf("head or tail lost: %q", got)
	}
	if !strings.Contains(got, "bytes cut here") || len(got) > 1100 {
		t.Fatalf("cut output: %d bytes: %q", len(got), got)
	}
	if len(fs) != 1 || fs[0].Kind != KindTruncated || fs[0].Offset != 500 {
		t.Fatalf("findings %+v", fs)
	}
	// Under the limit nothing changes.
	got, fs = run(t, StreamOptions{Limit: int64(in.Len())}, []byte(in.String()), func() int { return 333 })
	if got != in.String() || len(fs) != 0 {
		t.Fatalf("output at the limit changed: %d findings", len(fs))
	}
}

func TestStreamBinary(t *testing.T) {
	in := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0, 1, 2, 3}, 5000)...)
	got, fs := run(t, StreamOptions{Name: "stdout"}, in, func() int { return 4096 })
	if !strings.HasPrefix(got, "[cordon: binary output not shown: 20008 bytes") {
		t.Fatalf("binary: %q", got)
	}
	if len(fs) != 1 || fs[0].Kind != KindBinary {
		t.Fatalf("findings %+v", fs)
	}
}

// An idle stream passes on complete lines, so that progress shows.
func TestStreamIdle(t *testing.T) {
	r, w := newPipe()
	s := NewStream(w, StreamOptions{Idle: 20 * time.Millisecond, Detectors: []Detector{literal{"SECRET", "[R]", PrioritySecret}}})
	s.Write([]byte("first line SECRET\nsecond, no newl"))
	select {
	case got := <-r:
		if got != "first line [R]\n" {
			t.Fatalf("idle flush: %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing passed on while idle")
	}
	s.Write([]byte("ine\n"))
	s.Close()
	if got := <-r; got != "second, no newline\n" {
		t.Fatalf("rest: %q", got)
	}
}

type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) { c <- string(p); return len(p), nil }

func newPipe() (<-chan string, chanWriter) {
	c := make(chanWriter, 16)
	return c, c
}
