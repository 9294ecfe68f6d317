package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"

	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox"
)

// SetDecision records the policy's decision on the command and a summary
// of the shell analysis behind it.
func (r *Record) SetDecision(d *policy.Decision) {
	if d == nil {
		return
	}
	r.Decision = &Decision{Verdict: d.Verdict.String(), Rule: d.Rule, Reason: d.Reason}
	a := &Analysis{Dynamic: d.Dynamic, Notes: d.Notes}
	for _, c := range d.Commands {
		a.Commands = append(a.Commands, AnalyzedCommand{
			Name: c.Name, Via: c.Via, CodeExec: c.CodeExec, Dynamic: c.Dynamic,
			Verdict: c.Verdict.String(), Rule: c.Rule,
		})
	}
	r.Analysis = a
}

// SetSpec records the sandbox the command is given. Only the names of
// environment variables are kept: their values may be secrets.
func (r *Record) SetSpec(s *sandbox.Spec) {
	if s == nil {
		return
	}
	fs := s.Filesystem
	l := s.Limits
	sb := &Sandbox{
		Workspace: fs.Workspace, Dir: s.Dir,
		ReadOnlyRoots: fs.ReadOnlyRoots, Writable: fs.Writable, Masked: fs.Masked, Protected: fs.Protected,
		Network: string(s.Network.Mode), RestrictTCP: s.Network.RestrictTCP,
		Limits: Limits{
			MemoryBytes: l.Memory, Processes: l.Processes,
			CPUTimeNS: int64(l.CPUTime), TimeoutNS: int64(l.Timeout),
			OutputBytes: l.OutputBytes, FileSizeBytes: l.FileSize, OpenFiles: l.OpenFiles,
			DiskBytes: l.Disk, DiskReserveBytes: l.DiskReserve,
		},
		NoCgroup: s.NoCgroup,
	}
	for _, p := range s.Require {
		sb.Require = append(sb.Require, string(p))
	}
	for _, kv := range s.Env {
		name, _, _ := strings.Cut(kv, "=")
		sb.Env = append(sb.Env, name)
	}
	r.Sandbox = sb
	if r.Workspace == "" {
		r.Workspace = fs.Workspace
	}
}

// SetResult records how the run ended, what it used and what the host
// enforced.
func (r *Record) SetResult(res *sandbox.Result) {
	if res == nil {
		return
	}
	r.Exit = &Exit{Code: res.ExitCode, Signal: res.Signal, Reason: string(res.Reason), Detail: res.Detail}
	r.Usage = &Usage{
		DurationNS: int64(res.Duration), CPUTimeNS: int64(res.CPUTime),
		MaxRSSBytes: res.MaxRSS, OutputBytes: res.OutputBytes,
	}
	enf := res.Enforced
	r.Enforced = &enf
	r.Warnings = append(r.Warnings, res.Warnings...)
}

// OutputDigest is an io.Writer that hashes and counts a stream, and keeps
// its first bytes when asked to. Put it beside the real destination with
// io.MultiWriter.
type OutputDigest struct {
	h    hash.Hash
	n    int64
	keep int64
	raw  []byte
}

// NewOutputDigest returns a digest that keeps up to keep bytes of the
// stream itself; 0 keeps none.
func NewOutputDigest(keep int64) *OutputDigest {
	return &OutputDigest{h: sha256.New(), keep: keep}
}

// Write hashes p. It never fails.
func (d *OutputDigest) Write(p []byte) (int, error) {
	d.h.Write(p)
	d.n += int64(len(p))
	if room := d.keep - int64(len(d.raw)); room > 0 {
		d.raw = append(d.raw, p[:min(int64(len(p)), room)]...)
	}
	return len(p), nil
}

// Output returns what was written so far, for Record.Stdout or Stderr.
func (d *OutputDigest) Output() *Output {
	o := &Output{SHA256: hex.EncodeToString(d.h.Sum(nil)), Bytes: d.n}
	if d.keep > 0 {
		o.Raw = append([]byte(nil), d.raw...)
		o.Truncated = d.n > int64(len(d.raw))
	}
	return o
}
