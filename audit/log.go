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
	// SyncBehind starts the fsync of each record when Append has written
	// it, and returns without waiting for it: the caller goes on (hands
	// the command's result over) while the disk catches up. Flush waits
	// for every record appended so far, and Close flushes. A failed
	// fsync is returned by the next Append, Flush or Close, and sticks.
	// With a SigningKey it is SyncEvery: the head must not reach the
	// disk before the line it names.
	SyncBehind
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

	// SyncBehind: appends counts the records written, synced those known
	// to be on disk; a goroutine (syncer) fsyncs while synced < appends.
	smu      sync.Mutex
	cond     *sync.Cond
	appends  uint64
	synced   uint64
	syncErr  error
	stopSync bool
	syncDone chan struct{}
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
	if opts.Sync != SyncEvery && opts.Sync != SyncNone && opts.Sync != SyncBehind {
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
	if opts.Sync == SyncBehind && opts.SigningKey != nil {
		opts.Sync = SyncEvery
	}
	if errors.Is(statErr, os.ErrNotExist) && opts.Sync != SyncNone {
		// The new file's name must survive a crash as well as its records.
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	l := &Log{path: path, opts: opts, f: f}
	if opts.Sync == SyncBehind {
		l.cond = sync.NewCond(&l.smu)
		l.syncDone = make(chan struct{})
		go l.syncer(f)
	}
	return l, nil
}

// fsync is (*os.File).Sync; tests replace it to hold or fail the fsync.
var fsync = (*os.File).Sync

// syncer fsyncs the log whenever records were appended since its last
// fsync; one fsync covers every record written before it started.
func (l *Log) syncer(f *os.File) {
	defer close(l.syncDone)
	l.smu.Lock()
	defer l.smu.Unlock()
	for {
		for l.synced == l.appends && !l.stopSync {
			l.cond.Wait()
		}
		if l.synced == l.appends {
			return
		}
		target := l.appends
		l.smu.Unlock()
		err := fsync(f)
		l.smu.Lock()
		if err != nil && l.syncErr == nil {
			l.syncErr = fmt.Errorf("sync %s: %w", l.path, err)
		}
		l.synced = target
		l.cond.Broadcast()
	}
}

// Flush waits until every record appended so far is on disk, and returns
// the error of a failed fsync. It returns at once for SyncEvery (Append
// has waited) and SyncNone (nothing is waited for).
func (l *Log) Flush() error {
	if l.cond == nil {
		return nil
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	want := l.appends
	for l.synced < want && l.syncErr == nil {
		l.cond.Wait()
	}
	return l.syncErr
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
	if l.cond != nil {
		l.smu.Lock()
		err := l.syncErr
		l.smu.Unlock()
		if err != nil {
			return err
		}
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
	switch l.opts.Sync {
	case SyncEvery:
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", l.path, err)
		}
	case SyncBehind:
		l.smu.Lock()
		l.appends++
		l.cond.Signal()
		l.smu.Unlock()
	}
	if l.opts.SigningKey != nil {
		h := lineHash(line[:len(line)-1])
		if err := writeHead(l.path, l.opts.SigningKey, r.Seq, h, r.Time, l.opts.Sync == SyncEvery); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the log, once every record appended is on disk (for
// SyncBehind), and returns the error of a failed fsync or of closing.
// Appends after Close fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var err error
	if l.cond != nil {
		l.smu.Lock()
		l.stopSync = true
		l.cond.Broadcast()
		l.smu.Unlock()
		<-l.syncDone
		err = l.syncErr
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
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
