package linux_test

import (
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
)

// A process kept by one command of a session (KeepBackground) writes once
// the command has returned. The disk watch runs only while a command
// runs, so between commands nothing watches: the kept writer fills the
// filesystem through the reserve, the guard against a full disk, to the
// last byte.
func TestReview2SessionKeptWriterFillsDiskBetweenCommands(t *testing.T) {
	// Known limit, documented in docs/disk.md and the README: the disk
	// watch runs while a command runs, and a process a session keeps
	// (KeepBackground, which the user policy must allow) writes
	// unwatched between commands. The test stays, to fail the day the
	// watch covers that time and this skip is removed.
	t.Skip("known limit: processes kept between session commands are not disk-bounded (docs/disk.md)")
	const reserve = 16 << 20
	ws := smallFS(t, "32m")
	spec := newSpec(t, ws)
	spec.Limits.DiskReserve = reserve
	s := startSession(t, spec)
	keeper := "(sleep 0.5; mkdir -p fill && cd fill && " + manyFilesScript("512", "0.01") + ") >/dev/null 2>&1 &"
	o := sessionRun(t, s, sandbox.Command{Args: []string{"/bin/sh", "-c", keeper}, KeepBackground: true})
	if o.res.Reason != sandbox.ReasonExit || o.res.ExitCode != 0 {
		t.Fatalf("first command: reason %s, exit %d\n%s", o.res.Reason, o.res.ExitCode, o.tail())
	}
	time.Sleep(3 * time.Second)
	free := freeBytes(t, ws)
	t.Logf("%d KiB free after the kept writer ran between commands", free>>10)
	if free < reserve-2<<20 {
		t.Errorf("free space fell to %d, under the reserve of %d: a kept process writes unwatched between commands", free, reserve)
	}
}
