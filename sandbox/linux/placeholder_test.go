package linux_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/sandbox/linux"
)

// A run removes its placeholders when it ends, even while runs on other
// workspaces go on; while another run on the same workspace goes on, the
// last one to end removes them.
func TestPlaceholdersWithOtherRuns(t *testing.T) {
	long := func(ws string) (stop func()) {
		spec := newSpec(t, ws, "sleep", "30")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			linux.Backend{}.Run(ctx, spec)
		}()
		// Wait until its placeholders are there.
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Lstat(filepath.Join(ws, ".vscode")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the long run did not start")
			}
			time.Sleep(10 * time.Millisecond)
		}
		return func() { cancel(); <-done }
	}
	empty := func(ws string) bool {
		names, _ := os.ReadDir(ws)
		return len(names) == 0
	}

	// Another workspace, on a run of its own: 100 workspaces cover any
	// way of sharing lock files by hash.
	other := workspace(t, nil)
	stop := long(other)
	for range 100 {
		ws := workspace(t, nil)
		runSpec(t, newSpec(t, ws, "true"))
		if !empty(ws) {
			names, _ := os.ReadDir(ws)
			t.Fatalf("placeholders left in %s while another workspace ran: %d entries", ws, len(names))
		}
	}
	stop()
	if !empty(other) {
		t.Fatal("the long run left its placeholders")
	}

	// The same workspace: the short run leaves them for the long one.
	ws := workspace(t, nil)
	stop = long(ws)
	runSpec(t, newSpec(t, ws, "true"))
	if empty(ws) {
		t.Fatal("a run removed the placeholders of a run still going")
	}
	stop()
	if !empty(ws) {
		t.Fatal("the last run did not remove the placeholders")
	}
}
