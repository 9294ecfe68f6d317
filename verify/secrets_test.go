package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scanSecrets passes input through a Stream with the secrets detector
// in writes of the sizes given, and returns the output and findings.
func scanSecrets(t testing.TB, input string, sizes func() int) (string, []Finding) {
	t.Helper()
	var out bytes.Buffer
	s := NewStream(&out, StreamOptions{Name: "stdout", Detectors: []Detector{Secrets()}})
	in := []byte(input)
	for len(in) > 0 {
		n := min(len(in), max(1, sizes()))
		if _, err := s.Write(in[:n]); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String(), s.Findings()
}

func whole() int { return 1 << 30 }

func rulesOf(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule)
	}
	return ids
}

type ruleSamples struct {
	Rule string   `json:"rule"`
	TPs  []string `json:"tps"`
	FPs  []string `json:"fps"`
}

func loadSamples(t testing.TB) []ruleSamples {
	t.Helper()
	b, err := os.ReadFile("testdata/gitleaks-samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s []ruleSamples
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// gitleaks' own samples: every true positive of a rule we carry is
// redacted, by that rule; no false positive is redacted by its rule.
func TestSecretsGitleaksSamples(t *testing.T) {
	known := map[string]bool{}
	for _, r := range secretRules {
		known[r.id] = true
	}
	var tps, right, other, missed, fps, fpOwn, fpOther, skipped int
	for _, rs := range loadSamples(t) {
		if !known[rs.Rule] {
			skipped++ // a rule on file paths
			continue
		}
		for _, tp := range rs.TPs {
			tps++
			out, fs := scanSecrets(t, tp, whole)
			switch ids := rulesOf(fs); {
			case slices.Contains(ids, rs.Rule):
				right++
			case len(ids) > 0:
				other++
				t.Logf("%s: true positive redacted by %v instead: %q", rs.Rule, ids, tp)
			default:
				missed++
				t.Errorf("%s: true positive not redacted: %q", rs.Rule, tp)
			}
			for _, f := range fs {
				// A span two rules match is redacted by one and
				// flagged by the other.
				if f.Action != ActionRedacted && f.Action != ActionFlagged || strings.Contains(f.Message, tp) {
					t.Errorf("%s: bad finding %+v", rs.Rule, f)
				}
			}
			if len(fs) > 0 && !strings.Contains(out, "[REDACTED:") {
				t.Errorf("%s: finding without redaction in %q", rs.Rule, out)
			}
		}
		for _, fp := range rs.FPs {
			fps++
			_, fs := scanSecrets(t, fp, whole)
			ids := rulesOf(fs)
			if slices.Contains(ids, rs.Rule) {
				fpOwn++
				t.Errorf("%s: false positive redacted: %q", rs.Rule, fp)
			} else if len(ids) > 0 {
				fpOther++
				t.Logf("%s: false positive redacted by another rule %v: %q", rs.Rule, ids, fp)
			}
		}
	}
	t.Logf("true positives: %d, by their rule %d, by another rule %d, missed %d", tps, right, other, missed)
	t.Logf("false positives: %d, redacted by their rule %d, by another rule %d; rules without output samples %d", fps, fpOwn, fpOther, skipped)
	if tps < 5000 || fps < 300 {
		t.Fatalf("only %d true and %d false positives loaded", tps, fps)
	}
	// A few samples of one rule are matched first by a more specific
	// or a broader rule over the same span; more than 1% is a regression.
	if other*100 > tps {
		t.Errorf("%d of %d true positives redacted by another rule", other, tps)
	}
}

// Our own cases: secrets in the shapes a build prints them, whole and
// split across writes of any size.
func TestSecretsRedacted(t *testing.T) {
	// Fakes in the formats of the rules, none a live credential.
	ghp := "ghp_" + "4Zq1mR8xT2vB6nK0pL3sD7fH9jW5yC1eA0uI"
	aws := "AKIA" + "QX7TZ2LM5RB4NCY6"
	awsSecret := "wJa9rXUtnF3MI0K7MD3NG7bPxRf1CYz8Ew4mQ2sT"
	slack := "xoxb-" + "263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"
	stripe := "sk_live_" + "51H8qLkJ2eZvKYlo2C9b8xR7tQ3mN1pW"
	cases := []struct {
		name, in, rule, keep string
	}{
		{"github token alone", ghp + "\n", "github-pat", ""},
		{"json", `{"user":"ci","token":"` + ghp + `","ok":true}` + "\n", "github-pat", `{"user":"ci","token":"`},
		{"env dump", "HOME=/root\nAWS_ACCESS_KEY_ID=" + aws + "\nPATH=/usr/bin\n", "aws-access-token", "AWS_ACCESS_KEY_ID="},
		{"url", "fetching https://x-access-token:" + ghp + "@github.com/o/r.git\n", "github-pat", "@github.com/o/r.git"},
		{"slack", "SLACK_TOKEN=" + slack + "\n", "slack-bot-token", "SLACK_TOKEN="},
		{"stripe", "stripe.api_key = '" + stripe + "'\n", "stripe-access-token", "stripe.api_key = '"},
		{"aws secret key generic", "aws_secret_access_key = " + awsSecret + "\n", "", "aws_secret_access_key = "},
		{"pem", testPEM, "private-key", "before\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref, _ := scanSecrets(t, c.in, whole)
			for _, sizes := range []func() int{whole, func() int { return 1 }, func() int { return 7 }, func() int { return 4093 }} {
				out, fs := scanSecrets(t, c.in, sizes)
				if out != ref {
					t.Errorf("output depends on write sizes:\n%q\n%q", out, ref)
				}
				if len(fs) == 0 {
					t.Fatalf("nothing found in %q", c.in)
				}
				if c.rule != "" && !slices.Contains(rulesOf(fs), c.rule) {
					t.Errorf("rules %v, want %s", rulesOf(fs), c.rule)
				}
				if !strings.Contains(out, "[REDACTED:") || !strings.Contains(out, c.keep) {
					t.Errorf("output %q", out)
				}
				for _, secret := range []string{ghp, aws, awsSecret, slack, stripe, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"} {
					if strings.Contains(out, secret) {
						t.Errorf("secret passed through: %q", out)
					}
				}
				for _, f := range fs {
					if f.Stream != "stdout" || f.Offset < 0 || f.Kind != KindSecret || f.Severity != SeverityHigh {
						t.Errorf("finding %+v", f)
					}
					if got := c.in[f.Offset : f.Offset+f.Length]; strings.Contains(f.Message, got) || strings.Contains(f.String(), got) {
						t.Errorf("finding carries the secret: %+v", f)
					}
				}
			}
		})
	}
}

// testPEM is a PEM block in the shape of a PKCS#8 key; its body is
// random base64, not a key.
var testPEM = func() string {
	r := rand.New(rand.NewPCG(1, 2))
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	b.WriteString("before\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n")
	for range 25 {
		for range 64 {
			b.WriteByte(b64[r.IntN(64)])
		}
		b.WriteByte('\n')
	}
	b.WriteString("-----END PRIVATE KEY-----\nafter\n")
	return b.String()
}()

// A secret is caught wherever the writes cut it, in a long log, and
// reported at its offset in the raw stream.
func TestSecretsSplitRandom(t *testing.T) {
	ghp := "ghp_" + "4Zq1mR8xT2vB6nK0pL3sD7fH9jW5yC1eA0uI"
	var in strings.Builder
	var want []int64
	for i := range 3000 {
		fmt.Fprintf(&in, "ok  \tgithub.com/example/pkg%d\t0.%03ds\n", i, i%1000)
		if i%211 == 0 {
			in.WriteString("token=")
			want = append(want, int64(in.Len()))
			in.WriteString(ghp + "\n")
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		out, fs := scanSecrets(t, in.String(), func() int { return 1 + r.IntN(9000) })
		if strings.Contains(out, ghp) {
			t.Fatal("secret passed through")
		}
		var got []int64
		for _, f := range fs {
			got = append(got, f.Offset)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("offsets %v, want %v", got, want)
		}
	}
}

// Things that look like secrets and are not stay as they are.
func TestSecretsLookAlikes(t *testing.T) {
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	cases := []string{
		"request id 3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b done\n",
		"commit 9fceb02d0ae598e95dc970b74767f19372d61af8\nMerge: 1a2b3c4 5d6e7f8\n",
		"HEAD is now at 4a3f9b2c1d0e8f7a6b5c4d3e2f1a0b9c8d7e6f5a fix build\n",
		`<img src="data:image/png;base64,` + png + `">` + "\n",
		"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
		"go: downloading golang.org/x/sys v0.49.0\ngo: finding module for package github.com/spf13/cobra\n",
		"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n",
		"password: ${DB_PASSWORD}\ntoken: {{ .Values.token }}\nsecret = os.Getenv(\"SECRET\")\n",
		"api_key = \"your-api-key-here\"\n",
		"npm WARN deprecated inflight@1.0.6: This module is not supported\n",
		"integrity sha512-Kq6yZ6w0LgD2W0q5oHf0Xn3I8gQ2YV3mM0wq4bYz3nYQ==\n",
	}
	for _, in := range cases {
		out, fs := scanSecrets(t, in, whole)
		if out != in || len(fs) > 0 {
			t.Errorf("look-alike changed: %q -> %q %v", in, out, rulesOf(fs))
		}
	}
}

// An idle flush passes on the lines before a PEM block, never half of
// the block.
func TestSecretsPendingPEM(t *testing.T) {
	d := Secrets().(Pender)
	lines := strings.SplitAfter(testPEM, "\n")
	buf := strings.Join(lines[:5], "")
	if got := d.Pending([]byte(buf)); got != len("before\n") {
		t.Fatalf("pending %d, want %d", got, len("before\n"))
	}
	if got := d.Pending([]byte(testPEM)); got != len(testPEM) {
		t.Fatalf("pending %d after the end, want %d", got, len(testPEM))
	}
}

// lockedBuffer is written by a Stream's idle timer and read by a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A Stream that goes idle in the middle of a key block passes on the
// lines before it, and nothing of the block until it is complete.
func TestSecretsIdlePEM(t *testing.T) {
	var out lockedBuffer
	s := NewStream(&out, StreamOptions{Name: "stdout", Detectors: []Detector{Secrets()}, Idle: 5 * time.Millisecond})
	lines := strings.SplitAfter(testPEM, "\n")
	head := strings.Join(lines[:6], "")
	if _, err := s.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // more idle flushes, if any were to come
	if got := out.String(); got != "before\n" {
		t.Fatalf("idle flush passed on %q, want only the line before the block", got)
	}
	if _, err := s.Write([]byte(strings.Join(lines[6:], ""))); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Contains(got, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC") || !strings.Contains(got, "[REDACTED:private-key]") {
		t.Fatalf("output %q", got)
	}
}

// The detector is shared: many streams at once see the same results.
func TestSecretsConcurrent(t *testing.T) {
	ghp := "ghp_" + "4Zq1mR8xT2vB6nK0pL3sD7fH9jW5yC1eA0uI"
	in := strings.Repeat("build line with a key word\n", 500) + "GH_TOKEN=" + ghp + "\n" + testPEM
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			out, fs := scanSecrets(t, in, func() int { return 333 })
			if strings.Contains(out, ghp) || len(fs) != 2 {
				t.Errorf("concurrent scan: %v", rulesOf(fs))
			}
		})
	}
	wg.Wait()
}

// secrets_gen.go is what the generator makes from the gitleaks version
// in go.mod.
func TestSecretsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator")
	}
	out := filepath.Join(t.TempDir(), "secrets_gen.go")
	cmd := exec.Command("go", "run", "./internal/gensecrets", "-o", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("secrets_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, have) {
		t.Fatal("secrets_gen.go is stale: run go generate ./verify")
	}
}

func TestShannonEntropy(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"", 0}, {"aaaa", 0}, {"abab", 1}, {"abcd", 2}} {
		if got := shannonEntropy([]byte(c.in)); got != c.want {
			t.Errorf("entropy(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
