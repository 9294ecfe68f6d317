package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// PublicKey, when set, must have signed the log's head, and the head
	// must name the log's last record. Without it the head, if any, is
	// compared with the chain but its signature is not trusted.
	PublicKey ed25519.PublicKey
}

// Kind is what is wrong at a place in the log.
type Kind string

const (
	// KindMalformed: the line is not a record (not JSON, no seq or prev,
	// or not in the compact form Append writes).
	KindMalformed Kind = "malformed"
	// KindSeq: the seq does not follow the previous record's: records
	// were removed, repeated or reordered.
	KindSeq Kind = "seq"
	// KindChain: prev is not the hash of the line before: that line was
	// edited, or lines were inserted, removed or reordered here.
	KindChain Kind = "chain"
	// KindHead: the signed head is missing, badly signed, or does not
	// name the log's last record.
	KindHead Kind = "head"
)

// Problem is one thing wrong in a log, and where.
type Problem struct {
	Line   int    // 1-based line number; 0 for the head
	Offset int64  // byte offset of the line
	Seq    uint64 // the line's seq, 0 when it has none
	Kind   Kind
	Detail string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("head: %s", p.Detail)
	}
	if p.Seq == 0 {
		return fmt.Sprintf("line %d (offset %d): %s: %s", p.Line, p.Offset, p.Kind, p.Detail)
	}
	return fmt.Sprintf("line %d (seq %d): %s: %s", p.Line, p.Seq, p.Kind, p.Detail)
}

// Report is what Verify found.
type Report struct {
	Path string
	// Records counts the complete lines; FirstSeq and LastSeq are the
	// seqs of the first and last of them, and LastHash the hash of the
	// last line.
	Records           int
	FirstSeq, LastSeq uint64
	LastHash          string
	// Problems lists what is wrong, in file order; the head's last.
	Problems []Problem
	// Torn is a torn last line, set apart from Problems: it is what a
	// crash mid-write leaves, and Repair removes it.
	Torn *TornTailError
	// Head is the log's head when it has one; Signed reports that its
	// signature was checked with VerifyOptions.PublicKey and is good.
	Head   *Head
	Signed bool
}

// OK reports whether the log verified with nothing wrong and no torn line.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Torn == nil }

// Verify reads the log at path and checks every line: that it is a
// record, that its seq follows the one before, and that its prev is the
// hash of the line before; then the head. The error is for a log that
// cannot be read at all; what is wrong inside it is in the Report.
//
// Verify sees the log as it was when it started: records appended while
// it reads are left for the next run.
func Verify(path string, opts VerifyOptions) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	defer f.Close()
	// The shared lock is held only while the end and the head are taken,
	// so they agree, and a long verification does not hold up writers.
	if err := flock(f, lockSh); err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	var head *Head
	var headErr error
	if err == nil {
		head, headErr = ReadHead(path)
	}
	funlock(f)
	if err != nil {
		return nil, err
	}
	rep := &Report{Path: path}
	var want uint64 // the seq the head names, whose line's hash it holds
	if head != nil {
		want = head.Seq
	}
	atHead, err := rep.chain(io.LimitReader(f, fi.Size()), want)
	if err != nil {
		return nil, err
	}
	rep.checkHead(head, headErr, atHead, opts.PublicKey)
	return rep, nil
}

// chain checks every line read from r. It returns the hash of the last
// line whose seq is want.
func (rep *Report) chain(r io.Reader, want uint64) (wantHash string, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		off      int64
		prevHash string // "" is the prev of the first record
		prevSeq  uint64
		seqKnown bool // the previous line had a seq to follow
	)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			rep.Torn = &TornTailError{Path: rep.Path, Offset: off, Bytes: int64(len(line))}
			return wantHash, nil
		}
		if err == io.EOF {
			return wantHash, nil
		}
		if err != nil {
			return "", fmt.Errorf("verify %s: line %d: %w", rep.Path, n, err)
		}
		line = line[:len(line)-1]
		h := lineHash(line)
		seq, prev, perr := parseLine(line)
		add := func(k Kind, format string, a ...any) {
			rep.Problems = append(rep.Problems, Problem{Line: n, Offset: off, Seq: seq, Kind: k, Detail: fmt.Sprintf(format, a...)})
		}
		switch {
		case perr != nil:
			add(KindMalformed, "%v", perr)
		case n == 1:
			if seq != 1 {
				add(KindSeq, "the first record has seq %d, not 1: records before it were removed", seq)
			}
			if prev != "" {
				add(KindChain, "the first record has a prev (%.12s…): records before it were removed", prev)
			}
		default:
			if seqKnown && seq != prevSeq+1 {
				switch {
				case seq > prevSeq+1:
					add(KindSeq, "seq %d follows seq %d: records %d to %d are missing", seq, prevSeq, prevSeq+1, seq-1)
				default:
					add(KindSeq, "seq %d follows seq %d: a record is repeated or out of order", seq, prevSeq)
				}
			}
			if prev != prevHash {
				add(KindChain, "prev does not match the hash of line %d: that line was edited, or lines were inserted, removed or reordered here", n-1)
			}
		}
		if perr == nil {
			if rep.Records == 0 {
				rep.FirstSeq = seq
			}
			rep.LastSeq = seq
			if seq == want {
				wantHash = h
			}
		}
		rep.Records++
		rep.LastHash = h
		prevHash, prevSeq, seqKnown = h, seq, perr == nil
		off += int64(len(line)) + 1
	}
}

// parseLine returns a line's seq and prev. A line must be one compact
// JSON object, as Append writes it: whitespace added anywhere is itself
// an edit, caught here even on the last line, which no later prev covers.
func parseLine(line []byte) (seq uint64, prev string, err error) {
	var c bytes.Buffer
	if err := json.Compact(&c, line); err != nil {
		return 0, "", fmt.Errorf("not JSON: %v", err)
	}
	var r struct {
		Seq  *uint64 `json:"seq"`
		Prev *string `json:"prev"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return 0, "", fmt.Errorf("not a record: %v", err)
	}
	if r.Seq == nil || r.Prev == nil {
		return 0, "", errors.New("not a record: no seq or no prev")
	}
	if *r.Seq == 0 {
		return 0, "", errors.New("seq 0: seqs start at 1")
	}
	if !bytes.Equal(c.Bytes(), line) {
		return *r.Seq, *r.Prev, errors.New("whitespace added: records are written as compact JSON")
	}
	return *r.Seq, *r.Prev, nil
}

// checkHead compares the head with the end of the chain.
// atHead is the hash of the record the head names, "" when there is none.
func (rep *Report) checkHead(h *Head, err error, atHead string, key ed25519.PublicKey) {
	add := func(format string, a ...any) {
		rep.Problems = append(rep.Problems, Problem{Kind: KindHead, Detail: fmt.Sprintf(format, a...)})
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			add("%v", err)
		} else if key != nil {
			add("%s is missing: without it, records removed from the end cannot be detected", HeadPath(rep.Path))
		}
		return
	}
	rep.Head = h
	if key != nil {
		if !h.Check(key) {
			add("the signature of %s is not good for the given public key", HeadPath(rep.Path))
			return
		}
		rep.Signed = true
	}
	switch {
	case h.Seq > rep.LastSeq:
		add("the head names seq %d, but the log ends at seq %d: records were removed from the end", h.Seq, rep.LastSeq)
	case h.Hash != atHead:
		add("the head's hash does not match record seq %d: it was edited or replaced", h.Seq)
	case h.Seq < rep.LastSeq && key != nil:
		add("records %d to %d follow the signed head: they were appended without the signing key", h.Seq+1, rep.LastSeq)
	}
}
