package linux

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// diskPoll is how often a run's writable filesystems are measured. A
// writer can overshoot a disk limit by what it writes in one interval.
const diskPoll = 20 * time.Millisecond

// diskWatch bounds what a run adds to the filesystems it can write. It
// measures free space with statfs, so it sees whatever fills a
// filesystem, the run or anything else on the host: it is a guard
// against a full disk, not an account of what the run wrote.
type diskWatch struct {
	fss []*fsWatch
	// unmeasured says which writable paths could not be measured: the
	// run's result warns of each, since the bound is not in force there.
	unmeasured []string
	// detail says what was crossed; check stores it before the kill
	// reason is set, so a caller that reads ReasonDisk finds it.
	detail atomic.Pointer[string]
}

// Detail says what check found crossed, or "".
func (w *diskWatch) Detail() string {
	if w == nil {
		return ""
	}
	if d := w.detail.Load(); d != nil {
		return *d
	}
	return ""
}

// fsWatch is one filesystem: the floors its free bytes and free inodes
// may not fall under, and why.
type fsWatch struct {
	path string // the first writable path on it, for messages

	startFree, startFiles int64
	// capFloor is startFree less Limits.Disk, when hasCap.
	capFloor int64
	hasCap   bool
	// reserveFloor and fileFloor come from the reserve, lowered to leave
	// the allowance when the filesystem was nearly full already.
	reserveFloor, fileFloor int64
	reserve, fileReserve    int64
	// nearlyFull and fewInodes say the filesystem was under its reserve
	// when the run started.
	nearlyFull, fewInodes bool
	hasInodes             bool
}

// newDiskWatch measures the filesystems of paths (a writable path on a
// filesystem seen already adds nothing), or returns nil when l bounds
// nothing. A path that cannot be measured is left out, and named in
// Warnings: its writes are then bounded only by the file-size limit.
func newDiskWatch(paths []string, l sandbox.Limits) *diskWatch {
	if l.Disk < 0 && l.DiskReserve < 0 {
		return nil
	}
	w := &diskWatch{}
	seen := map[uint64]bool{}
	for _, p := range paths {
		var st unix.Stat_t
		var sf unix.Statfs_t
		if err := unix.Stat(p, &st); err != nil {
			w.unmeasured = append(w.unmeasured, fmt.Sprintf("%s (%v)", p, err))
			continue
		}
		if err := unix.Statfs(p, &sf); err != nil {
			w.unmeasured = append(w.unmeasured, fmt.Sprintf("%s (%v)", p, err))
			continue
		}
		if seen[st.Dev] {
			continue
		}
		seen[st.Dev] = true
		bsize := sf.Bsize
		free := int64(sf.Bavail) * bsize
		f := &fsWatch{path: p, startFree: free, startFiles: int64(sf.Ffree)}
		if l.Disk >= 0 {
			f.capFloor, f.hasCap = free-l.Disk, true
		}
		fsSize := int64(sf.Blocks) * bsize
		f.reserve = l.DiskReserveFor(fsSize)
		f.reserveFloor = f.reserve
		if free < f.reserve {
			// Under the reserve already: stopping the run at once would
			// stop even reading; it gets the allowance.
			f.reserveFloor, f.nearlyFull = free-sandbox.DiskAllowance, true
		}
		// Filesystems that allocate inodes as they go (btrfs) report
		// none; for them only bytes count.
		if sf.Files > 0 && fsSize > 0 {
			f.hasInodes = true
			f.fileReserve = int64(float64(sf.Files) * float64(f.reserve) / float64(fsSize))
			f.fileFloor = f.fileReserve
			if f.startFiles < f.fileReserve {
				f.fileFloor, f.fewInodes = f.startFiles-sandbox.DiskAllowanceFiles, true
			}
		}
		w.fss = append(w.fss, f)
	}
	if len(w.fss) == 0 {
		return nil
	}
	return w
}

// check measures each filesystem once and reports whether a floor was
// crossed, storing in w.detail which.
func (w *diskWatch) check() bool {
	for _, f := range w.fss {
		var detail string
		var sf unix.Statfs_t
		if unix.Statfs(f.path, &sf) != nil {
			continue
		}
		free := int64(sf.Bavail) * sf.Bsize
		ffree := int64(sf.Ffree)
		switch {
		case f.hasCap && free < f.capFloor:
			detail = fmt.Sprintf("the run added %s to the filesystem of %s, more than its disk limit of %s",
				size(f.startFree-free), f.path, size(f.startFree-f.capFloor))
		case free < f.reserveFloor && f.nearlyFull:
			detail = fmt.Sprintf("the filesystem of %s was already nearly full when the run started (%s free, under the reserve of %s); the run may add at most %s to it",
				f.path, size(f.startFree), size(f.reserve), size(sandbox.DiskAllowance))
		case free < f.reserveFloor:
			detail = fmt.Sprintf("free space on the filesystem of %s fell to %s, under the reserve of %s",
				f.path, size(max(free, 0)), size(f.reserve))
		case f.hasInodes && ffree < f.fileFloor && f.fewInodes:
			detail = fmt.Sprintf("the filesystem of %s had few free inodes when the run started (%d, under the reserve of %d); the run may create at most %d files on it",
				f.path, f.startFiles, f.fileReserve, sandbox.DiskAllowanceFiles)
		case f.hasInodes && ffree < f.fileFloor:
			detail = fmt.Sprintf("free inodes on the filesystem of %s fell to %d, under the reserve of %d",
				f.path, ffree, f.fileReserve)
		default:
			continue
		}
		w.detail.Store(&detail)
		return true
	}
	return false
}

// size writes n bytes for a person: 1.5G, 64M, 900K. It rounds down, so
// that free space just under a reserve does not read as the reserve.
func size(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.n {
			if n%u.n == 0 || n >= 100*u.n {
				return fmt.Sprintf("%d%s", n/u.n, u.s)
			}
			return fmt.Sprintf("%d.%d%s", n/u.n, n%u.n*10/u.n, u.s)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// watchDisk kills the run when w finds a floor crossed. The run does not
// wait for it to end: statfs on a network filesystem whose server is gone
// can block, and a run must not hang on its watcher.
func watchDisk(w *diskWatch, why *killReason, kill func(), stop <-chan struct{}) {
	watch(diskPoll, why, kill, stop, func() sandbox.Reason {
		if w.check() {
			return sandbox.ReasonDisk
		}
		return ""
	})
}

// Warnings says where the disk bound is not in force.
func (w *diskWatch) Warnings() []string {
	if w == nil {
		return nil
	}
	var out []string
	for _, p := range w.unmeasured {
		out = append(out, "disk limits not in force for "+p+": writes there are bounded by the file-size limit only")
	}
	return out
}

// DiskInfo is what cordon doctor says about the filesystem a workspace is
// on: its type, size, free space and the default reserve a run keeps.
type DiskInfo struct {
	Path         string `json:"path"`
	Type         string `json:"type"`
	Size         int64  `json:"size_bytes"`
	Free         int64  `json:"free_bytes"`
	Reserve      int64  `json:"default_reserve_bytes"`
	UnderReserve bool   `json:"under_reserve"`
	Inodes       bool   `json:"inodes_counted"`
}

// ProbeDisk measures the filesystem of path as a run's disk watch would.
func ProbeDisk(path string) (*DiskInfo, error) {
	var sf unix.Statfs_t
	if err := unix.Statfs(path, &sf); err != nil {
		return nil, err
	}
	size := int64(sf.Blocks) * sf.Bsize
	d := &DiskInfo{Path: path, Type: fsType(sf.Type), Size: size, Free: int64(sf.Bavail) * sf.Bsize,
		Reserve: sandbox.Limits{}.DiskReserveFor(size), Inodes: sf.Files > 0}
	d.UnderReserve = d.Free < d.Reserve
	return d, nil
}

// SizeString prints n bytes as disk messages do.
func SizeString(n int64) string { return size(n) }

// fsType names the common filesystem magic numbers.
func fsType(t int64) string {
	switch uint32(t) {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlay"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case 0x65735546:
		return "fuse"
	case 0x2fc12fc1:
		return "zfs"
	}
	return fmt.Sprintf("0x%x", uint32(t))
}
