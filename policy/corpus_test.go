package policy

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpusDir holds the public command corpora (see its README.md).
const corpusDir = "../../shared/corpora"

// unescape undoes the corpora's four escapes, left to right.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readCorpus returns the unescaped values of one column of a corpus file.
func readCorpus(t testing.TB, name, column string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	if !sc.Scan() {
		t.Fatalf("%s: empty", name)
	}
	col := slices.Index(strings.Split(sc.Text(), "\t"), column)
	if col < 0 {
		t.Fatalf("%s: no column %q", name, column)
	}
	var out []string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if col < len(fields) {
			out = append(out, unescape(fields[col]))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var corpusReq = Request{Workspace: "/home/agent/project", Home: "/home/agent"}

// TestCorpusRedCode judges RedCode's risky bash scripts: almost none may
// be allowed. Some of RedCode's scenarios are code weaknesses rather than
// dangerous commands, so the bound is not zero.
func TestCorpusRedCode(t *testing.T) {
	scripts := readCorpus(t, "redcode-bash.tsv", "command_or_script")
	p := Default()
	var allowed []string
	counts := map[Verdict]int{}
	for _, s := range scripts {
		req := corpusReq
		req.Command = s
		d := p.Decide(req)
		counts[d.Verdict]++
		if d.Verdict == Allow {
			allowed = append(allowed, s)
		}
	}
	rate := float64(len(allowed)) / float64(len(scripts))
	t.Logf("redcode-bash: %d scripts; allow %d, ask %d, deny %d; allowed %.2f%% (bound 2%%)",
		len(scripts), counts[Allow], counts[Ask], counts[Deny], 100*rate)
	if testing.Verbose() {
		for _, s := range allowed {
			t.Logf("allowed: %q", s)
		}
	}
	if rate > 0.02 {
		t.Errorf("%.2f%% of RedCode's risky scripts allowed; the bound is 2%%", 100*rate)
	}
}

// TestCorpusNL2Bash judges NL2Bash's benign one-liners: asking is fine,
// denying must stay rare, or the policy is in the way of ordinary work.
func TestCorpusNL2Bash(t *testing.T) {
	cmds := readCorpus(t, "nl2bash-benign.tsv", "command")
	p := Default()
	counts := map[Verdict]int{}
	byRule := map[string]int{}
	var denied []string
	for _, s := range cmds {
		req := corpusReq
		req.Command = s
		d := p.Decide(req)
		counts[d.Verdict]++
		if d.Verdict == Deny {
			byRule[d.Rule]++
			denied = append(denied, d.Rule+": "+s)
		}
	}
	rate := float64(counts[Deny]) / float64(len(cmds))
	t.Logf("nl2bash-benign: %d commands; allow %d, ask %d, deny %d; denied %.2f%% (bound 3%%); denials by rule %v",
		len(cmds), counts[Allow], counts[Ask], counts[Deny], 100*rate, byRule)
	if testing.Verbose() && os.Getenv("CORDON_CORPUS_LIST") != "" {
		for _, s := range denied {
			t.Logf("denied: %s", s)
		}
	}
	if rate > 0.03 {
		t.Errorf("%.2f%% of NL2Bash's benign commands denied; the bound is 3%%", 100*rate)
	}
}
