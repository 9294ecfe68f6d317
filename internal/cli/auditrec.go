package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

// openAudit opens the log a run appends to, unless --no-audit.
func openAudit(f *execFlags) (*audit.Log, error) {
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
	var opts audit.Options
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
// policy, and its audit log (nil with --no-audit). close closes the log.
// Every request is recorded, whatever comes of it: a log that cannot be
// opened stops the front door, since what is not recorded does not happen.
func (f *execFlags) newGuard(ws string, warn io.Writer) (g *guard.Guard, close func(), err error) {
	pol, err := loadPolicy(ws, f.policyFile)
	if err != nil {
		return nil, nil, err
	}
	log, err := openAudit(f)
	if err != nil {
		return nil, nil, &exitError{code: ExitCordon, err: err}
	}
	home, _ := os.UserHomeDir()
	g = &guard.Guard{Policy: pol, Backend: linux.Backend{}, Audit: log, Warn: warn, Home: home}
	return g, func() {
		if log != nil {
			log.Close()
		}
	}, nil
}
