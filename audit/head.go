package audit

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Head is the signed statement of where a log ends, kept in PATH.head. A
// hash chain shows edits anywhere but cannot show that its last records
// were cut off; a head signed with a key the attacker cannot reach can.
type Head struct {
	// Seq and Hash name the log's last record: its seq and the SHA-256 of
	// its line.
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	// Time is that record's time.
	Time time.Time `json:"time"`
	// Key is the public key that signed, for the reader's information:
	// Verify trusts only the key it is given.
	Key ed25519.PublicKey `json:"key"`
	// Sig is the ed25519 signature of Message.
	Sig []byte `json:"sig"`
}

// HeadPath returns the file that holds the signed head of the log at path.
func HeadPath(path string) string { return path + ".head" }

// Message returns the bytes the head's signature covers. A domain string
// leads, so a signature made for anything else never passes for a head.
func (h *Head) Message() []byte {
	return []byte("cordon audit head v1\nseq " + strconv.FormatUint(h.Seq, 10) +
		"\nhash " + h.Hash + "\ntime " + h.Time.UTC().Format(time.RFC3339Nano) + "\n")
}

// Check reports whether the head's signature is good for key.
func (h *Head) Check(key ed25519.PublicKey) bool {
	return len(key) == ed25519.PublicKeySize && ed25519.Verify(key, h.Message(), h.Sig)
}

// ReadHead reads the head of the log at path. A missing head is an error
// satisfying errors.Is(err, fs.ErrNotExist).
func ReadHead(path string) (*Head, error) {
	b, err := os.ReadFile(HeadPath(path))
	if err != nil {
		return nil, err
	}
	h := new(Head)
	if err := json.Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("%s: %w", HeadPath(path), err)
	}
	return h, nil
}

// writeHead replaces the head of the log at path. The caller holds the
// log's exclusive lock, so heads are written in the order of the records
// they name. The new head is written to a temporary file and renamed over
// the old one: a reader sees either head whole, never a mix.
func writeHead(path string, key ed25519.PrivateKey, seq uint64, hash string, t time.Time, sync bool) error {
	h := &Head{Seq: seq, Hash: hash, Time: t, Key: key.Public().(ed25519.PublicKey)}
	h.Sig = ed25519.Sign(key, h.Message())
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	dst := HeadPath(path)
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp*")
	if err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write audit head %s: %w", dst, err)
	}
	if sync {
		return syncDir(filepath.Dir(dst))
	}
	return nil
}
