package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"unicode/utf8"
)

// bounded passes on the first limit/2 bytes as they come, keeps the last
// limit/2 in a ring, and at finish writes a marker with what was dropped
// and then the tail. The tail starts on a line boundary when one is near,
// and never inside a UTF-8 sequence.
type bounded struct {
	w       io.Writer
	limit   int64
	seen    int64 // bytes given to Write
	written int64 // bytes passed to w
	ring    []byte
	next    int // where the next byte goes in ring, once it is full
	err     error
}

func (b *bounded) Write(p []byte) error {
	if b.limit <= 0 {
		b.seen += int64(len(p))
		return b.pass(p)
	}
	head := b.limit - b.limit/2
	if b.seen < head {
		n := min(int64(len(p)), head-b.seen)
		b.seen += n
		if err := b.pass(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	if len(p) == 0 {
		return b.err
	}
	b.seen += int64(len(p))
	size := int(b.limit / 2)
	if size == 0 {
		return b.err
	}
	if len(p) >= size {
		b.ring = append(b.ring[:0], p[len(p)-size:]...)
		b.next = 0
		return b.err
	}
	if len(b.ring) < size {
		room := size - len(b.ring)
		if len(p) <= room {
			b.ring = append(b.ring, p...)
			return b.err
		}
		b.ring = append(b.ring, p[:room]...)
		p = p[room:]
	}
	for len(p) > 0 {
		n := copy(b.ring[b.next:], p)
		p = p[n:]
		b.next = (b.next + n) % size
	}
	return b.err
}

func (b *bounded) pass(p []byte) error {
	if b.err != nil || len(p) == 0 {
		return b.err
	}
	n, err := b.w.Write(p)
	b.written += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	b.err = err
	return err
}

// finish writes what the ring kept, after a marker when bytes were
// dropped, and returns the finding for the cut.
func (b *bounded) finish() *Finding {
	if b.limit <= 0 || b.seen <= b.limit {
		tail := append(b.ring[b.next:len(b.ring):len(b.ring)], b.ring[:b.next]...)
		b.pass(tail)
		return nil
	}
	tail := append(b.ring[b.next:len(b.ring):len(b.ring)], b.ring[:b.next]...)
	// Start the tail at a line, if one starts in its first quarter, and
	// at a character in any case.
	skip := 0
	if i := bytes.IndexByte(tail[:len(tail)/4], '\n'); i >= 0 {
		skip = i + 1
	}
	for skip < len(tail) && skip < 4 && !utf8.RuneStart(tail[skip]) {
		skip++
	}
	tail = tail[skip:]
	head := b.limit - b.limit/2
	dropped := b.seen - head - int64(len(tail))
	b.pass(fmt.Appendf(nil, "\n[cordon: %d bytes cut here; output limit %d bytes]\n", dropped, b.limit))
	b.pass(tail)
	return &Finding{Kind: KindTruncated, Rule: "output-limit", Severity: SeverityInfo,
		Offset: head, Length: dropped, Action: ActionCut,
		Message: fmt.Sprintf("%d of %d bytes cut at the output limit", dropped, b.seen)}
}

// isBinary reports whether the start of an output is not text: it holds
// a NUL byte, or most of it is not UTF-8.
func isBinary(p []byte) bool {
	if bytes.IndexByte(p, 0) >= 0 {
		return true
	}
	bad := 0
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		if r == utf8.RuneError && n == 1 && len(p) >= utf8.UTFMax {
			bad++
		}
		p = p[n:]
	}
	return bad > 32
}

// binarySummary stands in for binary output: its size, hash and type.
type binarySummary struct {
	kind string
	n    int64
	h    hash.Hash
}

func newBinarySummary(start []byte) *binarySummary {
	return &binarySummary{kind: http.DetectContentType(start), h: sha256.New()}
}

func (b *binarySummary) add(p []byte) {
	b.n += int64(len(p))
	b.h.Write(p)
}

func (b *binarySummary) String() string {
	return fmt.Sprintf("[cordon: binary output not shown: %d bytes, %s, sha256 %s]\n",
		b.n, b.kind, hex.EncodeToString(b.h.Sum(nil)))
}
