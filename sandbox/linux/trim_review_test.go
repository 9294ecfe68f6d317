package linux_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// trimProgram trims its resident pages as an idle session's init and
// owner do, then goes on working: formatting through interfaces, maps and
// reflection reads type data the linker relocated.
const trimProgram = `package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/cordon-sh/cordon/sandbox/linux"
)

type thing struct{ A, B string }

func main() {
	for i := 0; i < 3; i++ {
		linux.TrimResident()
		m := map[string]any{"x": thing{"a", "b"}, "y": []int{1, 2}, "z": fmt.Errorf("e%d", i)}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(os.Stdout, "%s=%v;", k, m[k])
		}
	}
	fmt.Println("ok")
}
`

// A cordon built as a position-independent executable (as distributions
// build Go programs) has relocated read-only data: pages the dynamic
// loader wrote, then made read-only (RELRO). trimResident drops every
// read-only mapping of the executable with MADV_DONTNEED, which for a
// private mapping throws away those written pages: they fault back in
// from the file, unrelocated.
func TestReviewTrimResidentPIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	wd, _ := os.Getwd()
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	// The program is built inside this module, so the test needs the
	// source tree; a test binary run elsewhere (as the unprivileged pass
	// does) has none.
	if _, err := os.Stat(filepath.Join(root, "sandbox", "linux", "trim_review_test.go")); err != nil {
		t.Skip("not run from the source tree")
	}
	dir := filepath.Join(root, "internal", "trimreviewtmp")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(trimProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"exe", "pie"} {
		t.Run(mode, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "trim")
			b := exec.Command(gobin, "build", "-buildmode="+mode, "-o", bin, "./internal/trimreviewtmp")
			b.Dir = root
			if out, err := b.CombinedOutput(); err != nil {
				t.Skipf("build -buildmode=%s: %v\n%s", mode, err, out)
			}
			out, err := exec.Command(bin).CombinedOutput()
			if err != nil || len(out) < 3 || string(out[len(out)-3:]) != "ok\n" {
				tail := out
				if len(tail) > 1500 {
					tail = tail[:1500]
				}
				t.Errorf("-buildmode=%s: after TrimResident the process failed: %v\n%s", mode, err, tail)
			}
		})
	}
}
