// Package verify checks what comes out of a sandboxed command before the
// agent, its model or a terminal sees it: secrets are redacted,
// prompt-injection signals flagged, terminal control sequences
// neutralised, binary output summarised and long output cut, and the
// files the command changed are listed and judged.
//
// Output is checked as a stream, with bounded memory: a [Stream] holds
// back only as many bytes as the longest thing its detectors can match,
// so a secret split across two writes is still caught.
package verify

import "fmt"

// Kind says what a finding is about.
type Kind string

const (
	KindSecret    Kind = "secret"    // a credential in the output or in a file
	KindInjection Kind = "injection" // text aimed at the model rather than the user
	KindTerminal  Kind = "terminal"  // a control sequence that acts on a terminal
	KindBinary    Kind = "binary"    // output that is not text
	KindTruncated Kind = "truncated" // output cut at the limit
	KindFile      Kind = "file"      // a change to the workspace worth a look
)

// Severity ranks findings. The policy maps severities to actions.
type Severity string

const (
	SeverityInfo   Severity = "info"
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Rank orders severities: info 0 up to high 3; unknown ranks as high,
// so that a misspelt severity never passes for a harmless one.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 0
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	}
	return 3
}

// Action is what was done about a finding.
type Action string

const (
	ActionFlagged  Action = "flagged"  // reported, output unchanged
	ActionRedacted Action = "redacted" // replaced by [REDACTED:<rule>]
	ActionStripped Action = "stripped" // removed from the output
	ActionEscaped  Action = "escaped"  // made visible and harmless
	ActionWithheld Action = "withheld" // the whole output held back
	ActionCut      Action = "cut"      // dropped by the output limit
)

// Finding is one thing a check found. It never carries a secret: Rule
// and Message say what was found, Offset and Length where.
type Finding struct {
	Kind     Kind     `json:"kind"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Stream is "stdout" or "stderr" for output, empty for files.
	Stream string `json:"stream,omitempty"`
	// Offset and Length locate the finding in the bytes the command wrote
	// to Stream, or in the file at Path, before any change cordon made.
	Offset int64 `json:"offset"`
	Length int64 `json:"length,omitempty"`
	// Path is the file, relative to the workspace, for file findings.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	Action  Action `json:"action,omitempty"`
}

func (f Finding) String() string {
	where := f.Stream
	if f.Path != "" {
		where = f.Path
	}
	return fmt.Sprintf("%s %s/%s at %s+%d: %s (%s)", f.Severity, f.Kind, f.Rule, where, f.Offset, f.Message, f.Action)
}
