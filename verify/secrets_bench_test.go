package verify

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchSize is the size of each benchmark input; bench/secrets.sh
// gives the same files to gitleaks.
const benchSize = 4 << 20

// buildLog returns a deterministic build log of about n bytes: go,
// npm, docker, maven and compiler lines, with hashes, UUIDs and
// base64 that look like secrets, and a fake secret every few thousand
// lines.
func buildLog(n int) []byte {
	r := rand.New(rand.NewPCG(42, 7))
	hex := func(k int) string {
		const d = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = d[r.IntN(16)]
		}
		return string(b)
	}
	alnum := func(k int) string {
		const d = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, k)
		for i := range b {
			b[i] = d[r.IntN(len(d))]
		}
		return string(b)
	}
	pkgs := []string{"api", "auth", "cache", "config", "db", "keystore", "token", "server", "session", "storage", "secretmanager", "crypto/keys"}
	var b strings.Builder
	for line := 0; b.Len() < n; line++ {
		p := pkgs[r.IntN(len(pkgs))]
		switch r.IntN(16) {
		case 0:
			fmt.Fprintf(&b, "go: downloading github.com/example/%s v1.%d.%d\n", p, r.IntN(20), r.IntN(10))
		case 1:
			fmt.Fprintf(&b, "ok  \tgithub.com/example/app/internal/%s\t%d.%03ds\tcoverage: %d.%d%% of statements\n", p, r.IntN(9), r.IntN(1000), r.IntN(100), r.IntN(10))
		case 2:
			fmt.Fprintf(&b, "=== RUN   Test%s/case_%d\n--- PASS: Test%s/case_%d (0.%02ds)\n", strings.ToUpper(p[:1])+p[1:], line, strings.ToUpper(p[:1])+p[1:], line, r.IntN(100))
		case 3:
			fmt.Fprintf(&b, "npm WARN deprecated %s@%d.%d.%d: This module is not supported, and leaks memory.\n", p, r.IntN(9), r.IntN(9), r.IntN(9))
		case 4:
			fmt.Fprintf(&b, "added %d packages, and audited %d packages in %ds\n", r.IntN(2000), r.IntN(2000), r.IntN(60))
		case 5:
			fmt.Fprintf(&b, "#%d [%d/%d] RUN go build -o /out/%s ./cmd/%s\n#%d sha256:%s %d.%dMB / %d.%dMB %d.%ds\n", line%40, r.IntN(9), 9, p, p, line%40, hex(64), r.IntN(90), r.IntN(10), r.IntN(90), r.IntN(10), r.IntN(9), r.IntN(10))
		case 6:
			fmt.Fprintf(&b, "[INFO] --- maven-compiler-plugin:3.%d.0:compile (default-compile) @ %s ---\n[INFO] Compiling %d source files to /build/%s/target/classes\n", r.IntN(12), p, r.IntN(400), p)
		case 7:
			fmt.Fprintf(&b, "gcc -O2 -g -Wall -Wextra -I./include -DAPI_VERSION=%d -c src/%s.c -o build/%s.o\n", r.IntN(9), strings.ReplaceAll(p, "/", "_"), strings.ReplaceAll(p, "/", "_"))
		case 8:
			fmt.Fprintf(&b, "asset %s.%s.js %d KiB [emitted] [immutable] [minimized] (name: %s) 1 related asset\n", p, hex(20), r.IntN(900), p)
		case 9:
			fmt.Fprintf(&b, "request_id=%s-%s-4%s-%s-%s level=info msg=\"cache key %s hit\" duration=%dms\n", hex(8), hex(4), hex(3), hex(4), hex(12), hex(40), r.IntN(300))
		case 10:
			fmt.Fprintf(&b, "HEAD is now at %s Merge pull request #%d from example/fix-%s-token-refresh\n", hex(40), r.IntN(9000), strings.ReplaceAll(p, "/", "-"))
		case 11:
			fmt.Fprintf(&b, "    integrity: sha512-%s==\n", alnum(86))
		case 12:
			fmt.Fprintf(&b, "src/%s/handler.ts(%d,%d): warning TS6133: 'apiKey' is declared but its value is never read.\n", p, r.IntN(400), r.IntN(80))
		case 13:
			fmt.Fprintf(&b, "  --> src/%s.rs:%d:%d\n   |\n%d |     let secret_key = config.get(\"SECRET_KEY\")?;\n   |         ^^^^^^^^^^ help: prefix it with an underscore\n", strings.ReplaceAll(p, "/", "_"), r.IntN(400), r.IntN(80), r.IntN(400))
		case 14:
			fmt.Fprintf(&b, "Step %d/%d : ENV PATH=/usr/local/go/bin:$PATH GOFLAGS=-mod=readonly\n ---> Running in %s\n", r.IntN(20), 20, hex(12))
		default:
			fmt.Fprintf(&b, "%s: %d tests, %d passed, %d skipped in %d.%ds\n", p, r.IntN(300), r.IntN(300), r.IntN(10), r.IntN(90), r.IntN(10))
		}
		if line%5000 == 4999 {
			// Fakes in the shapes of real credentials.
			switch r.IntN(3) {
			case 0:
				fmt.Fprintf(&b, "export GITHUB_TOKEN=ghp_%s\n", alnum(36))
			case 1:
				const base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
				key := make([]byte, 16)
				for i := range key {
					key[i] = base32[r.IntN(32)]
				}
				fmt.Fprintf(&b, "aws_access_key_id=AKIA%s\n", key)
			default:
				fmt.Fprintf(&b, "SLACK_WEBHOOK=https://hooks.slack.com/services/T%s/B%s/%s\n", strings.ToUpper(alnum(8)), strings.ToUpper(alnum(10)), alnum(24))
			}
		}
	}
	return []byte(b.String())
}

// randomText returns n bytes of random printable ASCII in lines of up
// to 160 characters.
func randomText(n int) []byte {
	r := rand.New(rand.NewPCG(1, 1))
	b := make([]byte, n)
	next := r.IntN(160)
	for i := range b {
		if i == next {
			b[i] = '\n'
			next = i + 1 + r.IntN(160)
			continue
		}
		b[i] = byte(' ' + r.IntN('~'-' '+1))
	}
	return b
}

func benchScan(b *testing.B, in []byte) {
	Secrets()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s := NewStream(io.Discard, StreamOptions{Name: "stdout", Detectors: []Detector{Secrets()}})
		for p := in; len(p) > 0; {
			n := min(len(p), 32<<10)
			s.Write(p[:n])
			p = p[n:]
		}
		s.Close()
	}
}

func BenchmarkSecretsBuildLog(b *testing.B) { benchScan(b, buildLog(benchSize)) }
func BenchmarkSecretsRandom(b *testing.B)   { benchScan(b, randomText(benchSize)) }

// TestWriteSecretsBenchInputs writes the benchmark inputs for
// bench/secrets.sh, when it asks for them.
func TestWriteSecretsBenchInputs(t *testing.T) {
	dir := os.Getenv("CORDON_SECRETS_BENCH_DIR")
	if dir == "" {
		t.Skip("CORDON_SECRETS_BENCH_DIR not set")
	}
	for name, data := range map[string][]byte{"buildlog.txt": buildLog(benchSize), "random.txt": randomText(benchSize)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The build log's fakes are all found, and nothing else in it.
func TestSecretsBuildLog(t *testing.T) {
	in := buildLog(1 << 20)
	want := strings.Count(string(in), "ghp_") + strings.Count(string(in), "AKIA") + strings.Count(string(in), "hooks.slack.com")
	_, fs := scanSecrets(t, string(in), func() int { return 32 << 10 })
	if len(fs) != want {
		t.Errorf("%d findings %v, want %d", len(fs), rulesOf(fs), want)
	}
}

// BenchmarkSecretsSetup is the cost of the first use of Secrets in a
// process: the keyword index, and the shape of each rule's regex.
// Regexes are compiled later, each when a keyword first calls for it.
func BenchmarkSecretsSetup(b *testing.B) {
	for b.Loop() {
		newSecretDetector(secretRules, secretGlobalAllowlists)
	}
}

// BenchmarkSecretsCompileAll is what compiling every rule would cost,
// the work gitleaks does at start.
func BenchmarkSecretsCompileAll(b *testing.B) {
	for b.Loop() {
		d := newSecretDetector(secretRules, secretGlobalAllowlists)
		for i := range d.rules {
			d.compile(&d.rules[i])
		}
	}
}
