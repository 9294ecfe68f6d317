package cli

import (
	"fmt"

	"github.com/cordon-sh/cordon/audit"
)

// auditRun is the record of one exec, appended once at its end.
type auditRun struct {
	log *audit.Log
	r   *audit.Record
}

// openAudit opens the log a run appends to, unless --no-audit.
func openAudit(f *execFlags) (*auditRun, error) {
	a := &auditRun{r: &audit.Record{}}
	if f.noAudit {
		return a, nil
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
	a.log = l
	return a, nil
}

func (a *auditRun) append() error {
	if a.log == nil {
		return nil
	}
	if err := a.log.Append(a.r); err != nil {
		return fmt.Errorf("audit log: %w (cordon audit repair mends a torn last record)", err)
	}
	return nil
}

func (a *auditRun) close() {
	if a.log != nil {
		a.log.Close()
	}
}
