package audit

import (
	"path/filepath"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// benchRecord is a record of the size cordon exec writes: decision,
// sandbox, result and digests, no raw output (about 1.3 KB).
func benchRecord() *Record {
	r := &Record{
		Agent: "claude-code", Session: "s-1", Cwd: "/home/u/src/app", Workspace: "/home/u/src/app",
		Command:  "go test ./...",
		Analysis: &Analysis{Commands: []AnalyzedCommand{{Name: "go", Verdict: "allow", Rule: "go-test"}}},
		Decision: &Decision{Verdict: "allow", Rule: "go-test", Reason: "tests run in the workspace"},
		Sandbox: &Sandbox{
			Workspace: "/home/u/src/app", ReadOnlyRoots: []string{"/"}, Writable: []string{"/home/u/.cache/cordon/go-build"},
			Masked: []string{"/home/u/.ssh", "/home/u/.aws", "/home/u/.gnupg"}, Protected: []string{".git/hooks", ".git/config", ".cordon.yaml"},
			Network: "none", Limits: Limits{MemoryBytes: 4 << 30, Processes: 1024, TimeoutNS: 6e11},
			Env: []string{"PATH", "HOME", "LANG", "TERM"},
		},
		Enforced: &sandbox.Enforcement{Namespaces: []string{"user", "mnt", "pid", "ipc", "uts", "net", "cgroup"}, LandlockABI: 6, Seccomp: true, NoNewPrivs: true, Cgroup: "v1"},
		Exit:     &Exit{Code: 0, Reason: "exit"},
		Usage:    &Usage{DurationNS: 1.2e9, CPUTimeNS: 2.3e9, MaxRSSBytes: 180 << 20, OutputBytes: 4096},
		Stdout:   NewOutputDigest(0).Output(),
		Stderr:   NewOutputDigest(0).Output(),
	}
	return r
}

func benchAppend(b *testing.B, opts Options) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	l, err := Open(path, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := benchRecord()
	for b.Loop() {
		if err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppend measures records per second into one log, with each
// durability setting, signed and not.
func BenchmarkAppend(b *testing.B) {
	key := testKey(b)
	b.Run("sync=every", func(b *testing.B) { benchAppend(b, Options{}) })
	b.Run("sync=none", func(b *testing.B) { benchAppend(b, Options{Sync: SyncNone}) })
	b.Run("sync=every,signed", func(b *testing.B) { benchAppend(b, Options{SigningKey: key}) })
	b.Run("sync=none,signed", func(b *testing.B) { benchAppend(b, Options{Sync: SyncNone, SigningKey: key}) })
}

// BenchmarkVerify measures how fast a log of such records verifies.
func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.jsonl")
	l, _ := Open(path, Options{Sync: SyncNone})
	r := benchRecord()
	const n = 10000
	for range n {
		l.Append(r)
	}
	l.Close()
	for b.Loop() {
		rep, err := Verify(path, VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}
