package linux_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Spec.Ready holds back every change to the workspace and the command
// until it returns; an error from it stops the run before the command.
func TestReady(t *testing.T) {
	t.Run("waited-for", func(t *testing.T) {
		ws := workspace(t, nil)
		spec := newSpec(t, ws, "cat", "note")
		var early []string
		spec.Ready = func() error {
			// The sandbox is being built; nothing of it may be in the
			// workspace yet, and the command must not have run.
			time.Sleep(100 * time.Millisecond)
			entries, err := os.ReadDir(ws)
			if err != nil {
				return err
			}
			for _, e := range entries {
				early = append(early, e.Name())
			}
			return os.WriteFile(filepath.Join(ws, "note"), []byte("written when ready"), 0o644)
		}
		o := runSpec(t, spec)
		if len(early) > 0 {
			t.Errorf("the workspace changed before Ready returned: %q", early)
		}
		if o.res.ExitCode != 0 || o.stdout != "written when ready" {
			t.Errorf("the command did not wait for Ready: exit %d, stdout %q, stderr %q", o.res.ExitCode, o.stdout, o.stderr)
		}
	})
	t.Run("error", func(t *testing.T) {
		ws := workspace(t, nil)
		spec := newSpec(t, ws, "touch", "ran")
		notReady := errors.New("not ready")
		spec.Ready = func() error { return notReady }
		_, err := tryRun(t, spec)
		if !errors.Is(err, notReady) {
			t.Errorf("Run returned %v, want Ready's error", err)
		}
		entries, _ := os.ReadDir(ws)
		for _, e := range entries {
			t.Errorf("left in the workspace: %s (the command ran, or a placeholder stayed)", e.Name())
		}
	})
}
