package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cordon-sh/cordon/audit"
	"github.com/spf13/cobra"
)

// ExitAuditBad is cordon audit verify's exit status for a log that does
// not verify, torn tails included.
const ExitAuditBad = 1

func newAudit() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and check the audit log",
		Long: `The audit log holds one record per command cordon was asked to run: the
command, the policy's decision, the approval, the sandbox, how it ended and
what it used. Each record carries the hash of the one before, so edits,
deletions and insertions show; see docs/audit.md.

The log is $XDG_STATE_HOME/cordon/audit.jsonl, or
~/.local/state/cordon/audit.jsonl; --log names another.`,
	}
	cmd.AddCommand(newAuditVerify(), newAuditShow(), newAuditTail(), newAuditRepair(), newAuditKeygen())
	return cmd
}

// logFlag adds --log to cmd; the returned function yields the path.
func logFlag(cmd *cobra.Command) func() (string, error) {
	p := cmd.Flags().String("log", "", "the audit log (default: the per-user log)")
	return func() (string, error) {
		if *p != "" {
			return *p, nil
		}
		return audit.DefaultPath()
	}
}

func newAuditVerify() *cobra.Command {
	var pubkey string
	cmd := &cobra.Command{
		Use:   "verify [--log PATH] [--pubkey FILE]",
		Short: "Check the audit log's hash chain and signed head",
		Long: `Check every record of the audit log: that its seq follows the one before
and that it carries the hash of the line before. With --pubkey, the log's
signed head (PATH.head) must carry a good signature and name the last
record, which shows records removed from the end.

Exits 0 when the log verifies, 1 when it does not (each problem is printed
with its line and seq), 1 for a torn last line (run cordon audit repair).`,
		Args: cobra.NoArgs,
	}
	path := logFlag(cmd)
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "public key the head must be signed with (from cordon audit keygen)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := path()
		if err != nil {
			return err
		}
		var opts audit.VerifyOptions
		if pubkey != "" {
			if opts.PublicKey, err = audit.ReadPublicKey(pubkey); err != nil {
				return usageErr("--pubkey: %v", err)
			}
		}
		rep, err := audit.Verify(p, opts)
		if err != nil {
			return &exitError{code: ExitAuditBad, err: err}
		}
		out := cmd.OutOrStdout()
		for _, pr := range rep.Problems {
			fmt.Fprintf(out, "%s: %s\n", p, pr)
		}
		if rep.Torn != nil {
			fmt.Fprintf(out, "%s: torn last line at offset %d (%d bytes): a writer died mid-record; 'cordon audit repair' removes it\n",
				p, rep.Torn.Offset, rep.Torn.Bytes)
		}
		summary := fmt.Sprintf("%d records", rep.Records)
		if rep.Records > 0 {
			summary += fmt.Sprintf(", seq %d to %d", rep.FirstSeq, rep.LastSeq)
		}
		switch {
		case rep.Signed:
			summary += fmt.Sprintf(", head signed at seq %d", rep.Head.Seq)
		case rep.Head != nil:
			summary += fmt.Sprintf(", head at seq %d (signature not checked: no --pubkey)", rep.Head.Seq)
		}
		if !rep.OK() {
			return &exitError{code: ExitAuditBad, err: fmt.Errorf("%s does not verify: %d problems%s; %s",
				p, len(rep.Problems), map[bool]string{true: ", a torn last line", false: ""}[rep.Torn != nil], summary)}
		}
		fmt.Fprintf(out, "%s: ok, %s\n", p, summary)
		return nil
	}
	return cmd
}

func newAuditRepair() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repair [--log PATH]",
		Short: "Remove a torn last line left by a crash",
		Long: `Remove the bytes after the log's last newline: a record a writer did not
finish. Complete records are never removed. Appends refuse to continue a
log with a torn last line until it is repaired.`,
		Args: cobra.NoArgs,
	}
	path := logFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := path()
		if err != nil {
			return err
		}
		n, err := audit.Repair(p)
		if err != nil {
			return &exitError{code: ExitCordon, err: err}
		}
		if n == 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: nothing to repair\n", p)
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: removed a torn last line of %d bytes\n", p, n)
		}
		return nil
	}
	return cmd
}

func newAuditKeygen() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen [--out FILE]",
		Short: "Write a key pair for signing the audit log's head",
		Long: `Write an ed25519 key pair: the private key to FILE (mode 0600) and the
public key to FILE.pub. A log written with the private key gets a signed
head, and cordon audit verify --pubkey FILE.pub then detects records cut
from its end. Keep the private key where the agents cannot read it.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&out, "out", "", "private key file (default: $XDG_CONFIG_HOME/cordon/audit.key)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if out == "" {
			dir, err := os.UserConfigDir()
			if err != nil {
				return err
			}
			out = filepath.Join(dir, "cordon", "audit.key")
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return err
		}
		if _, err := audit.GenerateKey(out, out+".pub"); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "private key: %s\npublic key:  %s.pub\n", out, out)
		return nil
	}
	return cmd
}

// showFlags select records.
type showFlags struct {
	since    string
	decision string
	exit     int
	agent    string
	grep     string
	last     int
	jsonOut  bool
}

func (f *showFlags) add(cmd *cobra.Command, last int) {
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "only records since this long ago (1h30m) or this time (RFC 3339 or 2006-01-02)")
	fl.StringVar(&f.decision, "decision", "", "only records with this decision: allow, ask or deny")
	fl.IntVar(&f.exit, "exit", 0, "only records of commands that exited with this status")
	fl.StringVar(&f.agent, "agent", "", "only records of this agent")
	fl.StringVar(&f.grep, "grep", "", "only records whose command contains this text")
	fl.IntVar(&f.last, "last", last, "only the last N matching records (0: all)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the records as they are in the log, one JSON object a line")
}

// filter returns the predicate the flags describe.
func (f *showFlags) filter(cmd *cobra.Command, now time.Time) (func(*audit.Record) bool, error) {
	var since time.Time
	if f.since != "" {
		if d, err := time.ParseDuration(f.since); err == nil {
			since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, f.since); err == nil {
			since = t
		} else if t, err := time.ParseInLocation(time.DateOnly, f.since, time.Local); err == nil {
			since = t
		} else {
			return nil, usageErr("--since %q: expected a duration (1h30m) or a time (2026-11-23T14:00:00Z, 2026-11-23)", f.since)
		}
	}
	switch f.decision {
	case "", "allow", "ask", "deny":
	default:
		return nil, usageErr("--decision %q: expected allow, ask or deny", f.decision)
	}
	exitSet := cmd.Flags().Changed("exit")
	if f.last < 0 {
		return nil, usageErr("--last %d: expected 0 or more", f.last)
	}
	return func(r *audit.Record) bool {
		switch {
		case !since.IsZero() && r.Time.Before(since):
			return false
		case f.decision != "" && (r.Decision == nil || r.Decision.Verdict != f.decision):
			return false
		case exitSet && (r.Exit == nil || r.Exit.Code != f.exit):
			return false
		case f.agent != "" && r.Agent != f.agent:
			return false
		case f.grep != "" && !strings.Contains(r.Command, f.grep):
			return false
		}
		return true
	}, nil
}

// entry is a record and the line it was read from.
type entry struct {
	rec  *audit.Record
	line []byte
}

// print writes e as --json asks: the line itself, or one line for a person.
func (f *showFlags) print(w io.Writer, e entry) {
	if f.jsonOut {
		w.Write(e.line)
		io.WriteString(w, "\n")
		return
	}
	fmt.Fprintln(w, humanLine(e.rec))
}

// humanLine is one record in one line: time, seq, decision, outcome,
// agent and command.
func humanLine(r *audit.Record) string {
	decision := "-"
	if r.Decision != nil {
		decision = r.Decision.Verdict
	}
	outcome := "not run"
	switch {
	case r.Exit != nil && r.Exit.Reason != "exit":
		outcome = fmt.Sprintf("%d %s", r.Exit.Code, r.Exit.Reason)
	case r.Exit != nil:
		outcome = fmt.Sprintf("exit %d", r.Exit.Code)
	case r.Error != "":
		outcome = "error"
	case r.Approval != nil && !r.Approval.Granted:
		outcome = "refused"
	}
	agent := ""
	if r.Agent != "" {
		agent = "[" + r.Agent + "] "
	}
	// The command is quoted so that newlines and escapes in it cannot
	// fake further lines or drive the reader's terminal.
	cmd := strconv.Quote(r.Command)
	found := ""
	if len(r.Findings) > 0 {
		kinds := map[string]int{}
		for _, f := range r.Findings {
			kinds[string(f.Kind)]++
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			parts = append(parts, fmt.Sprintf("%s×%d", k, kinds[k]))
		}
		found = "  {" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprintf("%s %6d  %-5s  %-12s %s%s%s", r.Time.Local().Format("2006-01-02 15:04:05"), r.Seq, decision, outcome, agent, cmd[1:len(cmd)-1], found)
}

// readEntries reads every complete record of the log at path from offset
// off, and returns the offset after the last complete line. Lines that
// are not records are reported on warn and skipped.
func readEntries(path string, off int64, warn io.Writer, fn func(entry)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			// A line without its newline is still being written, or
			// torn; it is read when it is complete.
			return off, nil
		}
		if err != nil {
			return off, err
		}
		off += int64(len(line))
		line = bytes.TrimSuffix(line, []byte("\n"))
		r, err := audit.ParseRecord(line)
		if err != nil {
			fmt.Fprintf(warn, "cordon: %s: offset %d: not a record: %v\n", path, off-int64(len(line))-1, err)
			continue
		}
		fn(entry{r, line})
	}
}

func newAuditShow() *cobra.Command {
	f := &showFlags{}
	cmd := &cobra.Command{
		Use:   "show [--log PATH] [--json] [filters]",
		Short: "Print records of the audit log",
		Long: `Print the audit log's records, one line each: time, seq, decision, how
the command ended, agent and command. Filters combine: a record is shown
when it matches all of them. show does not check the chain; cordon audit
verify does.`,
		Example: `  cordon audit show --since 1h --decision deny
  cordon audit show --agent claude --grep rm --last 20
  cordon audit show --exit 137 --json`,
		Args: cobra.NoArgs,
	}
	path := logFlag(cmd)
	f.add(cmd, 0)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := path()
		if err != nil {
			return err
		}
		keep, err := f.filter(cmd, time.Now())
		if err != nil {
			return err
		}
		var shown []entry
		_, err = readEntries(p, 0, cmd.ErrOrStderr(), func(e entry) {
			if !keep(e.rec) {
				return
			}
			shown = append(shown, e)
			if f.last > 0 && len(shown) > 2*f.last {
				shown = append(shown[:0], shown[len(shown)-f.last:]...)
			}
		})
		if errors.Is(err, os.ErrNotExist) {
			// Nothing was recorded yet: an empty log, not a failure.
			fmt.Fprintf(cmd.ErrOrStderr(), "cordon: no audit log at %s yet\n", p)
			return nil
		}
		if err != nil {
			return &exitError{code: ExitCordon, err: err}
		}
		if f.last > 0 && len(shown) > f.last {
			shown = shown[len(shown)-f.last:]
		}
		w := bufio.NewWriter(cmd.OutOrStdout())
		for _, e := range shown {
			f.print(w, e)
		}
		return w.Flush()
	}
	return cmd
}

func newAuditTail() *cobra.Command {
	f := &showFlags{}
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "tail [--log PATH] [-f] [filters]",
		Short: "Print the last records of the audit log, and follow it with -f",
		Args:  cobra.NoArgs,
	}
	path := logFlag(cmd)
	f.add(cmd, 10)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing records as they are appended, until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 250*time.Millisecond, "how often -f looks for new records")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		p, err := path()
		if err != nil {
			return err
		}
		keep, err := f.filter(cmd, time.Now())
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		var last []entry
		off, err := readEntries(p, 0, cmd.ErrOrStderr(), func(e entry) {
			if keep(e.rec) {
				last = append(last, e)
				if f.last > 0 && len(last) > f.last {
					last = last[1:]
				}
			}
		})
		if err != nil && !(follow && errors.Is(err, os.ErrNotExist)) {
			return &exitError{code: ExitCordon, err: err}
		}
		for _, e := range last {
			f.print(out, e)
		}
		if !follow {
			return nil
		}
		err = followLog(cmd.Context(), p, off, interval, cmd.ErrOrStderr(), func(e entry) {
			if keep(e.rec) {
				f.print(out, e)
			}
		})
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	return cmd
}

// followLog polls the log at path from offset off and passes each record
// appended to fn, until ctx ends. Polling rather than inotify: it works
// on every file system, and a record a second late is soon enough for a
// person watching.
func followLog(ctx context.Context, path string, off int64, interval time.Duration, warn io.Writer, fn func(entry)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return err
		}
		if fi.Size() < off {
			// Cut shorter: repaired, or replaced. Start again from its
			// beginning rather than miss what it now holds.
			fmt.Fprintf(warn, "cordon: %s: the log shrank; reading it again from the start\n", path)
			off = 0
		}
		if fi.Size() == off {
			continue
		}
		if off, err = readEntries(path, off, warn, fn); err != nil {
			return err
		}
	}
}
