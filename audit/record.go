package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/verify"
)

// Record is one line of the log: one command an agent asked to run, what
// cordon decided, how it ran and what came of it. Append fills Seq, Time
// and Prev; everything else is the caller's. Fields the pipeline does not
// know yet are left empty and then omitted from the line.
type Record struct {
	// Seq numbers records from 1, without gaps.
	Seq uint64 `json:"seq"`
	// Time is when the record was appended, in UTC. Records appear in the
	// file in the order of their Time as the host's clock saw it.
	Time time.Time `json:"time"`
	// Prev is the hex SHA-256 of the previous line's bytes, without its
	// newline; empty for the first record.
	Prev string `json:"prev"`

	// Agent names the agent that asked, and Session the session of that
	// agent the command belongs to, as the front door knows them.
	Agent   string `json:"agent,omitempty"`
	Session string `json:"session,omitempty"`
	// Cwd is the working directory the command was to run in, on the
	// host; Workspace is the directory it could write.
	Cwd       string `json:"cwd,omitempty"`
	Workspace string `json:"workspace,omitempty"`
	// Command is the command as the agent gave it: shell text, or the
	// argv quoted into shell text. Argv is the argv when the agent gave
	// one.
	Command string   `json:"command"`
	Argv    []string `json:"argv,omitempty"`

	// Analysis summarises what the shell analysis found in Command, and
	// Decision is what the policy said about it.
	Analysis *Analysis `json:"analysis,omitempty"`
	Decision *Decision `json:"decision,omitempty"`
	// Approval is who answered when the policy asked; nil when no one
	// was asked.
	Approval *Approval `json:"approval,omitempty"`

	// Sandbox is the sandbox the command was given, and Enforced what the
	// host could actually enforce of it. Both are nil when it did not run.
	Sandbox  *Sandbox             `json:"sandbox,omitempty"`
	Enforced *sandbox.Enforcement `json:"enforced,omitempty"`

	// Exit is how the command ended and Usage what it used; nil when it
	// did not run.
	Exit  *Exit  `json:"exit,omitempty"`
	Usage *Usage `json:"usage,omitempty"`
	// Error is cordon's own failure to run the command, if any.
	Error string `json:"error,omitempty"`
	// Warnings are things the run did that a reader should know of.
	Warnings []string `json:"warnings,omitempty"`

	// Network lists the connections the command attempted.
	Network []NetworkEvent `json:"network,omitempty"`
	// Findings are what output verification flagged, and Changes the
	// files the command changed in the workspace.
	Findings []verify.Finding `json:"findings,omitempty"`
	Changes  []FileChange     `json:"changes,omitempty"`

	// Stdout and Stderr identify what the command wrote (see Output).
	Stdout *Output `json:"stdout,omitempty"`
	Stderr *Output `json:"stderr,omitempty"`
}

// Analysis summarises the shell analysis of a command.
type Analysis struct {
	// Commands are the simple commands found, in source order.
	Commands []AnalyzedCommand `json:"commands,omitempty"`
	// Dynamic reports that what runs is not fully known statically.
	Dynamic bool `json:"dynamic,omitempty"`
	// Notes are the analyser's notes, each with its position.
	Notes []string `json:"notes,omitempty"`
}

// AnalyzedCommand is one simple command found in the text and the
// policy's verdict on it.
type AnalyzedCommand struct {
	Name     string   `json:"name"`
	Via      []string `json:"via,omitempty"`
	CodeExec string   `json:"code_exec,omitempty"`
	Dynamic  bool     `json:"dynamic,omitempty"`
	Verdict  string   `json:"verdict"`
	Rule     string   `json:"rule"`
}

// Decision is the policy's decision on the whole command.
type Decision struct {
	// Verdict is "allow", "ask" or "deny".
	Verdict string `json:"verdict"`
	// Rule names the rule that decided, and Reason is its reason.
	Rule   string `json:"rule"`
	Reason string `json:"reason,omitempty"`
}

// Approval is the answer to a command the policy asked about.
type Approval struct {
	// Granted reports whether the command was allowed to run.
	Granted bool `json:"granted"`
	// By names who answered: a user name, a webhook's address, or "flag"
	// for a fixed answer given on the command line.
	By string `json:"by,omitempty"`
	// How is the channel: "terminal", "flag", "mcp", "webhook".
	How string `json:"how"`
	// At is when the answer came.
	At time.Time `json:"at,omitzero"`
	// Reason is the answer as said, or why there was none (a timeout).
	Reason string `json:"reason,omitempty"`
}

// Sandbox is the sandbox a command was given, as the Spec asked for it.
type Sandbox struct {
	Workspace     string   `json:"workspace,omitempty"`
	Dir           string   `json:"dir,omitempty"`
	ReadOnlyRoots []string `json:"read_only_roots,omitempty"`
	Writable      []string `json:"writable,omitempty"`
	Masked        []string `json:"masked,omitempty"`
	Protected     []string `json:"protected,omitempty"`
	Network       string   `json:"network,omitempty"`
	RestrictTCP   bool     `json:"restrict_tcp,omitempty"`
	Limits        Limits   `json:"limits"`
	NoCgroup      bool     `json:"no_cgroup,omitempty"`
	Require       []string `json:"require,omitempty"`
	// Env lists the names of the variables the command got; their values
	// are not recorded, since they may hold secrets.
	Env []string `json:"env,omitempty"`
}

// Limits are sandbox.Limits in the log's own spelling.
type Limits struct {
	MemoryBytes   int64 `json:"memory_bytes,omitempty"`
	Processes     int   `json:"processes,omitempty"`
	CPUTimeNS     int64 `json:"cpu_time_ns,omitempty"`
	TimeoutNS     int64 `json:"timeout_ns,omitempty"`
	OutputBytes   int64 `json:"output_bytes,omitempty"`
	FileSizeBytes int64 `json:"file_size_bytes,omitempty"`
	OpenFiles     int   `json:"open_files,omitempty"`
	// DiskBytes is sandbox.Limits.Disk (-1: no limit); DiskReserveBytes
	// is its DiskReserve (absent: the default, which depends on each
	// filesystem's size; -1: none).
	DiskBytes        int64 `json:"disk_bytes,omitempty"`
	DiskReserveBytes int64 `json:"disk_reserve_bytes,omitempty"`
}

// Exit is how a command ended.
type Exit struct {
	// Code is the exit status, 128+signal when a signal ended it.
	Code   int `json:"code"`
	Signal int `json:"signal,omitempty"`
	// Reason is a sandbox.Reason: "exit", "signal", "timeout", "oom"…
	Reason string `json:"reason"`
	// Detail is sandbox.Result.Detail: what a limit that stopped the run
	// reached, when the reason alone does not say (which filesystem, for
	// "disk").
	Detail string `json:"detail,omitempty"`
}

// Usage is what a command used.
type Usage struct {
	DurationNS  int64 `json:"duration_ns"`
	CPUTimeNS   int64 `json:"cpu_time_ns"`
	MaxRSSBytes int64 `json:"max_rss_bytes"`
	OutputBytes int64 `json:"output_bytes"`
}

// NetworkEvent is one connection a command attempted.
type NetworkEvent struct {
	Time    time.Time `json:"time,omitzero"`
	Proto   string    `json:"proto,omitempty"` // "tcp", "udp", "http", "socks5"
	Host    string    `json:"host,omitempty"`
	Addr    string    `json:"addr,omitempty"` // the address connected to, host:port
	Allowed bool      `json:"allowed"`
	Rule    string    `json:"rule,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	// Approval is the answer to the question the policy asked about this
	// destination, when it asked.
	Approval *Approval `json:"approval,omitempty"`
}

// FileChange is one file a command changed.
type FileChange struct {
	Path string `json:"path"`
	Op   string `json:"op"` // "create", "modify", "delete", "rename", "chmod"
	Size int64  `json:"size,omitempty"`
}

// Output identifies what a command wrote on one stream: its digest and
// size always, the bytes themselves only when the caller keeps them.
type Output struct {
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	// Raw is the output, or its first part when Truncated, base64 in the
	// JSON so that any bytes survive.
	Raw       []byte `json:"raw,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// encode returns r as one line of the log, newline included. HTML
// characters are kept as they are, since commands are full of > and &.
func encode(r *Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	// Encode ends the value with the newline, and escapes any newline
	// inside strings, so the line holds exactly one.
	return b.Bytes(), nil
}

// ParseRecord decodes one line of the log, without its newline.
func ParseRecord(line []byte) (*Record, error) {
	r := new(Record)
	if err := json.Unmarshal(line, r); err != nil {
		return nil, err
	}
	return r, nil
}
