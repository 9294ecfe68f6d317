package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

const (
	lockEx = unix.LOCK_EX
	lockSh = unix.LOCK_SH
)

// flock takes how (unix.LOCK_EX or unix.LOCK_SH) on f, waiting for it.
// The lock belongs to the open file description, so two Logs on one file
// exclude each other even inside one process.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("lock %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}

func funlock(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// TornTailError reports a log whose last line has no newline: a writer
// died in the middle of a record, or the disk filled. Nothing is chained
// onto such a tail; Repair removes it.
type TornTailError struct {
	Path   string
	Offset int64 // where the torn line starts
	Bytes  int64 // its length
}

func (e *TornTailError) Error() string {
	return fmt.Sprintf("%s: torn last line at offset %d (%d bytes without a newline); run 'cordon audit repair' to remove it",
		e.Path, e.Offset, e.Bytes)
}

// lastNewline returns the offset of the last '\n' in f before offset end,
// or -1 when there is none. It reads backwards in growing chunks, so the
// cost is that of the last line, not of the file.
func lastNewline(f *os.File, end int64) (int64, error) {
	chunk := int64(4096)
	for end > 0 {
		n := min(chunk, end)
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, end-n); err != nil && err != io.EOF {
			return 0, fmt.Errorf("read %s: %w", f.Name(), err)
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			return end - n + int64(i), nil
		}
		end -= n
		chunk = min(chunk*2, 1<<20)
	}
	return -1, nil
}

// tail describes the end of the log: its size and its last complete line,
// without the newline (nil for an empty log). A torn last line is a
// *TornTailError. The caller must hold the file's lock, or the answer may
// be stale before it returns.
func tail(f *os.File) (size int64, last []byte, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	size = fi.Size()
	if size == 0 {
		return 0, nil, nil
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if b[0] != '\n' {
		nl, err := lastNewline(f, size)
		if err != nil {
			return 0, nil, err
		}
		return size, nil, &TornTailError{Path: f.Name(), Offset: nl + 1, Bytes: size - nl - 1}
	}
	nl, err := lastNewline(f, size-1)
	if err != nil {
		return 0, nil, err
	}
	last = make([]byte, size-1-(nl+1))
	if _, err := f.ReadAt(last, nl+1); err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return size, last, nil
}
