package verify

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// sample is one entry of a testdata sample file.
type sample struct {
	name, rule string
	text       []byte
}

// loadSamples reads a sample file: "=== <name> <rule>" headers, each
// followed by the sample's text, with escapes decoded (see
// testdata/inject/attacks.txt). Lines before the first header are
// comments.
func loadTextSamples(t testing.TB, path string) []sample {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	var cur *sample
	var body []string
	flush := func() {
		if cur != nil {
			text := strings.TrimRight(strings.Join(body, "\n"), "\n") + "\n"
			cur.text = decodeSample(t, text)
			out = append(out, *cur)
		}
		body = body[:0]
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "=== "); ok {
			flush()
			f := strings.Fields(name)
			if len(f) != 2 {
				t.Fatalf("%s: bad header %q", path, line)
			}
			cur = &sample{name: f[0], rule: f[1]}
			continue
		}
		if cur != nil {
			body = append(body, line)
		}
	}
	flush()
	if len(out) == 0 {
		t.Fatalf("%s: no samples", path)
	}
	return out
}

// decodeSample undoes the escapes of the sample files: \xNN, \uNNNN,
// \UNNNNNNNN, \n, \r, \t, \b, \\ and {tags:text}.
func decodeSample(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); {
		if rest, ok := strings.CutPrefix(s[i:], "{tags:"); ok {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				t.Fatalf("unclosed {tags:")
			}
			for _, c := range []byte(rest[:end]) {
				out = utf8.AppendRune(out, 0xE0000+rune(c))
			}
			i += len("{tags:") + end + 1
			continue
		}
		if s[i] != '\\' || i+1 >= len(s) {
			out = append(out, s[i])
			i++
			continue
		}
		n := 0
		switch s[i+1] {
		case 'x':
			n = 2
		case 'u':
			n = 4
		case 'U':
			n = 8
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case '\\':
			out = append(out, '\\')
		default:
			out = append(out, s[i], s[i+1])
		}
		if n == 0 {
			i += 2
			continue
		}
		v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
		if err != nil {
			t.Fatalf("bad escape %q", s[i:i+2+n])
		}
		if n == 2 {
			out = append(out, byte(v))
		} else {
			out = utf8.AppendRune(out, rune(v))
		}
		i += 2 + n
	}
	return out
}

// runStream writes input to a new Stream in writes of random sizes up
// to maxWrite and returns the output and the findings.
func runStream(t testing.TB, opts StreamOptions, input []byte, r *rand.Rand, maxWrite int) ([]byte, []Finding) {
	t.Helper()
	var out bytes.Buffer
	s := NewStream(&out, opts)
	for len(input) > 0 {
		n := min(len(input), 1+r.IntN(maxWrite))
		if _, err := s.Write(input[:n]); err != nil {
			t.Fatal(err)
		}
		input = input[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), s.Findings()
}

// syntheticLog returns about n bytes of realistic build and test output:
// go test -v, npm, pytest and cargo, with the colours those tools use
// on a terminal when colour is on, or without.
func syntheticLog(r *rand.Rand, n int, colour bool) []byte {
	c := func(code, s string) string {
		if !colour {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	pkgs := []string{"internal/parser", "cmd/server", "pkg/cache", "api/v2", "storage/sql"}
	words := []string{"request", "handler", "cache", "timeout", "retry", "config", "user", "session", "token", "build", "module", "ignore", "previous", "instructions", "prompt", "agent", "model"}
	var b strings.Builder
	for b.Len() < n {
		switch r.IntN(8) {
		case 0:
			name := fmt.Sprintf("Test%s%d", strings.ToUpper(words[r.IntN(len(words))][:1])+words[r.IntN(len(words))][1:], r.IntN(100))
			fmt.Fprintf(&b, "=== RUN   %s\n", name)
			if r.IntN(10) == 0 {
				fmt.Fprintf(&b, "    %s_test.go:%d: got %d, want %d\n", words[r.IntN(len(words))], r.IntN(400), r.IntN(9), r.IntN(9))
				fmt.Fprintf(&b, "%s\n", c("31", fmt.Sprintf("--- FAIL: %s (%.2fs)", name, r.Float64())))
			} else {
				fmt.Fprintf(&b, "%s\n", c("32", fmt.Sprintf("--- PASS: %s (%.2fs)", name, r.Float64())))
			}
		case 1:
			fmt.Fprintf(&b, "%s  \texample.com/%s\t%.3fs\n", c("1;32", "ok"), pkgs[r.IntN(len(pkgs))], r.Float64()*3)
		case 2:
			fmt.Fprintf(&b, "%s %s %s %s@%d.%d.%d: this version is no longer supported\n", c("37;40", "npm"), c("30;43", "WARN"), c("35", "deprecated"), words[r.IntN(len(words))], r.IntN(5), r.IntN(20), r.IntN(10))
		case 3:
			fmt.Fprintf(&b, "tests/test_%s.py::test_%s_%s %s [%3d%%]\n", words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], c("32", "PASSED"), r.IntN(101))
		case 4:
			fmt.Fprintf(&b, "%s %s v%d.%d.%d\n", c("1;92", "   Compiling"), words[r.IntN(len(words))]+"-rs", r.IntN(3), r.IntN(50), r.IntN(20))
		case 5:
			fmt.Fprintf(&b, "%s: unused variable: `%s`\n  --> src/%s.rs:%d:%d\n", c("1;33", "warning"), words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(900), r.IntN(80))
		case 6:
			fmt.Fprintf(&b, "2026-11-23T10:%02d:%02d.%03dZ INFO %s: %s %s in %dms (user=%d)\n", r.IntN(60), r.IntN(60), r.IntN(1000), pkgs[r.IntN(len(pkgs))], words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(2000), r.IntN(1e6))
		case 7:
			fmt.Fprintf(&b, "%s\n", c("1", fmt.Sprintf("===== %d passed, %d skipped in %.2fs =====", r.IntN(500), r.IntN(20), r.Float64()*60)))
		}
	}
	return []byte(b.String())
}

// randomText returns n bytes of random printable text: ASCII words and
// punctuation with some multi-byte letters, in lines.
func randomRunes(r *rand.Rand, n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?()[]{}<>/\\|-_=+*&^%$#@~'\"`"
	b := make([]byte, 0, n+4)
	for len(b) < n {
		switch x := r.IntN(100); {
		case x < 2:
			b = append(b, '\n')
		case x < 4:
			b = utf8.AppendRune(b, rune(0xC0+r.IntN(0x1B0)))
		default:
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
	}
	return b
}

// benchStream measures a Stream with the detectors over inputs: a
// coloured build log and random text, 8 MB each, written 64 KB at a
// time.
func benchStream(b *testing.B, opts StreamOptions) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, in := range []struct {
		name string
		data []byte
	}{{"log", syntheticLog(r, 8<<20, true)}, {"random", randomRunes(r, 8<<20)}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				s := NewStream(io.Discard, opts)
				for p := in.data; len(p) > 0; {
					n := min(len(p), 64<<10)
					s.Write(p[:n])
					p = p[n:]
				}
				s.Close()
			}
		})
	}
}

// corpusFile is one file of the benign corpus.
type corpusFile struct {
	name string
	data []byte
}

// benignCorpus returns the benign texts the false-positive tests use:
// Go's source tree and docs (code), /usr/share/doc (docs, gzip or
// plain), the NL2Bash shell commands (one file of commands), and
// synthetic build logs. A source that is missing is skipped and said.
func benignCorpus(t testing.TB) map[string][]corpusFile {
	t.Helper()
	out := map[string][]corpusFile{}
	goroot := runtimeGOROOT(t)
	walk := func(kind, root string, keep func(string) bool) {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				return nil
			}
			if !keep(path) {
				return nil
			}
			data, err := readMaybeGzip(path)
			if err != nil || len(data) == 0 || len(data) > 4<<20 || isBinary(data[:min(len(data), sniffLen)]) {
				return nil
			}
			out[kind] = append(out[kind], corpusFile{path, data})
			return nil
		})
	}
	text := func(p string) bool {
		switch filepath.Ext(strings.TrimSuffix(p, ".gz")) {
		case ".go", ".s", ".md", ".html", ".txt", ".c", ".h", ".py", ".sh", ".json", ".js", ".css", ".tmpl", ".yaml", ".yml", "":
			return true
		}
		return false
	}
	walk("go-src", filepath.Join(goroot, "src"), text)
	walk("go-doc", filepath.Join(goroot, "doc"), text)
	walk("usr-share-doc", "/usr/share/doc", func(p string) bool { return true })
	if data, err := os.ReadFile("/work/shared/corpora/nl2bash-benign.tsv"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			f := strings.Split(line, "\t")
			if len(f) < 3 || f[0] == "id" {
				continue
			}
			out["nl2bash"] = append(out["nl2bash"], corpusFile{"nl2bash:" + f[0], []byte(unescapeTSV(f[2]) + "\n")})
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		out["synthetic-logs"] = append(out["synthetic-logs"], corpusFile{fmt.Sprintf("log-%d", i), syntheticLog(r, 4<<10+r.IntN(64<<10), i%2 == 0)})
	}
	for kind, files := range out {
		if len(files) == 0 {
			t.Logf("corpus %s: missing", kind)
		}
	}
	return out
}

// runtimeGOROOT asks the go command where Go's tree is.
func runtimeGOROOT(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = z
	}
	return io.ReadAll(io.LimitReader(r, 4<<20+1))
}

// unescapeTSV undoes the corpus escapes: \\, \t, \n, \r.
func unescapeTSV(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '\\':
				b.WriteByte('\\')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
				continue
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
