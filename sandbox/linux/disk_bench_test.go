package linux

import (
	"os"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// BenchmarkDiskWatch is what the disk bound costs: measuring the
// writable filesystems when a run starts (on the run's path), and one
// poll (every diskPoll, on a goroutine of its own while it runs).
func BenchmarkDiskWatch(b *testing.B) {
	ws, err := os.MkdirTemp("/var/tmp", "cordon-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(ws)
	caches, err := sandbox.DefaultCacheDir()
	if err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(caches, 0o700)
	paths := []string{ws, caches}
	l := sandbox.Limits{Disk: 1 << 40}.WithDefaults()
	b.Run("start", func(b *testing.B) {
		for b.Loop() {
			if newDiskWatch(paths, l) == nil {
				b.Fatal("nothing to watch")
			}
		}
	})
	b.Run("poll", func(b *testing.B) {
		w := newDiskWatch(paths, l)
		for b.Loop() {
			if w.check() {
				b.Fatal(w.Detail())
			}
		}
	})
}
