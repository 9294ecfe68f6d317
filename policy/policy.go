package policy

import (
	"fmt"
	"regexp"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
)

// Verdict is what a policy says about a command. Verdicts are ordered: a
// larger one is stricter, and the strictest that applies wins.
type Verdict int

const (
	// Allow lets the command run without asking.
	Allow Verdict = iota
	// Ask lets the command run only when someone approves it.
	Ask
	// Deny refuses the command.
	Deny
)

var verdictNames = [...]string{Allow: "allow", Ask: "ask", Deny: "deny"}

// String returns "allow", "ask" or "deny".
func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// MarshalText encodes the verdict as its name, for JSON output.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText decodes a verdict's name.
func (v *Verdict) UnmarshalText(b []byte) error {
	x, err := ParseVerdict(string(b))
	if err == nil {
		*v = x
	}
	return err
}

// ParseVerdict returns the Verdict named s.
func ParseVerdict(s string) (Verdict, error) {
	for i, n := range verdictNames {
		if n == s {
			return Verdict(i), nil
		}
	}
	return 0, fmt.Errorf("unknown decision %q (expected allow, ask or deny)", s)
}

// Layer says which policy file a setting came from.
type Layer int

const (
	// LayerDefault is the policy embedded in cordon.
	LayerDefault Layer = iota
	// LayerUser is the user's own policy, ~/.config/cordon/policy.yaml.
	LayerUser
	// LayerProject is the workspace's .cordon.yaml, or the file given
	// with --policy. It may tighten what earlier layers say, never loosen.
	LayerProject
)

var layerNames = [...]string{LayerDefault: "default", LayerUser: "user", LayerProject: "project"}

// String returns "default", "user" or "project".
func (l Layer) String() string {
	if l < 0 || int(l) >= len(layerNames) {
		return fmt.Sprintf("Layer(%d)", int(l))
	}
	return layerNames[l]
}

// MarshalText encodes the layer as its name.
func (l Layer) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes a layer's name.
func (l *Layer) UnmarshalText(b []byte) error {
	for i, n := range layerNames {
		if n == string(b) {
			*l = Layer(i)
			return nil
		}
	}
	return fmt.Errorf("unknown layer %q", b)
}

// Source is where a rule or setting was written.
type Source struct {
	Layer Layer  `json:"layer"`
	File  string `json:"file"`
	Line  int    `json:"line"`
	Col   int    `json:"col"`
}

// String returns "file:line:col (layer)".
func (s Source) String() string {
	return fmt.Sprintf("%s:%d:%d (%s)", s.File, s.Line, s.Col, s.Layer)
}

// Policy is a set of command rules and the sandbox settings that go with
// them: one file as Parse returns it, or the layers merged by Load.
type Policy struct {
	// Version is the file format version; only 1 exists.
	Version int `json:"version"`
	// Commands are the command rules, in the order they were written,
	// earlier layers first.
	Commands []*Rule `json:"commands"`

	Filesystem Filesystem `json:"filesystem"`
	Network    Network    `json:"network"`
	Limits     Limits     `json:"limits"`
	Output     Output     `json:"output"`
	Session    Session    `json:"session"`
	Env        Env        `json:"env"`
	// Require names protections a run must have; see sandbox.Protection.
	Require []sandbox.Protection `json:"require,omitempty"`

	// Files lists the files merged into the policy, earliest layer first.
	Files []Source `json:"files"`

	// at records where each setting outside the rules was written, by
	// its dotted name ("limits.memory", "filesystem.writable.0").
	at map[string]Source

	// idx finds the rules that may apply to a program; nil until built.
	idx *ruleIndex
}

// Rule is one command rule. Every matcher that is set must match for the
// rule to apply; a list matcher matches when any of its entries does.
type Rule struct {
	// ID names the rule in decisions, logs and explanations.
	ID string `json:"id"`
	// Decision is what the rule says when it applies.
	Decision Verdict `json:"decision"`
	// Reason tells a reader why.
	Reason string `json:"reason"`

	// Program holds glob patterns matched against the program as written
	// and against its base name. Empty means any program, and then the
	// rule does not count as knowing the program (see Decide).
	Program []string `json:"program,omitempty"`
	// ProgramPath holds path patterns matched against a program named by
	// a path (./build.sh, bin/tool).
	ProgramPath []string `json:"program_path,omitempty"`
	// Args holds glob patterns matched in order against the leading
	// arguments; the command may have more arguments.
	Args []string `json:"args,omitempty"`
	// AnyArg holds glob patterns of which one must match some argument.
	AnyArg []string `json:"any_arg,omitempty"`
	// ArgsMatch is a regular expression matched against the arguments
	// joined by single spaces.
	ArgsMatch string `json:"args_match,omitempty"`
	// Path holds path patterns of which one must match a path the
	// arguments name (see the package documentation for the syntax).
	Path []string `json:"path,omitempty"`
	// Dest holds path patterns matched against the last operand, the
	// destination of cp, mv, ln, install, rsync and scp.
	Dest []string `json:"dest,omitempty"`
	// Write and Read hold path patterns matched against the targets of
	// redirections that write or read files.
	Write []string `json:"write,omitempty"`
	Read  []string `json:"read,omitempty"`
	// Via holds glob patterns matched against the wrappers and contexts
	// that lead to the command (shell.Command.Via).
	Via []string `json:"via,omitempty"`
	// CodeExec holds glob patterns matched against how the command runs
	// inline code (shell.Command.CodeExec).
	CodeExec []string `json:"code_exec,omitempty"`
	// Dynamic, when set, requires the command to be (true) or not to be
	// (false) statically unknown in part.
	Dynamic *bool `json:"dynamic,omitempty"`
	// Assigns holds glob patterns matched against the names of variables
	// the command assigns.
	Assigns []string `json:"assigns,omitempty"`
	// WithProgram holds glob patterns of which one must match the base
	// name of another command in the same text, as in curl ... | sh.
	WithProgram []string `json:"with_program,omitempty"`

	// Source says where the rule was written.
	Source Source `json:"source"`

	c       compiled
	rest    *lazyRest // compiles c's other matchers and argsRE on first use
	argsRE  *regexp.Regexp
	exact   []string // Program when it has no glob characters
	anyProg bool     // Program is empty
}

// Filesystem holds the sandbox's view of the host, added to cordon's
// defaults (sandbox.NewSpec). Paths may start with "~/".
type Filesystem struct {
	// ReadOnlyRoots replaces the host paths visible read-only ("/" by
	// default) when set.
	ReadOnlyRoots []string `json:"read_only_roots,omitempty"`
	// Writable are more host paths the command may write to.
	Writable []string `json:"writable,omitempty"`
	// Masked are more host paths hidden from the command.
	Masked []string `json:"masked,omitempty"`
	// Protected are more workspace paths kept read-only.
	Protected []string `json:"protected,omitempty"`
}

// Network is the sandbox's network. The domain lists are stored and
// validated; only mode none is enforced so far.
type Network struct {
	// Mode is "none" or "allowlist"; empty means none.
	Mode  string   `json:"mode,omitempty"`
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
	// Ask lists hosts whose connections go to the approval path.
	Ask []string `json:"ask,omitempty"`
}

// Limits bound a run; a zero field leaves the limit to the next layer or
// to sandbox.DefaultLimits.
// Output says how a command's output is verified before the agent sees
// it. Empty fields take the defaults given by Effective.
type Output struct {
	// Limit bounds each stream the agent gets; past it the middle is cut.
	Limit int64 `json:"limit,omitempty"`
	// Secrets is "redact" (the default) or "flag" (report only).
	Secrets string `json:"secrets,omitempty"`
	// Injection is what prompt-injection signals do: "flag" (report them,
	// the default), "strip" (remove the spans) or "withhold" (hold the
	// whole output back when a signal at or above WithholdAt is found).
	Injection  string `json:"injection,omitempty"`
	WithholdAt string `json:"withhold_at,omitempty"`
}

// Session holds the settings of sandbox sessions.
type Session struct {
	// KeepBackground lets a command in a session ask to leave what it
	// started in the background running into the next commands (a server
	// started with &). Without it every process a command started ends
	// with it.
	KeepBackground bool `json:"keep_background,omitempty"`
}

// Output defaults.
const (
	DefaultOutputLimit = 1 << 20
	DefaultSecrets     = "redact"
	DefaultInjection   = "flag"
	DefaultWithholdAt  = "high"
)

// Effective returns o with the defaults filled in.
func (o Output) Effective() Output {
	if o.Limit == 0 {
		o.Limit = DefaultOutputLimit
	}
	if o.Secrets == "" {
		o.Secrets = DefaultSecrets
	}
	if o.Injection == "" {
		o.Injection = DefaultInjection
	}
	if o.WithholdAt == "" {
		o.WithholdAt = DefaultWithholdAt
	}
	return o
}

// strictness ranks the values of the output settings: a project policy
// may only move up.
var strictness = map[string][]string{
	"secrets":     {"flag", "redact"},
	"injection":   {"flag", "strip", "withhold"},
	"withhold_at": {"high", "medium", "low", "info"},
}

type Limits struct {
	Memory    int64         `json:"memory,omitempty"`
	Pids      int           `json:"pids,omitempty"`
	CPUTime   time.Duration `json:"cpu_time,omitempty"`
	Timeout   time.Duration `json:"timeout,omitempty"`
	Output    int64         `json:"output,omitempty"`
	FileSize  int64         `json:"file_size,omitempty"`
	OpenFiles int           `json:"open_files,omitempty"`
	// Disk is what a run may add to the filesystems it writes, and
	// DiskReserve the free space it must leave on them; see
	// sandbox.Limits.
	Disk        int64 `json:"disk,omitempty"`
	DiskReserve int64 `json:"disk_reserve,omitempty"`
}

// Env is the command's environment: variables passed from the caller,
// added to sandbox.DefaultEnvAllow, and variables set.
type Env struct {
	Allow []string          `json:"allow,omitempty"`
	Set   map[string]string `json:"set,omitempty"`
}
