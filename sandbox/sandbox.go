// Package sandbox describes a command to run in isolation and what came of it.
//
// A Spec says what to run, the filesystem view it gets, its network and its
// limits; a Backend runs it and returns a Result. The embedded Linux backend
// lives in sandbox/linux. The shape follows os/exec: a plain struct that says
// what to run, and a result that carries how it ended.
package sandbox

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// Spec is one command to run in a sandbox.
type Spec struct {
	// Args is the argv of the command; Args[0] is looked up in the PATH of Env
	// inside the sandbox when it has no slash. A session (see Command)
	// leaves it empty.
	Args []string
	// Env is the whole environment of the command. Nothing from the caller's
	// environment is added; build it with Environment.
	Env []string
	// Dir is the working directory inside the sandbox; empty means the
	// workspace.
	Dir string

	// Stdin, Stdout and Stderr are the command's standard streams. A nil
	// Stdin reads from /dev/null; nil Stdout or Stderr discard. An *os.File
	// Stdin is passed as it is; everything else goes through a pipe.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	Filesystem Filesystem
	Network    Network
	Limits     Limits

	// NoCgroup leaves the run out of cgroups: its memory and process
	// limits are then per-process rlimits only. Creating and joining a
	// cgroup costs milliseconds on cgroup v1 hosts.
	NoCgroup bool

	// Require names protections that must be in force; Run refuses to start
	// when the host cannot provide one of them. See Protection.
	Require []Protection

	// Ready, when set, is waited for before the run changes anything in
	// the workspace (placeholders for protected paths, writable paths
	// made inside it) and before the command starts; the sandbox is built
	// meanwhile. An error from it stops the run before the command starts,
	// and Run returns that error. A front door uses it to list the
	// workspace for its change report alongside the build rather than
	// before it.
	Ready func() error
}

// Filesystem is the view of the host's files the command gets.
type Filesystem struct {
	// Workspace is the absolute host path the command may write to. It may
	// not be "/" or the caller's home directory.
	Workspace string
	// ReadOnlyRoots are host paths visible read-only, recursively. The
	// default is the whole host, "/".
	ReadOnlyRoots []string
	// Writable are further absolute host paths the command may write to
	// (tool caches, for example).
	Writable []string
	// Masked are absolute paths hidden from the command: a directory shows
	// empty, a file shows empty, both read-only. Paths that do not exist are
	// skipped.
	Masked []string
	// Protected are paths inside the workspace that stay read-only even
	// though the workspace is writable, relative to the workspace. They are
	// held read-only whether or not they exist yet and wherever their
	// symlinks lead inside the workspace.
	Protected []string
	// TmpSize is the size in bytes of the private /tmp; 0 means the default.
	TmpSize int64
}

// NetworkMode says what network the command has.
type NetworkMode string

const (
	// NetworkNone gives the command its own network namespace with only a
	// loopback interface: nothing leaves the sandbox.
	NetworkNone NetworkMode = "none"
	// NetworkProxy adds, inside that namespace, an HTTP proxy on
	// 127.0.0.1:3128 and a SOCKS5 proxy on 127.0.0.1:1080. Each connection
	// made to them is handed to Network.Connect outside the sandbox,
	// already connected; there is no other way out.
	NetworkProxy NetworkMode = "proxy"
)

// Proxy ports inside the sandbox in NetworkProxy mode.
const (
	HTTPProxyPort   = 3128
	SOCKS5ProxyPort = 1080
)

// ProxyEnv are the variables that point common tools at the proxies in
// NetworkProxy mode: curl, wget, git, pip, npm, go and Node's fetch (with
// its opt-in). Loopback stays direct: it is the sandbox's own.
var ProxyEnv = map[string]string{
	"HTTP_PROXY": "http://127.0.0.1:3128", "HTTPS_PROXY": "http://127.0.0.1:3128",
	"http_proxy": "http://127.0.0.1:3128", "https_proxy": "http://127.0.0.1:3128",
	"ALL_PROXY": "socks5h://127.0.0.1:1080", "all_proxy": "socks5h://127.0.0.1:1080",
	"NO_PROXY": "localhost,127.0.0.1,::1", "no_proxy": "localhost,127.0.0.1,::1",
	"npm_config_proxy": "http://127.0.0.1:3128", "npm_config_https_proxy": "http://127.0.0.1:3128",
	"NODE_USE_ENV_PROXY": "1",
}

// Network is the command's network.
type Network struct {
	Mode NetworkMode
	// Connect receives, in NetworkProxy mode, each connection the command
	// makes to a proxy port: proto is "http" or "socks5". It runs on a
	// goroutine of its own and owns conn. Required in that mode.
	Connect func(proto string, conn net.Conn)
	// RestrictTCP has Landlock deny TCP bind and connect on every port but
	// those listed, as a second line behind the network namespace. It costs
	// in-sandbox servers on loopback (test suites use them), so it is off
	// unless asked for.
	RestrictTCP  bool
	BindPorts    []uint16
	ConnectPorts []uint16
}

// Limits bound what the command may use. A zero field means the default of
// DefaultLimits; a negative one means no limit where that is allowed.
type Limits struct {
	Memory      int64         // bytes of memory for the whole sandbox
	Processes   int           // processes and threads at once
	CPUTime     time.Duration // CPU time of each process
	Timeout     time.Duration // wall-clock time of the whole run
	OutputBytes int64         // bytes on stdout and stderr together
	FileSize    int64         // bytes of the largest file a process may write
	OpenFiles   int           // open file descriptors per process
	// Disk is how many bytes the run may add to the filesystems it can
	// write (the workspace's and each writable path's, each filesystem on
	// its own), measured as the fall in their free space since the run
	// (or, in a session, the command) started. DefaultLimits leaves it
	// unlimited (-1): DiskReserve is what keeps the disk from filling.
	Disk int64
	// DiskReserve is the free space the run must leave on each of those
	// filesystems, and with it the same share of their inodes. Zero means
	// the smaller of DefaultDiskReservePercent of the filesystem and
	// DefaultDiskReserve; negative means no reserve. A filesystem already
	// under its reserve when the run starts still gives it DiskAllowance
	// bytes and DiskAllowanceFiles inodes. See DiskReserveFor.
	DiskReserve int64
	// Idle is how long a session may wait for its next command before it
	// closes itself; one-shot runs ignore it.
	Idle time.Duration
}

// DefaultLimits are the limits a Spec gets for each field it leaves zero.
var DefaultLimits = Limits{
	Memory:      4 << 30,
	Processes:   1024,
	CPUTime:     10 * time.Minute,
	Timeout:     10 * time.Minute,
	OutputBytes: 64 << 20,
	FileSize:    4 << 30,
	OpenFiles:   4096,
	Disk:        -1,
	// DiskReserve stays zero: the default depends on each filesystem's
	// size (see DiskReserveFor).
	Idle: 15 * time.Minute,
}

// The default disk reserve is the smaller of DefaultDiskReservePercent of
// a filesystem and DefaultDiskReserve. 2 GiB is room enough for what the
// host does meanwhile (logs, an editor's swap files, git, the audit log)
// without stopping builds on the many disks that run more than 95% full;
// 5% keeps a small filesystem (a CI runner's disk, a tmpfs) from being
// held to a reserve near its whole size.
const (
	DefaultDiskReserve        = 2 << 30
	DefaultDiskReservePercent = 5
)

// A run that starts on a filesystem already under its reserve may still
// add DiskAllowance bytes and DiskAllowanceFiles inodes to it, so that
// reading, logging and small writes keep working, before it is stopped.
const (
	DiskAllowance      = 64 << 20
	DiskAllowanceFiles = 16 << 10
)

// DiskReserveFor is the reserve in bytes on a filesystem of size bytes:
// DiskReserve when set, 0 when negative, else the default.
func (l Limits) DiskReserveFor(size int64) int64 {
	switch {
	case l.DiskReserve > 0:
		return l.DiskReserve
	case l.DiskReserve < 0:
		return 0
	}
	return min(size*DefaultDiskReservePercent/100, DefaultDiskReserve)
}

// WithDefaults returns l with each zero field set from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.Processes == 0 {
		l.Processes = d.Processes
	}
	if l.CPUTime == 0 {
		l.CPUTime = d.CPUTime
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.OutputBytes == 0 {
		l.OutputBytes = d.OutputBytes
	}
	if l.FileSize == 0 {
		l.FileSize = d.FileSize
	}
	if l.OpenFiles == 0 {
		l.OpenFiles = d.OpenFiles
	}
	if l.Disk == 0 {
		l.Disk = d.Disk
	}
	if l.DiskReserve == 0 {
		l.DiskReserve = d.DiskReserve
	}
	if l.Idle == 0 {
		l.Idle = d.Idle
	}
	return l
}

// Reason says why a command ended.
type Reason string

const (
	ReasonExit    Reason = "exit"    // it exited by itself
	ReasonSignal  Reason = "signal"  // a signal killed it
	ReasonTimeout Reason = "timeout" // the wall-clock limit ran out
	ReasonOOM     Reason = "oom"     // the memory limit was reached
	ReasonPids    Reason = "pids"    // the process limit was reached
	ReasonOutput  Reason = "output"  // the output limit was reached
	ReasonCPU     Reason = "cpu"     // the CPU-time limit was reached
	ReasonFSize   Reason = "fsize"   // the file-size limit was reached
	ReasonDisk    Reason = "disk"    // the disk limit or reserve was reached
	ReasonKilled  Reason = "killed"  // the caller cancelled the run
)

// Result is how a run ended.
type Result struct {
	// ExitCode is the exit status, or 128+signal when a signal ended it,
	// as a shell reports it.
	ExitCode int `json:"exit_code"`
	// Signal is the signal that ended the command, 0 if none.
	Signal int `json:"signal,omitempty"`
	// Reason says why it ended; anything but ReasonExit means a limit or a
	// signal stopped it and the whole process tree was killed.
	Reason Reason `json:"reason"`
	// Detail says what was reached when the reason alone does not: for
	// ReasonDisk, which filesystem, and whether the limit, the reserve or
	// an already nearly full disk stopped the run.
	Detail string `json:"detail,omitempty"`
	// Duration is the wall-clock time of the run, sandbox set-up included.
	Duration time.Duration `json:"duration_ns"`
	// OutputBytes counts what the command wrote to stdout and stderr.
	OutputBytes int64 `json:"output_bytes"`
	// CPUTime is user plus system time of the command and its descendants.
	CPUTime time.Duration `json:"cpu_time_ns"`
	// MaxRSS is the largest resident set of any process, in bytes.
	MaxRSS int64 `json:"max_rss_bytes"`
	// Enforced lists the protections that were in force.
	Enforced Enforcement `json:"enforced"`
	// Warnings are things the run did that the caller should know of,
	// such as a repository created with hooks, moved aside.
	Warnings []string `json:"warnings,omitempty"`
}

// Command is one command run in a session, a sandbox kept up for several
// commands (see the Linux backend's Session). The session's Spec gives the
// sandbox; Command gives what changes from one command to the next.
type Command struct {
	// Args is the argv; Args[0] is looked up in the PATH of Env inside the
	// sandbox when it has no slash.
	Args []string
	// Env is the whole environment; nil means the session's Spec.Env.
	Env []string
	// Dir is the working directory inside the sandbox, relative to the
	// workspace unless absolute; empty means the session's Spec.Dir.
	Dir string
	// Stdin, Stdout and Stderr are as in Spec.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Timeout bounds the command's wall-clock time; 0 means the session's
	// Limits.Timeout.
	Timeout time.Duration
	// OutputBytes bounds what the command writes to stdout and stderr
	// together; 0 means the session's Limits.OutputBytes.
	OutputBytes int64
	// KeepBackground leaves the processes the command started and left
	// running (a server started with &, say) running when it ends, and
	// through later commands, until the session ends. Without it, every
	// process a command started is killed when it ends. What they write
	// to the command's stdout and stderr after it ended is lost: redirect
	// it to a file. The caller's policy decides when to allow it.
	KeepBackground bool
}

// Session is a sandbox kept alive to run many commands, one at a time.
type Session interface {
	// Run runs one command in the session. The error is non-nil only when
	// the command could not be run (ErrSessionClosed, say); a command that
	// fails is a Result.
	Run(ctx context.Context, c *Command) (*Result, error)
	// Close ends the session and everything in it.
	Close() error
	// Wait waits for the session to end: nil after Close,
	// ErrSessionIdle after the idle timeout, else why it died.
	Wait() error
}

// SessionBackend is a Backend that can also keep a sandbox alive.
type SessionBackend interface {
	Backend
	// StartSession builds the sandbox of spec (whose Args may be empty)
	// and keeps it alive; ctx bounds the start only.
	StartSession(ctx context.Context, spec *Spec) (Session, error)
}

// ErrSessionClosed is returned by Run on a session that has ended.
var ErrSessionClosed = errors.New("sandbox session closed")

// ErrSessionIdle is what Wait returns for a session that closed itself
// after its idle timeout.
var ErrSessionIdle = errors.New("sandbox session closed after its idle timeout")

// Backend runs a Spec.
type Backend interface {
	// Run runs spec to completion. The error is non-nil only when the
	// sandbox could not be built or run; a command that fails is a Result.
	// It waits for spec.Ready, when set, as Spec says.
	Run(ctx context.Context, spec *Spec) (*Result, error)
}
