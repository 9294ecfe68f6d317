package audit

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify, as a log and as its head,
// and to ParseRecord: garbage is a Report or an error, never a panic, and
// a report never claims more records than there are lines.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-23T14:00:00Z","prev":"","command":"true"}`+"\n"), []byte(`{"seq":1,"hash":"","sig":""}`))
	f.Add([]byte(`{"seq":1,"prev":""}`+"\n"+`{"seq":2,"prev":"x"}`+"\n"+`{"seq":`), []byte(``))
	f.Add([]byte("\n\n{}\n[]\nnull\n{\"seq\":-1}\n{\"seq\":18446744073709551615,\"prev\":\"\"}\n"), []byte(`{"seq":99}`))
	f.Fuzz(func(t *testing.T, log, head []byte) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(path, log, 0o600); err != nil {
			t.Fatal(err)
		}
		if len(head) > 0 {
			os.WriteFile(HeadPath(path), head, 0o600)
		}
		rep, err := Verify(path, VerifyOptions{PublicKey: make([]byte, 32)})
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, b := range log {
			if b == '\n' {
				lines++
			}
		}
		if rep.Records != lines {
			t.Fatalf("%d records from %d lines", rep.Records, lines)
		}
		for _, p := range rep.Problems {
			_ = p.String()
		}
		for i := 0; i < len(log); {
			j := i
			for j < len(log) && log[j] != '\n' {
				j++
			}
			ParseRecord(log[i:j])
			i = j + 1
		}
	})
}
