package linux_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// manyFiles writes files of KB kibibytes each into the working directory,
// without end, pausing PAUSE seconds between them (a shell loop, so that
// a process tree is killed, not one writer).
const manyFiles = `i=0; while :; do head -c $((KB*1024)) /dev/zero > f$i || exit 3; i=$((i+1)); sleep PAUSE; done`

func manyFilesScript(kb, pause string) string {
	return strings.NewReplacer("KB", kb, "PAUSE", pause).Replace(manyFiles)
}

// treeBytes is the size of the regular files below dir, and their number.
func treeBytes(t *testing.T, dir string) (bytes int64, files int) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				bytes += info.Size()
				files++
			}
		}
		return nil
	})
	return bytes, files
}

// expectStill fails the test if the files below dir keep changing once
// the run is over: something of the run is still writing.
func expectStill(t *testing.T, dir string) (int64, int) {
	t.Helper()
	b0, n0 := treeBytes(t, dir)
	time.Sleep(150 * time.Millisecond)
	b1, n1 := treeBytes(t, dir)
	if b1 != b0 || n1 != n0 {
		t.Errorf("SANDBOX ESCAPE: writing went on after the run ended: %d bytes in %d files, then %d in %d", b0, n0, b1, n1)
	}
	return b1, n1
}

// overshoot bounds what a writer may add past a disk limit: what it
// writes in a few poll intervals at page-cache speed.
const overshoot = 256 << 20

func TestDiskLimitBigFile(t *testing.T) {
	const limit = 32 << 20
	ws := workspace(t, nil)
	big := filepath.Join(ws, "big")
	start := time.Now()
	o := attack(t, ws, func(s *sandbox.Spec) { s.Limits.Disk = limit }, "diskfill", big, "2048")
	if o.res.Reason != sandbox.ReasonDisk {
		t.Fatalf("want reason disk, got %s (exit %d)\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
	if !strings.Contains(o.res.Detail, "disk limit of 32M") {
		t.Errorf("detail %q does not name the limit", o.res.Detail)
	}
	n, _ := expectStill(t, ws)
	t.Logf("stopped after %s with %d MiB written: %s", time.Since(start).Round(time.Millisecond), n>>20, o.res.Detail)
	if n > limit+overshoot {
		t.Errorf("SANDBOX ESCAPE: %d bytes written past a disk limit of %d", n, limit)
	}
}

func TestDiskLimitManyFiles(t *testing.T) {
	const limit = 8 << 20
	ws := workspace(t, nil)
	spec := newSpec(t, ws, "/bin/sh", "-c", manyFilesScript("64", "0"))
	spec.Limits.Disk = limit
	spec.Limits.Timeout = 10 * time.Second
	o := runSpec(t, spec)
	if o.res.Reason != sandbox.ReasonDisk {
		t.Fatalf("want reason disk, got %s (exit %d)\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
	n, files := expectStill(t, ws)
	t.Logf("%d files, %d KiB", files, n>>10)
	if n > limit+overshoot {
		t.Errorf("SANDBOX ESCAPE: %d bytes written past a disk limit of %d", n, limit)
	}
}

func TestSessionDiskLimit(t *testing.T) {
	const limit = 8 << 20
	ws := workspace(t, nil)
	spec := newSpec(t, ws)
	spec.Limits.Disk = limit
	s := startSession(t, spec)
	c := sh("mkdir -p fill && cd fill && " + manyFilesScript("64", "0"))
	c.Timeout = 10 * time.Second
	o := sessionRun(t, s, c)
	if o.res.Reason != sandbox.ReasonDisk {
		t.Fatalf("want reason disk, got %s (exit %d)\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
	if o.res.Detail == "" {
		t.Error("no detail for a disk stop")
	}
	n, _ := expectStill(t, ws)
	if n > limit+overshoot {
		t.Errorf("SANDBOX ESCAPE: %d bytes written past a disk limit of %d", n, limit)
	}
	if d := descendants(s.Pid()); len(d) > 0 {
		t.Errorf("the command's processes outlived it: %v", d)
	}
	// The limit is the command's: the next one starts afresh and may
	// write up to it again.
	o = sessionRun(t, s, sh("rm -rf fill && head -c 4194304 /dev/zero > four && echo ok"))
	if o.res.Reason != sandbox.ReasonExit || o.res.ExitCode != 0 || strings.TrimSpace(o.stdout) != "ok" {
		t.Errorf("the session is not usable after a disk stop: reason %s, exit %d\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
}

// smallFS mounts a tmpfs of size bytes as a fresh workspace, so that a
// reserve can be reached without filling the host's disk.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	ws := scratch(t, "small")
	if err := unix.Mount("tmpfs", ws, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size="+size); err != nil {
		t.Skipf("cannot mount a small filesystem for the test (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(ws, unix.MNT_DETACH) })
	return ws
}

func freeBytes(t *testing.T, path string) int64 {
	t.Helper()
	var sf unix.Statfs_t
	if err := unix.Statfs(path, &sf); err != nil {
		t.Fatal(err)
	}
	return int64(sf.Bavail) * sf.Bsize
}

func TestDiskReserve(t *testing.T) {
	const reserve = 16 << 20
	ws := smallFS(t, "32m")
	spec := newSpec(t, ws, "/bin/sh", "-c", manyFilesScript("512", "0.01"))
	spec.Limits.DiskReserve = reserve
	spec.Limits.Timeout = 10 * time.Second
	o := runSpec(t, spec)
	if o.res.Reason != sandbox.ReasonDisk {
		t.Fatalf("want reason disk, got %s (exit %d)\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
	if !strings.Contains(o.res.Detail, "under the reserve of 16M") || strings.Contains(o.res.Detail, "nearly full") {
		t.Errorf("detail %q does not say the reserve was reached", o.res.Detail)
	}
	expectStill(t, ws)
	// One file more than the reserve allows is what a poll may miss.
	free := freeBytes(t, ws)
	t.Logf("stopped with %d KiB free: %s", free>>10, o.res.Detail)
	if free < reserve-2<<20 {
		t.Errorf("free space fell to %d, under the reserve of %d", free, reserve)
	}
}

func TestDiskReserveNearlyFull(t *testing.T) {
	ws := smallFS(t, "128m")
	// 100M free of 128M, under a reserve of 110M: the run may still add
	// sandbox.DiskAllowance.
	if err := os.WriteFile(filepath.Join(ws, "full"), make([]byte, 28<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	free0 := freeBytes(t, ws)
	spec := newSpec(t, ws, "/bin/sh", "-c", manyFilesScript("1024", "0.005"))
	spec.Limits.DiskReserve = 110 << 20
	spec.Limits.Timeout = 10 * time.Second
	o := runSpec(t, spec)
	if o.res.Reason != sandbox.ReasonDisk {
		t.Fatalf("want reason disk, got %s (exit %d)\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
	if !strings.Contains(o.res.Detail, "already nearly full") {
		t.Errorf("detail %q does not say the disk was nearly full already", o.res.Detail)
	}
	expectStill(t, ws)
	used := free0 - freeBytes(t, ws)
	t.Logf("added %d KiB: %s", used>>10, o.res.Detail)
	if used < sandbox.DiskAllowance-2<<20 || used > sandbox.DiskAllowance+4<<20 {
		t.Errorf("the run added %d bytes to a nearly full filesystem; want about the allowance of %d", used, sandbox.DiskAllowance)
	}
}

// TestDiskOrdinaryWork checks that the default limits let ordinary work
// through: 50 MB and 5,000 files written into the workspace.
func TestDiskOrdinaryWork(t *testing.T) {
	ws := workspace(t, nil)
	script := `head -c 52428800 /dev/zero > big && mkdir many && cd many && i=0; while [ $i -lt 50 ]; do mkdir d$i; j=0; while [ $j -lt 100 ]; do : > d$i/f$j; j=$((j+1)); done; i=$((i+1)); done; echo done`
	spec := newSpec(t, ws, "/bin/sh", "-c", script)
	o := runSpec(t, spec)
	if o.res.Reason != sandbox.ReasonExit || o.res.ExitCode != 0 || strings.TrimSpace(o.stdout) != "done" {
		t.Fatalf("ordinary work did not pass the default limits: reason %s (%s), exit %d\n%s", o.res.Reason, o.res.Detail, o.res.ExitCode, o.tail())
	}
	if n, files := treeBytes(t, ws); n < 50<<20 || files < 5001 {
		t.Errorf("want 50 MiB in 5001 files, found %d bytes in %d", n, files)
	}
}
