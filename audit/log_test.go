package audit

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The concurrency and crash tests re-exec the test binary as a writer:
// separate processes, each with its own descriptor and flock, as cordon
// runs are.
const (
	envWriter = "CORDON_AUDIT_TEST_WRITER" // the log to append to
	envCount  = "CORDON_AUDIT_TEST_COUNT"  // how many records; 0: until killed
	envSync   = "CORDON_AUDIT_TEST_SYNC"   // "none" for SyncNone
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envWriter); path != "" {
		if err := writer(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func writer(path string) error {
	n, _ := strconv.Atoi(os.Getenv(envCount))
	opts := Options{}
	switch os.Getenv(envSync) {
	case "none":
		opts.Sync = SyncNone
	case "behind":
		opts.Sync = SyncBehind
	}
	l, err := Open(path, opts)
	if err != nil {
		return err
	}
	defer l.Close()
	pid := strconv.Itoa(os.Getpid())
	for i := 0; n == 0 || i < n; i++ {
		r := &Record{Agent: pid, Command: "echo " + strconv.Itoa(i)}
		if n == 0 && i%4 == 0 {
			// Large records take long enough to write that a kill can
			// land in the middle of one.
			r.Stdout = &Output{Raw: bytes.Repeat([]byte{'x'}, 32<<10)}
		}
		if err := l.Append(r); err != nil {
			return err
		}
		if n == 0 && i == 0 {
			// Tell the test that records are being written, so that
			// a kill never lands before the first one on a slow run.
			os.Stdout.Write([]byte{'\n'})
		}
	}
	return nil
}

func startWriter(t *testing.T, path string, n int, sync string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWriter+"="+path, envCount+"="+strconv.Itoa(n), envSync+"="+sync)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := range n {
		if err := l.Append(&Record{Agent: "test", Command: fmt.Sprintf("echo %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func verifyOK(t *testing.T, path string, opts VerifyOptions) *Report {
	t.Helper()
	rep, err := Verify(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("%s does not verify: torn %v, problems %v", path, rep.Torn, rep.Problems)
	}
	return rep
}

func TestAppend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "cordon")
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r1 := &Record{Command: "go test ./...", Decision: &Decision{Verdict: "allow", Rule: "go"}}
	r2 := &Record{Command: "rm -rf / && echo <done>"}
	for _, r := range []*Record{r1, r2} {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if err := l.Append(r1); err == nil {
		t.Error("Append after Close succeeded")
	}
	if r1.Seq != 1 || r1.Prev != "" || r2.Seq != 2 || r2.Time.Before(r1.Time) || r1.Time.IsZero() {
		t.Errorf("seq/prev/time not filled: %+v %+v", r1, r2)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 || r2.Prev != lineHash([]byte(lines[0])) {
		t.Fatalf("log:\n%s", b)
	}
	if !strings.HasPrefix(lines[0], `{"seq":1,`) || !strings.Contains(lines[1], "&& echo <done>") {
		t.Errorf("line format: %s", b)
	}
	got, err := ParseRecord([]byte(lines[0]))
	if err != nil || got.Command != r1.Command || got.Decision.Rule != "go" || !got.Time.Equal(r1.Time) {
		t.Errorf("ParseRecord: %v %+v", err, got)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
	rep := verifyOK(t, path, VerifyOptions{})
	if rep.Records != 2 || rep.FirstSeq != 1 || rep.LastSeq != 2 {
		t.Errorf("report %+v", rep)
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if p, _ := DefaultPath(); p != "/x/state/cordon/audit.jsonl" {
		t.Errorf("with XDG_STATE_HOME: %s", p)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultPath(); p != "/home/u/.local/state/cordon/audit.jsonl" {
		t.Errorf("without XDG_STATE_HOME: %s", p)
	}
}

// signedLog writes a log of n records signed with a fresh key.
func signedLog(t *testing.T, n int) (string, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	pub, err := GenerateKey(filepath.Join(dir, "key"), filepath.Join(dir, "key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ReadPrivateKey(filepath.Join(dir, "key"))
	if err != nil {
		t.Fatal(err)
	}
	if rpub, err := ReadPublicKey(filepath.Join(dir, "key.pub")); err != nil || !rpub.Equal(pub) {
		t.Fatalf("ReadPublicKey: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", fi.Mode().Perm())
	}
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(path, Options{SigningKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, n)
	l.Close()
	return path, pub
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTamper(t *testing.T) {
	const n = 10
	type want struct {
		line int // 0: the head
		kind Kind
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string, lines [][]byte) [][]byte
		want   []want
	}{
		{"edit a field", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[4] = bytes.Replace(ls[4], []byte(`"echo 4"`), []byte(`"echo 9"`), 1)
			return ls
		}, []want{{6, KindChain}}},
		{"edit the seq", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[4] = bytes.Replace(ls[4], []byte(`{"seq":5,`), []byte(`{"seq":6,`), 1)
			return ls
		}, []want{{5, KindSeq}, {6, KindSeq}, {6, KindChain}}},
		{"edit the last record", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[n-1] = bytes.Replace(ls[n-1], []byte(`"echo 9"`), []byte(`"echo 0"`), 1)
			return ls
		}, []want{{0, KindHead}}},
		{"delete a middle line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			return append(ls[:4:4], ls[5:]...)
		}, []want{{5, KindSeq}, {5, KindChain}}},
		{"delete the first line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			return ls[1:]
		}, []want{{1, KindSeq}, {1, KindChain}}},
		{"delete the last line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			return ls[:n-1]
		}, []want{{0, KindHead}}},
		{"delete the last lines and the head", func(t *testing.T, path string, ls [][]byte) [][]byte {
			os.Remove(HeadPath(path))
			return ls[:n-3]
		}, []want{{0, KindHead}}},
		{"reorder two lines", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[3], ls[4] = ls[4], ls[3]
			return ls
		}, []want{{4, KindSeq}, {4, KindChain}, {5, KindSeq}, {5, KindChain}, {6, KindSeq}, {6, KindChain}}},
		{"insert a forged line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			// The forgery chains correctly onto line 5 and takes the
			// seq after it; the line after it gives it away.
			r := &Record{Seq: 6, Time: time.Now().UTC(), Prev: lineHash(bytes.TrimSuffix(ls[4], []byte("\n"))), Command: "forged"}
			b, _ := encode(r)
			return append(ls[:5:5], append([][]byte{b}, ls[5:]...)...)
		}, []want{{7, KindSeq}, {7, KindChain}}},
		{"append a forged line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			r := &Record{Seq: n + 1, Time: time.Now().UTC(), Prev: lineHash(bytes.TrimSuffix(ls[n-1], []byte("\n"))), Command: "forged"}
			b, _ := encode(r)
			return append(ls, b)
		}, []want{{0, KindHead}}},
		{"duplicate a line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			return append(ls[:5:5], append([][]byte{ls[4]}, ls[5:]...)...)
		}, []want{{6, KindSeq}, {6, KindChain}}},
		{"add whitespace", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[4] = bytes.Replace(ls[4], []byte(`"seq":5,`), []byte(`"seq": 5,`), 1)
			return ls
		}, []want{{5, KindMalformed}, {6, KindChain}}},
		{"add whitespace to the last line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[n-1] = bytes.Replace(ls[n-1], []byte("}\n"), []byte("} \n"), 1)
			return ls
		}, []want{{n, KindMalformed}, {0, KindHead}}},
		{"garbage line", func(t *testing.T, _ string, ls [][]byte) [][]byte {
			ls[2] = []byte("hello\n")
			return ls
		}, []want{{3, KindMalformed}, {4, KindChain}}},
		{"replace the head with an older one", func(t *testing.T, path string, ls [][]byte) [][]byte {
			h, _ := ReadHead(path)
			h.Seq = 3
			b, _ := os.ReadFile(HeadPath(path))
			b = bytes.Replace(b, []byte(`"seq":10`), []byte(`"seq":3`), 1)
			os.WriteFile(HeadPath(path), b, 0o600)
			return ls
		}, []want{{0, KindHead}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, pub := signedLog(t, n)
			verifyOK(t, path, VerifyOptions{PublicKey: pub})
			writeLines(t, path, tt.tamper(t, path, readLines(t, path)))
			rep, err := Verify(path, VerifyOptions{PublicKey: pub})
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, p := range rep.Problems {
				got = append(got, want{p.Line, p.Kind})
				if p.Detail == "" || p.String() == "" {
					t.Errorf("problem without detail: %+v", p)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("problems %v, want %v:\n%v", got, tt.want, rep.Problems)
			}
			if rep.OK() || rep.Torn != nil {
				t.Errorf("OK %v, torn %v", rep.OK(), rep.Torn)
			}
		})
	}
}

// Without the signing key, a bare chain cannot tell a log cut short from
// one that ended there. This test pins that limit, which docs/audit.md
// states.
func TestTruncationNeedsHead(t *testing.T) {
	path, _ := signedLog(t, 5)
	os.Remove(HeadPath(path))
	writeLines(t, path, readLines(t, path)[:3])
	verifyOK(t, path, VerifyOptions{})
}

func TestHead(t *testing.T) {
	path, pub := signedLog(t, 3)
	rep := verifyOK(t, path, VerifyOptions{PublicKey: pub})
	if !rep.Signed || rep.Head.Seq != 3 || rep.Head.Hash != rep.LastHash || !rep.Head.Key.Equal(pub) {
		t.Errorf("head %+v, signed %v", rep.Head, rep.Signed)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	rep, _ = Verify(path, VerifyOptions{PublicKey: other})
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != KindHead || !strings.Contains(rep.Problems[0].Detail, "signature") {
		t.Errorf("another key: %v", rep.Problems)
	}
	// A writer without the key leaves records the head does not cover.
	l, _ := Open(path, Options{})
	appendN(t, l, 2)
	l.Close()
	rep, _ = Verify(path, VerifyOptions{PublicKey: pub})
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Detail, "records 4 to 5 follow the signed head") {
		t.Errorf("unsigned records: %v", rep.Problems)
	}
	if matches, _ := filepath.Glob(HeadPath(path) + ".tmp*"); len(matches) != 0 {
		t.Errorf("temporary heads left: %v", matches)
	}
}

func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendN(t, l, 3)
	before, _ := os.ReadFile(path)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":4,"time":"2026-`)
	f.Close()

	err = l.Append(&Record{Command: "true"})
	var torn *TornTailError
	if !errors.As(err, &torn) || torn.Offset != int64(len(before)) || torn.Bytes != 22 {
		t.Fatalf("Append onto a torn tail: %v", err)
	}
	rep, err := Verify(path, VerifyOptions{})
	if err != nil || len(rep.Problems) != 0 || rep.Torn == nil || rep.Torn.Offset != int64(len(before)) || rep.Records != 3 {
		t.Fatalf("Verify: %v %+v", err, rep)
	}
	dropped, err := Repair(path)
	if err != nil || dropped != 22 {
		t.Fatalf("Repair: %d, %v", dropped, err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("Repair changed complete records")
	}
	if dropped, err := Repair(path); err != nil || dropped != 0 {
		t.Fatalf("Repair of a clean log: %d, %v", dropped, err)
	}
	appendN(t, l, 2)
	if rep := verifyOK(t, path, VerifyOptions{}); rep.LastSeq != 5 {
		t.Errorf("last seq %d", rep.LastSeq)
	}
}

func TestAppendOntoGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	os.WriteFile(path, []byte("not a record\n"), 0o600)
	l, _ := Open(path, Options{})
	defer l.Close()
	if err := l.Append(&Record{}); err == nil || !strings.Contains(err.Error(), "offset 0") {
		t.Errorf("Append onto garbage: %v", err)
	}
}

// A long last line is found by reading backwards in several chunks.
func TestLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _ := Open(path, Options{Sync: SyncNone})
	defer l.Close()
	for _, size := range []int{0, 4000, 4096, 100 << 10, 3 << 20, 10} {
		if err := l.Append(&Record{Command: strings.Repeat("a", size)}); err != nil {
			t.Fatal(err)
		}
	}
	if rep := verifyOK(t, path, VerifyOptions{}); rep.LastSeq != 6 {
		t.Errorf("last seq %d", rep.LastSeq)
	}
}

func TestConcurrentProcesses(t *testing.T) {
	const procs, each = 8, 1000
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	start := time.Now()
	var cmds []*exec.Cmd
	for i := range procs {
		cmds = append(cmds, startWriter(t, path, each, []string{"", "behind"}[i%2]))
	}
	// Goroutines of this process append too, through their own Log.
	l, err := Open(path, Options{Sync: SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { appendN(t, l, 100); close(done) }()
	appendN(t, l, 100)
	<-done
	l.Close()
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	const total = procs*each + 200
	t.Logf("%d records from %d processes in %v", total, procs+1, time.Since(start).Round(time.Millisecond))
	rep := verifyOK(t, path, VerifyOptions{})
	if rep.Records != total || rep.FirstSeq != 1 || rep.LastSeq != total {
		t.Fatalf("%d records, seq %d to %d; want %d", rep.Records, rep.FirstSeq, rep.LastSeq, total)
	}
	perAgent := map[string]int{}
	for _, line := range readLines(t, path) {
		r, err := ParseRecord(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil {
			t.Fatal(err)
		}
		perAgent[r.Agent]++
	}
	for a, n := range perAgent {
		if (a == "test" && n != 200) || (a != "test" && n != each) {
			t.Errorf("agent %s: %d records", a, n)
		}
	}
	if len(perAgent) != procs+1 {
		t.Errorf("%d agents, want %d", len(perAgent), procs+1)
	}
}

func TestKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	var lastSeq uint64
	torn := 0
	for i := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWriter+"="+path, envCount+"=0", envSync+"=none")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := out.Read(make([]byte, 1)); err != nil {
			t.Fatalf("round %d: writer did not start: %v", i, err)
		}
		time.Sleep(time.Duration(10+rand.IntN(80)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		rep, err := Verify(path, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Problems) != 0 {
			t.Fatalf("round %d: %v", i, rep.Problems)
		}
		if rep.LastSeq <= lastSeq {
			t.Fatalf("round %d: no records written (last seq %d)", i, rep.LastSeq)
		}
		lastSeq = rep.LastSeq
		if rep.Torn != nil {
			torn++
			n, err := Repair(path)
			if err != nil || n != rep.Torn.Bytes {
				t.Fatalf("Repair: %d, %v; torn %+v", n, err, rep.Torn)
			}
		}
		// Appends continue on the repaired log.
		l, err := Open(path, Options{Sync: SyncNone})
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 1)
		l.Close()
		rep = verifyOK(t, path, VerifyOptions{})
		if rep.LastSeq != lastSeq+1 {
			t.Fatalf("round %d: last seq %d after append, want %d", i, rep.LastSeq, lastSeq+1)
		}
		lastSeq = rep.LastSeq
	}
	t.Logf("%d rounds, %d records, %d torn tails repaired", rounds, lastSeq, torn)
}

func TestOutputDigest(t *testing.T) {
	d := NewOutputDigest(4)
	d.Write([]byte("hel"))
	d.Write([]byte("lo\n"))
	o := d.Output()
	// sha256("hello\n")
	if o.SHA256 != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" || o.Bytes != 6 || string(o.Raw) != "hell" || !o.Truncated {
		t.Errorf("%+v", o)
	}
	if o := NewOutputDigest(0).Output(); o.Raw != nil || o.Truncated {
		t.Errorf("keep 0: %+v", o)
	}
}

func testKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLastSeq(t *testing.T) {
	tests := []struct {
		line string
		seq  uint64
		ok   bool
	}{
		{`{"seq":41,"time":"2026-11-23T14:00:00Z","prev":""}`, 41, true},
		{`{ "seq": 7, "prev": ""}`, 7, true},
		{`{"prev":"","seq":9}`, 9, true},
		{`{"seq":0,"prev":""}`, 0, false},
		{`{"seq":-1,"prev":""}`, 0, false},
		{`{"seq":12,`, 0, false},
		{`{"prev":""}`, 0, false},
		{`hello`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		if seq, ok := lastSeq([]byte(tt.line)); seq != tt.seq || ok != tt.ok {
			t.Errorf("lastSeq(%s) = %d, %v; want %d, %v", tt.line, seq, ok, tt.seq, tt.ok)
		}
	}
}

// SyncBehind: Append returns before the fsync is done, Flush and Close
// wait for it, and a failed fsync fails the next Append, Flush and Close.
func TestSyncBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	var fail error
	fsync = func(f *os.File) error {
		started <- struct{}{}
		<-release
		if fail != nil {
			return fail
		}
		return f.Sync()
	}
	defer func() { fsync = (*os.File).Sync }()
	l, err := Open(path, Options{Sync: SyncBehind})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 1) // returns with its fsync held
	<-started
	appendN(t, l, 2) // written while the first fsync is held
	if n := len(readLines(t, path)); n != 3 {
		t.Fatalf("%d lines written before the fsync; want 3", n)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- l.Flush() }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) while the fsync was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	release <- struct{}{} // the first fsync; a second covers records 2 and 3
	<-started
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) before the records after the first fsync's start were synced", err)
	case <-time.After(50 * time.Millisecond):
	}
	release <- struct{}{}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	verifyOK(t, path, VerifyOptions{})

	// A failing fsync: the next Append, Flush and Close report it. (The
	// syncer reads fail only after it has taken the next record.)
	fail = syscall.EIO
	appendN(t, l, 1)
	<-started
	release <- struct{}{}
	if err := l.Flush(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Flush after a failed fsync: %v", err)
	}
	if err := l.Append(&Record{Command: "true"}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append after a failed fsync: %v", err)
	}
	if err := l.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Close after a failed fsync: %v", err)
	}
}

// Close waits for the last fsync before it returns.
func TestSyncBehindClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var synced atomic.Bool
	fsync = func(f *os.File) error {
		time.Sleep(30 * time.Millisecond)
		synced.Store(true)
		return f.Sync()
	}
	defer func() { fsync = (*os.File).Sync }()
	l, err := Open(path, Options{Sync: SyncBehind})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !synced.Load() {
		t.Fatal("Close returned before the record's fsync")
	}
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
}
