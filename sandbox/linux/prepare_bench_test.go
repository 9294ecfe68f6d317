package linux

import (
	"os"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// BenchmarkPrepare is the parent's planning of a run, placeholders and
// cgroup aside, with and without the default protected paths.
func BenchmarkPrepare(b *testing.B) {
	for _, bc := range []struct {
		name    string
		protect bool
	}{{"protected", true}, {"unprotected", false}} {
		b.Run(bc.name, func(b *testing.B) {
			ws, err := os.MkdirTemp("/var/tmp", "cordon-bench-")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(ws)
			spec, err := sandbox.NewSpec(ws, []string{"/bin/true"})
			if err != nil {
				b.Fatal(err)
			}
			spec.NoCgroup = true
			if !bc.protect {
				spec.Filesystem.Protected = nil
			}
			for b.Loop() {
				r, err := prepare(spec, false)
				if err != nil {
					b.Fatal(err)
				}
				r.cleanup()
			}
		})
	}
}
