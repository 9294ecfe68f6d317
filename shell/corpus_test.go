package shell

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// corpusDir holds public corpora of real commands, shared by the
// repository's packages; see its README.md for the format.
const corpusDir = "../../shared/corpora/"

// TestCorpora analyses every command of the shared corpora: they must not
// make Analyze panic or break its invariants, and nearly all of them must
// parse.
func TestCorpora(t *testing.T) {
	tests := []struct {
		file    string
		column  int     // 0-based column holding the shell text
		maxFail float64 // largest acceptable fraction of parse errors
	}{
		{"nl2bash-benign.tsv", 2, 0.01},
		{"redcode-bash.tsv", 3, 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rows, err := readCorpus(corpusDir+tt.file, tt.column)
			if errors.Is(err, os.ErrNotExist) {
				t.Skipf("corpus not present: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			failed, dynamic, commands := 0, 0, 0
			for _, src := range rows {
				an, err := Analyze(src)
				if err != nil {
					var pe *ParseError
					if !errors.As(err, &pe) {
						t.Errorf("Analyze(%q) returned %T, want *ParseError", src, err)
					}
					failed++
					if testing.Verbose() && failed <= 20 {
						t.Logf("parse error: %v: %q", err, src)
					}
					continue
				}
				checkInvariants(t, src, an)
				commands += len(an.Commands)
				if an.Dynamic {
					dynamic++
				}
			}
			rate := float64(failed) / float64(len(rows))
			t.Logf("%s: %d rows, %d parse errors (%.2f%%), %d dynamic, %d commands",
				tt.file, len(rows), failed, 100*rate, dynamic, commands)
			if rate > tt.maxFail {
				t.Errorf("parse error rate %.2f%% is above %.2f%%", 100*rate, 100*tt.maxFail)
			}
		})
	}
}

// readCorpus returns one column of a corpus file, skipping the header and
// undoing the corpus escapes.
func readCorpus(path string, column int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue
		}
		fields := strings.Split(sc.Text(), "\t")
		if column >= len(fields) {
			return nil, errors.New(path + ": short row")
		}
		rows = append(rows, unescapeField(fields[column]))
	}
	return rows, sc.Err()
}

// unescapeField undoes the corpus escaping: \\, \t, \n and \r, read left
// to right.
func unescapeField(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '\\':
				c = '\\'
			case 't':
				c = '\t'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			default:
				sb.WriteByte(c)
				continue
			}
			i++
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
