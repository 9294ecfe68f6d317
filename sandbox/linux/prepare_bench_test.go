package linux

import (
	"os"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

func BenchmarkPrepare(b *testing.B) {
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
	for b.Loop() {
		r, err := prepare(spec)
		if err != nil {
			b.Fatal(err)
		}
		r.cleanup()
	}
}

func BenchmarkPrepareNoProtect(b *testing.B) {
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
	spec.Filesystem.Protected = nil
	for b.Loop() {
		r, err := prepare(spec)
		if err != nil {
			b.Fatal(err)
		}
		r.cleanup()
	}
}

func BenchmarkNewSpec(b *testing.B) {
	for b.Loop() {
		if _, err := sandbox.NewSpec("/var/tmp", []string{"/bin/true"}); err != nil {
			b.Fatal(err)
		}
	}
}
