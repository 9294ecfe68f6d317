package linux_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

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

// BenchmarkColdStartDisk is BenchmarkColdStart with the disk bound on (the
// default limits) and off (Disk and DiskReserve -1), interleaved so that
// both see the same machine noise; it reports the median of each.
func BenchmarkColdStartDisk(b *testing.B) {
	ws, err := os.MkdirTemp(baseDir, "bench-")
	if err != nil {
		b.Fatal(err)
	}
	on, err := sandbox.NewSpec(ws, []string{"/bin/true"})
	if err != nil {
		b.Fatal(err)
	}
	off := *on
	off.Limits.Disk, off.Limits.DiskReserve = -1, -1
	var tOn, tOff []time.Duration
	for i := 0; b.Loop(); i++ {
		for j, spec := range []*sandbox.Spec{on, &off} {
			if i%2 == 1 {
				// Alternate which goes first.
				spec = []*sandbox.Spec{&off, on}[j]
			}
			start := time.Now()
			res, err := linux.Backend{}.Run(context.Background(), spec)
			if err != nil {
				b.Fatal(err)
			}
			if res.ExitCode != 0 {
				b.Fatalf("exit %d", res.ExitCode)
			}
			if spec == on {
				tOn = append(tOn, time.Since(start))
			} else {
				tOff = append(tOff, time.Since(start))
			}
		}
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(tOn), "ms-disk-on")
	b.ReportMetric(median(tOff), "ms-disk-off")
}

// BenchmarkSessionRunDisk is BenchmarkSessionRun in two sessions, one
// with the disk bound on (the default limits) and one with it off,
// commands interleaved; it reports the median of each.
func BenchmarkSessionRunDisk(b *testing.B) {
	var sessions []*linux.Session
	for _, off := range []bool{false, true} {
		ws, err := os.MkdirTemp(baseDir, "bench-")
		if err != nil {
			b.Fatal(err)
		}
		spec, err := sandbox.NewSpec(ws, nil)
		if err != nil {
			b.Fatal(err)
		}
		if off {
			spec.Limits.Disk, spec.Limits.DiskReserve = -1, -1
		}
		s, err := linux.Backend{}.Start(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sessions = append(sessions, s)
	}
	cmd := &sandbox.Command{Args: []string{"/bin/true"}}
	times := make([][]time.Duration, 2)
	for i := 0; b.Loop(); i++ {
		for j := range 2 {
			k := (i + j) % 2 // alternate which goes first
			start := time.Now()
			res, err := sessions[k].Run(context.Background(), cmd)
			if err != nil {
				b.Fatal(err)
			}
			if res.ExitCode != 0 {
				b.Fatalf("exit %d", res.ExitCode)
			}
			times[k] = append(times[k], time.Since(start))
		}
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / 1e6
	}
	b.ReportMetric(median(times[0]), "ms-disk-on")
	b.ReportMetric(median(times[1]), "ms-disk-off")
}
