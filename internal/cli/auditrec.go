package cli

import (
	"fmt"

	"github.com/cordon-sh/cordon/audit"
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
