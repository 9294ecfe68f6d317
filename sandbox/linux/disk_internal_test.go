package linux

import (
	"os"
	"path/filepath"
	"strings"
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

func TestSize(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{512, "512B"},
		{64 << 20, "64M"},
		{15872 << 10, "15.5M"},
		{16<<20 - 1, "15.9M"},
		{1536 << 20, "1.5G"},
		{150<<20 + 1, "150M"},
		{2 << 30, "2G"},
	} {
		if got := size(tt.n); got != tt.want {
			t.Errorf("size(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

// TestDiskReserveFor checks the default reserve: the smaller of 5% of
// the filesystem and 2 GiB, and an explicit reserve as it is.
func TestDiskReserveFor(t *testing.T) {
	for _, tt := range []struct {
		reserve, fs, want int64
	}{
		{0, 20 << 30, 1 << 30},
		{0, 1 << 40, sandbox.DefaultDiskReserve},
		{0, 8 << 20, 8 << 20 * 5 / 100},
		{10 << 30, 100 << 30, 10 << 30},
		{-1, 100 << 30, 0},
	} {
		if got := (sandbox.Limits{DiskReserve: tt.reserve}).DiskReserveFor(tt.fs); got != tt.want {
			t.Errorf("reserve %d on %d: %d, want %d", tt.reserve, tt.fs, got, tt.want)
		}
	}
}

// A writable path whose filesystem cannot be measured is named in the
// run's warnings: the bound is not in force there, and the run says so.
func TestDiskWatchUnmeasured(t *testing.T) {
	ws := t.TempDir()
	missing := filepath.Join(t.TempDir(), "gone")
	w := newDiskWatch([]string{ws, missing}, sandbox.Limits{Disk: 1 << 30, DiskReserve: -1})
	if w == nil || len(w.fss) != 1 {
		t.Fatalf("watch: %+v", w)
	}
	warns := w.Warnings()
	if len(warns) != 1 || !strings.Contains(warns[0], missing) || !strings.Contains(warns[0], "not in force") {
		t.Fatalf("warnings: %q", warns)
	}
}
