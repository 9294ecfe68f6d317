package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Sync says when a Log forces records to stable storage.
type Sync int

const (
	// SyncEvery calls fsync after every record, before Append returns:
	// a record Append accepted survives a crash of the machine. It is
	// the default.
	SyncEvery Sync = iota
	// SyncNone leaves writing back to the kernel. A record survives the
	// death of the process that wrote it, not a crash of the machine.
	SyncNone
)

// Options configure a Log.
type Options struct {
	// Sync says when records reach the disk; the zero value is SyncEvery.
	Sync Sync
	// SigningKey, when set, has every Append refresh the signed head
	// beside the log (see Head). Every writer of a signed log must sign,
	// or its records show as unsigned.
	SigningKey ed25519.PrivateKey
}

// Log is an audit log open for appending. Its methods may be called from
// several goroutines, and several processes may append to one file.
type Log struct {
	path string
	opts Options

	mu sync.Mutex // serialises this Log's appends; the flock serialises processes
	f  *os.File
}

// DefaultPath returns the per-user log, $XDG_STATE_HOME/cordon/audit.jsonl,
// or ~/.local/state/cordon/audit.jsonl when XDG_STATE_HOME is unset or
// not absolute, as the XDG base directory specification asks.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "cordon", "audit.jsonl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("audit log location: %w", err)
	}
	return filepath.Join(home, ".local", "state", "cordon", "audit.jsonl"), nil
}

// Open opens the log at path for appending, creating it (0600) and its
// directory (0700) when missing.
func Open(path string, opts Options) (*Log, error) {
	if opts.Sync != SyncEvery && opts.Sync != SyncNone {
		return nil, fmt.Errorf("audit: unknown sync mode %d", opts.Sync)
	}
	if opts.SigningKey != nil && len(opts.SigningKey) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("audit: signing key has %d bytes, want %d", len(opts.SigningKey), ed25519.PrivateKeySize)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	_, statErr := os.Stat(path)
	// O_APPEND makes every write land at the end as the kernel sees it,
	// whatever another process wrote since; the flock in Append keeps the
	// line we chained from the last one.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) && opts.Sync == SyncEvery {
		// The new file's name must survive a crash as well as its records.
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &Log{path: path, opts: opts, f: f}, nil
}

// Path returns the file the log writes.
func (l *Log) Path() string { return l.path }

// Append writes r as the log's next record. It sets r.Seq, r.Time and
// r.Prev from the log's current end, under an exclusive lock, so records
// from concurrent writers form one chain. It refuses to chain onto a torn
// last line (*TornTailError) or onto a last line that is not a record.
func (l *Log) Append(r *Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("audit log %s: closed", l.path)
	}
	if err := flock(l.f, lockEx); err != nil {
		return err
	}
	defer funlock(l.f)

	// Everything from here to the write runs under the lock: the end we
	// chain onto is still the end when the line lands.
	size, last, err := tail(l.f)
	if err != nil {
		return err
	}
	r.Seq, r.Prev = 1, ""
	if last != nil {
		seq, ok := lastSeq(last)
		if !ok {
			return fmt.Errorf("%s: last line (offset %d) is not a record; run 'cordon audit verify'", l.path, size-int64(len(last))-1)
		}
		r.Seq = seq + 1
		r.Prev = lineHash(last)
	}
	r.Time = time.Now().UTC()
	line, err := encode(r)
	if err != nil {
		return err
	}
	// One write(2) of the whole line. os.File.Write would retry a short
	// write; a failed one (a full disk) would leave a torn line, so it
	// is cut off again while the lock is still held.
	if _, err := l.f.Write(line); err != nil {
		if terr := l.f.Truncate(size); terr != nil {
			return fmt.Errorf("append to %s: %w (and removing the partial line: %v)", l.path, err, terr)
		}
		return fmt.Errorf("append to %s: %w", l.path, err)
	}
	if l.opts.Sync == SyncEvery {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", l.path, err)
		}
	}
	if l.opts.SigningKey != nil {
		h := lineHash(line[:len(line)-1])
		if err := writeHead(l.path, l.opts.SigningKey, r.Seq, h, r.Time, l.opts.Sync == SyncEvery); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the log. Appends after Close fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Repair removes a torn last line from the log at path and reports how
// many bytes it removed; 0 means the log ended cleanly. Only the bytes
// after the last newline go: every complete record stays.
func Repair(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("repair audit log: %w", err)
	}
	defer f.Close()
	if err := flock(f, lockEx); err != nil {
		return 0, err
	}
	defer funlock(f)
	_, _, err = tail(f)
	var torn *TornTailError
	if !errors.As(err, &torn) {
		return 0, err
	}
	if err := f.Truncate(torn.Offset); err != nil {
		return 0, fmt.Errorf("repair %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("repair %s: %w", path, err)
	}
	return torn.Bytes, nil
}

// lastSeq returns the seq of the log's last line. Lines Append wrote
// start with {"seq":N, and are read without decoding the rest, which
// Verify checks; anything else is decoded in full.
func lastSeq(line []byte) (uint64, bool) {
	const prefix = `{"seq":`
	if rest, ok := bytes.CutPrefix(line, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, ','); i > 0 && bytes.HasSuffix(line, []byte("}")) {
			if n, err := strconv.ParseUint(string(rest[:i]), 10, 64); err == nil && n > 0 {
				return n, true
			}
		}
	}
	var r struct {
		Seq *uint64 `json:"seq"`
	}
	if err := json.Unmarshal(line, &r); err != nil || r.Seq == nil || *r.Seq == 0 {
		return 0, false
	}
	return *r.Seq, true
}

// lineHash is the hex SHA-256 of a line without its newline: what the
// next record's Prev holds.
func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
