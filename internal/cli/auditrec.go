package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

// openAudit opens the log a run appends to, unless --no-audit, with sync
// saying when its records reach the disk.
func openAudit(f *execFlags, sync audit.Sync) (*audit.Log, error) {
	if f.noAudit {
		return nil, nil
	}
	path := f.auditLog
	if path == "" {
		var err error
		if path, err = audit.DefaultPath(); err != nil {
			return nil, fmt.Errorf("audit log (pass --audit-log or --no-audit): %w", err)
		}
	}
	opts := audit.Options{Sync: sync}
	if f.auditKey != "" {
		key, err := audit.ReadPrivateKey(f.auditKey)
		if err != nil {
			return nil, fmt.Errorf("audit key: %w", err)
		}
		opts.SigningKey = key
	}
	l, err := audit.Open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("audit log (pass --no-audit to record nothing): %w", err)
	}
	return l, nil
}

// newGuard builds the pipeline the flags describe for workspace ws: its
// policy, and its audit log (nil with --no-audit). close closes the log
// and reports a record that did not reach the disk on warn. Every request
// is recorded, whatever comes of it: a log that cannot be opened stops
// the front door, since what is not recorded does not happen.
//
// A front door that lives for many commands (a session, the MCP server)
// passes audit.SyncBehind: each record's fsync runs while the result goes
// back, and the next command waits for it (guard.Run flushes first). A
// one-shot run passes audit.SyncEvery.
func (f *execFlags) newGuard(ws string, warn io.Writer, sync audit.Sync) (g *guard.Guard, close func(), err error) {
	pol, err := loadPolicy(ws, f.policyFile)
	if err != nil {
		return nil, nil, err
	}
	log, err := openAudit(f, sync)
	if err != nil {
		return nil, nil, &exitError{code: ExitCordon, err: err}
	}
	home, _ := os.UserHomeDir()
	g = &guard.Guard{Policy: pol, Backend: linux.Backend{}, Audit: log, Warn: warn, Home: home}
	return g, func() {
		if log == nil {
			return
		}
		if err := log.Close(); err != nil && warn != nil {
			fmt.Fprintf(warn, "cordon: audit log: %v\n", err)
		}
	}, nil
}
