package linux_test

import (
	"context"
	"os"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

// BenchmarkColdStart is a whole run of /bin/true through the library:
// namespaces, the view, Landlock, seccomp, limits, teardown. The CLI adds
// its own process start; bench/coldstart.sh measures that against
// bubblewrap.
func BenchmarkColdStart(b *testing.B) {
	for _, bc := range []struct {
		name     string
		noCgroup bool
	}{{"cgroup", false}, {"rlimits-only", true}} {
		b.Run(bc.name, func(b *testing.B) {
			ws, err := os.MkdirTemp(baseDir, "bench-")
			if err != nil {
				b.Fatal(err)
			}
			spec, err := sandbox.NewSpec(ws, []string{"/bin/true"})
			if err != nil {
				b.Fatal(err)
			}
			spec.NoCgroup = bc.noCgroup
			for b.Loop() {
				res, err := linux.Backend{}.Run(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if res.ExitCode != 0 {
					b.Fatalf("exit %d", res.ExitCode)
				}
			}
		})
	}
}

// BenchmarkSessionRun is a command in a warm session: /bin/true forked
// from the session's init, its pipes, and the clean-up after it. Compare
// BenchmarkColdStart; bench/session.sh compares both with bubblewrap.
func BenchmarkSessionRun(b *testing.B) {
	ws, err := os.MkdirTemp(baseDir, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	spec, err := sandbox.NewSpec(ws, nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := linux.Backend{}.Start(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cmd := &sandbox.Command{Args: []string{"/bin/true"}}
	for b.Loop() {
		res, err := s.Run(context.Background(), cmd)
		if err != nil {
			b.Fatal(err)
		}
		if res.ExitCode != 0 {
			b.Fatalf("exit %d", res.ExitCode)
		}
	}
}
