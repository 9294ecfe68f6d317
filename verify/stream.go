package verify

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Match is a span a detector found in the window it was given, and what
// to do with it.
type Match struct {
	// Start and End delimit the span in the window passed to Scan.
	Start, End int
	// Replace is what the span becomes in the output; nil leaves it as
	// it is (a finding that is only reported).
	Replace []byte
	// Priority decides between overlapping spans: the higher is applied,
	// the lower only reported. Secrets outrank everything.
	Priority int
	// Finding is what to report; nil for a silent edit such as dropping
	// a colour code. The Stream fills in Stream, Offset and Length.
	Finding *Finding
}

// Priorities of the detectors in this package.
const (
	PriorityTerminal  = 10
	PriorityInjection = 20
	PrioritySecret    = 30
)

// Detector finds spans in a stream, a window at a time.
type Detector interface {
	// Window is the longest span the detector can match. The Stream
	// holds back that many bytes, so that a span split across writes
	// is seen whole in a later window.
	Window() int
	// Scan appends to dst the spans that start in buf[from:]. buf[:from]
	// is context that was already passed on (the bytes before, for
	// look-behind); final says that no more input follows.
	Scan(dst []Match, buf []byte, from int, final bool) []Match
}

// Pender is implemented by a detector whose spans can run across lines
// (a private key block). Pending returns the offset in buf of the
// earliest span that may still be open at the end of buf, or len(buf).
// An idle Stream passes on complete lines up to that offset only.
type Pender interface {
	Pending(buf []byte) int
}

// StreamOptions configure a Stream.
type StreamOptions struct {
	// Name is the stream's name in findings: "stdout" or "stderr".
	Name string
	// Detectors run on the raw bytes; their edits are applied in order
	// of priority where they overlap.
	Detectors []Detector
	// Neutralize, when set, is applied to the edited output before it
	// is written: the last line of terminal safety, whatever the
	// detectors missed. It is called with whole UTF-8 sequences.
	Neutralize func(dst, src []byte) []byte
	// Limit bounds what is written: past it the output is cut, keeping
	// its first and last Limit/2 bytes and saying how much was dropped.
	// Zero means no limit.
	Limit int64
	// Idle, when positive, passes complete lines on after that long
	// without a write, so that a person watching sees progress. Zero
	// passes bytes on only as the hold-back fills and at Close.
	Idle time.Duration
}

// Stream checks one output stream on its way to a writer. It is safe
// for concurrent use; Write and Close may be called from different
// goroutines.
type Stream struct {
	mu   sync.Mutex
	opts StreamOptions
	out  *bounded
	hold int // bytes held back for spans split across writes
	ctx  int // bytes of context kept before the window

	buf    []byte
	from   int   // buf[:from] is context already passed on
	base   int64 // stream offset of buf[0]
	sniffd bool  // the binary sniff is done
	binary *binarySummary

	matches  []Match
	edits    []Match
	taken    [][2]int // spans claimed by edits, sorted and disjoint
	edited   []byte
	neut     []byte
	findings []Finding
	perRule  map[ruleKey]*ruleCount
	closed   bool
	err      error
	timer    *time.Timer
}

// chunk is how many new bytes a Stream gathers before it scans: large
// enough that the hold-back scanned twice costs little.
const chunk = 64 << 10

// sniffLen is how much output decides whether it is text, as git and
// grep decide it.
const sniffLen = 8000

// NewStream returns a Stream writing the checked output to dst.
func NewStream(dst io.Writer, opts StreamOptions) *Stream {
	s := &Stream{opts: opts, out: &bounded{w: dst, limit: opts.Limit}, ctx: 256}
	for _, d := range opts.Detectors {
		s.hold = max(s.hold, d.Window())
	}
	return s
}

// Write checks p and passes on what can be passed on. It reports the
// first error of the writer underneath, and after that accepts and
// drops everything, so that a command never blocks on a reader that
// went away.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	s.buf = append(s.buf, p...)
	if len(s.buf)-s.from >= max(chunk, 2*s.hold) {
		s.process(len(s.buf)-s.hold, false)
	}
	if s.opts.Idle > 0 {
		if s.timer == nil {
			s.timer = time.AfterFunc(s.opts.Idle, s.idle)
		} else {
			s.timer.Reset(s.opts.Idle)
		}
	}
	return len(p), nil
}

// idle passes on the complete lines gathered so far, short of a span a
// detector says may still be open.
func (s *Stream) idle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	commit := bytes.LastIndexByte(s.buf[s.from:], '\n')
	if commit < 0 {
		return
	}
	commit += s.from + 1
	for _, d := range s.opts.Detectors {
		if p, ok := d.(Pender); ok {
			commit = min(commit, p.Pending(s.buf[:commit]))
		}
	}
	if commit > s.from {
		s.process(commit, false)
	}
}

// Close checks and passes on the rest, then writes the summary of what
// was cut or withheld. It does not close the writer underneath.
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.process(len(s.buf), true)
	s.closed = true
	if s.binary != nil {
		s.write([]byte(s.binary.String()))
		s.findings = append(s.findings, Finding{Kind: KindBinary, Rule: "binary-output",
			Severity: SeverityInfo, Stream: s.opts.Name, Length: s.binary.n, Action: ActionWithheld,
			Message: "binary output (" + s.binary.kind + ") replaced by a summary"})
	}
	s.finish()
	s.summarize()
	return s.err
}

// Findings returns what was found so far, in stream order.
func (s *Stream) Findings() []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.findings)
}

// Bytes returns how many bytes came in, and how many went out.
func (s *Stream) Bytes() (in, out int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base + int64(len(s.buf)), s.out.written
}

// process scans the window and passes on buf[from:commit], edited. With
// final, commit is the end of the input.
func (s *Stream) process(commit int, final bool) {
	if commit <= s.from && !final {
		return
	}
	if !s.sniffd && (final || len(s.buf) >= sniffLen) {
		s.sniffd = true
		if isBinary(s.buf[:min(len(s.buf), sniffLen)]) {
			s.binary = newBinarySummary(s.buf)
		}
	}
	s.matches = s.matches[:0]
	for _, d := range s.opts.Detectors {
		s.matches = d.Scan(s.matches, s.buf, s.from, final)
	}
	// The highest priority wins an overlap, then the earliest, then the
	// longest. Spans starting past commit are found again next time,
	// but they still win over a lower span before commit that they
	// overlap, so that no part of a secret is let through early.
	slices.SortStableFunc(s.matches, func(a, b Match) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return b.End - a.End
	})
	taken := s.taken[:0]
	edits := s.edits[:0]
	for _, m := range s.matches {
		if m.Start < s.from || m.End > len(s.buf) || m.End < m.Start {
			continue
		}
		// taken is sorted and its spans are disjoint, so the first span
		// that ends after m starts is the only one to look at: any
		// later one that overlaps m means this one does too. A loop
		// over all of taken made coloured output (a match every few
		// bytes) quadratic.
		k, _ := slices.BinarySearchFunc(taken, m.Start, func(t [2]int, start int) int {
			if t[1] <= start {
				return -1
			}
			return 1
		})
		overlaps := k < len(taken) && taken[k][0] < m.End && m.Start < taken[k][1] ||
			k < len(taken) && m.Start == m.End && taken[k][0] < m.Start
		claim := func() { taken = slices.Insert(taken, k, [2]int{m.Start, m.End}) }
		// Only a span that changes the output claims its bytes: one
		// that is only reported must not stop a weaker edit of the
		// same bytes (an escape sequence around a flagged token).
		if m.Start >= commit {
			if !overlaps && m.Replace != nil {
				claim()
			}
			continue
		}
		if overlaps {
			// Reported, but a stronger edit covers it.
			m.Replace = nil
		} else if m.Replace != nil {
			claim()
		}
		edits = append(edits, m)
	}
	s.taken, s.edits = taken, edits
	slices.SortStableFunc(edits, func(a, b Match) int { return a.Start - b.Start })
	end := commit
	for _, m := range edits {
		if m.Replace != nil {
			end = max(end, m.End)
		}
	}
	if !final && end == commit {
		// Never cut a UTF-8 sequence in two.
		for i := 0; i < 3 && end > s.from && end < len(s.buf) && !utf8.RuneStart(s.buf[end]); i++ {
			end--
		}
	}
	s.edited = s.edited[:0]
	pos := s.from
	for _, m := range edits {
		if m.Finding != nil {
			f := *m.Finding
			f.Stream = s.opts.Name
			f.Offset = s.base + int64(m.Start)
			f.Length = int64(m.End - m.Start)
			if f.Action == "" {
				f.Action = ActionFlagged
				if m.Replace != nil {
					f.Action = ActionEscaped
				}
			}
			if m.Replace == nil && f.Action != ActionFlagged {
				f.Action = ActionFlagged
			}
			s.report(f)
		}
		if m.Replace == nil {
			continue
		}
		s.edited = append(s.edited, s.buf[pos:m.Start]...)
		s.edited = append(s.edited, m.Replace...)
		pos = m.End
	}
	s.edited = append(s.edited, s.buf[pos:end]...)
	if s.binary != nil {
		s.binary.add(s.buf[s.from:end])
	} else {
		s.write(s.edited)
	}
	// Keep some context before the next window, and the held-back rest.
	keep := max(0, end-s.ctx)
	s.base += int64(keep)
	s.buf = s.buf[:copy(s.buf, s.buf[keep:])]
	s.from = end - keep
}

// maxFindingsPerRule bounds the findings a Stream keeps for one rule,
// so that output that repeats one thing a million times (a progress bar
// redrawn with escape sequences) cannot grow the list without end.
const maxFindingsPerRule = 1000

// report adds a finding, or counts it once its rule has
// maxFindingsPerRule of them.
func (s *Stream) report(f Finding) {
	k := ruleKey{f.Kind, f.Rule}
	if s.perRule == nil {
		s.perRule = map[ruleKey]*ruleCount{}
	}
	c := s.perRule[k]
	if c == nil {
		c = &ruleCount{}
		s.perRule[k] = c
	}
	c.n++
	if c.n <= maxFindingsPerRule {
		s.findings = append(s.findings, f)
		return
	}
	if c.n == maxFindingsPerRule+1 {
		c.first = f
	}
	c.first.Severity = maxSeverity(c.first.Severity, f.Severity)
}

type ruleKey struct {
	kind Kind
	rule string
}

type ruleCount struct {
	n     int
	first Finding // the first finding not listed
}

func maxSeverity(a, b Severity) Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}

// summarize adds, for each rule past maxFindingsPerRule, one finding
// that says how many more there were.
func (s *Stream) summarize() {
	var more []Finding
	for _, c := range s.perRule {
		if c.n <= maxFindingsPerRule {
			continue
		}
		f := c.first
		f.Length = 0
		f.Message = fmt.Sprintf("%d more findings of this rule not listed, the first at offset %d", c.n-maxFindingsPerRule, f.Offset)
		more = append(more, f)
	}
	slices.SortFunc(more, func(a, b Finding) int { return cmp.Compare(a.Offset, b.Offset) })
	s.findings = append(s.findings, more...)
}

func (s *Stream) write(b []byte) {
	if s.opts.Neutralize != nil {
		s.neut = s.opts.Neutralize(s.neut[:0], b)
		b = s.neut
	}
	if err := s.out.Write(b); err != nil && s.err == nil {
		s.err = err
	}
}

// finish writes the tail the limit kept and says what was cut.
func (s *Stream) finish() {
	if f := s.out.finish(); f != nil {
		f.Stream = s.opts.Name
		s.findings = append(s.findings, *f)
	}
	if err := s.out.err; err != nil && s.err == nil {
		s.err = err
	}
}
