package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/egress"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
	"github.com/cordon-sh/cordon/verify"
	"github.com/spf13/cobra"
)

type execFlags struct {
	workspace   string
	dir         string
	roRoots     []string
	writable    []string
	masks       []string
	protects    []string
	noDefaults  bool
	envAllow    []string
	setenv      []string
	require     []string
	network     string
	tmpSize     string
	memory      string
	pids        int
	cpuTime     time.Duration
	timeout     time.Duration
	output      string
	fileSize    string
	disk        string
	diskReserve string
	openFiles   int
	jsonOut     bool
	allowHosts  []string
	landlockTCP bool
	mode        approveMode // --approve, parsed once by runExec
	auditLog    string
	auditKey    string
	noAudit     bool
	agent       string
	noCgroup    bool
	policyFile  string
	approve     string
}

func newExec() *cobra.Command { return newExecWith(&execFlags{}) }

// newExecWith is the exec command with its flags bound to f, which holds
// their defaults once it returns.
func newExecWith(f *execFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec [flags] -- COMMAND [ARG...]",
		Short: "Run a command in the sandbox",
		Long: `Run COMMAND in the sandbox: the workspace is writable, the rest of the host
read-only, credential stores hidden, protected paths in the workspace
(.git/hooks, .git/config, .cordon.yaml, agent and editor settings) read-only,
no network, a clean environment and bounded resources.

The command is judged by the policy first (see cordon check): a denied
command does not run; one the policy asks about runs only when approved at
the terminal, by a webhook (--approve webhook=URL, signed with the secret
in CORDON_WEBHOOK_SECRET), or with --approve=allow. The sandbox's paths,
limits, environment and required protections come from the same policy;
flags given here override it.

cordon exits with the command's exit status; 2 for bad flags, 3 when a
policy file is broken, 125 when the sandbox could not be built, 126 when
the policy denied the command or no one approved it, 127 when the command
does not exist inside the sandbox, and 128+9 when a limit stopped the run
(the reason is printed).`,
		Example: `  cordon exec -- go test ./...
  cordon exec --workspace ~/src/app --timeout 5m -- npm test
  cordon exec --memory 2G --pids 256 -- make -j4`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.StringVarP(&f.workspace, "workspace", "w", ".", "the directory the command may write to")
	fl.StringVarP(&f.dir, "cwd", "C", "", "working directory inside the sandbox (default: the workspace)")
	fl.StringArrayVar(&f.roRoots, "ro-root", nil, "host path visible read-only (repeatable; default: /)")
	fl.StringArrayVar(&f.writable, "writable", nil, "further host path the command may write to (repeatable)")
	fl.StringArrayVar(&f.masks, "mask", nil, "host path to hide (repeatable; added to the defaults)")
	fl.StringArrayVar(&f.protects, "protect", nil, "workspace path to keep read-only (repeatable; added to the defaults)")
	fl.BoolVar(&f.noDefaults, "no-default-protect", false, "do not protect the default workspace paths")
	fl.StringArrayVar(&f.envAllow, "env", nil, "pass this variable from the caller's environment (repeatable; NAME or PREFIX*)")
	fl.StringArrayVar(&f.setenv, "setenv", nil, "set NAME=VALUE in the command's environment (repeatable)")
	fl.StringSliceVar(&f.require, "require", nil, "refuse to run unless these are enforced: userns, landlock, landlock-net, landlock-scope, seccomp, no_new_privs, cgroup")
	fl.StringVar(&f.network, "network", "", "network: none, or proxy (through cordon's egress proxy, which lets only allowed hosts through; default: the policy's, none)")
	fl.BoolVar(&f.landlockTCP, "landlock-tcp", false, "have Landlock refuse TCP bind and connect too, but to the proxy ports (a second line behind the network namespace; in-sandbox servers on loopback stop working)")
	fl.StringArrayVar(&f.allowHosts, "allow-host", nil, "let the command reach this host through the proxy (repeatable; host, *.suffix, optional :port; implies --network proxy)")
	fl.StringVar(&f.tmpSize, "tmp-size", "1G", "size of the private /tmp")
	fl.StringVar(&f.memory, "memory", "4G", "memory limit for the whole sandbox")
	fl.IntVar(&f.pids, "pids", 1024, "limit on processes and threads")
	fl.DurationVar(&f.cpuTime, "cpu-time", 10*time.Minute, "CPU time limit of each process")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "wall-clock limit of the run")
	fl.StringVar(&f.output, "output-limit", "64M", "limit on bytes written to stdout and stderr together")
	fl.StringVar(&f.fileSize, "file-size", "4G", "largest file the command may write")
	fl.IntVar(&f.openFiles, "open-files", 4096, "open file descriptors per process")
	fl.StringVar(&f.disk, "disk", "none", "bytes the command may add to the filesystems it can write, each on its own (none: no limit)")
	fl.StringVar(&f.diskReserve, "disk-reserve", "auto", "free space the command must leave on each filesystem it can write (auto: the smaller of 5% of it and 2G; none: no reserve)")
	fl.BoolVar(&f.noCgroup, "no-cgroup", false, "do not create a cgroup: memory and process limits become per-process rlimits")
	fl.StringVar(&f.auditLog, "audit-log", "", "append the run's record to this log (default: $XDG_STATE_HOME/cordon/audit.jsonl)")
	fl.StringVar(&f.auditKey, "audit-key", "", "sign the log's head with this ed25519 private key (see cordon audit keygen)")
	fl.BoolVar(&f.noAudit, "no-audit", false, "record nothing")
	fl.StringVar(&f.agent, "agent", os.Getenv("CORDON_AGENT"), "the agent's name, for the audit record")
	fl.BoolVar(&f.jsonOut, "json", false, "print the result as JSON on stderr when the command ends")
	fl.StringVar(&f.policyFile, "policy", "", "read this project policy instead of the workspace's .cordon.yaml")
	fl.StringVar(&f.approve, "approve", "deny", "who answers for commands the policy asks about: deny (the person at the terminal, if any, else no), allow, or webhook=URL (signed with $CORDON_WEBHOOK_SECRET; see docs/approval.md)")
	return cmd
}

func usageErr(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

func runExec(cmd *cobra.Command, f *execFlags, args []string) error {
	// The command's stderr, the proxy's refusals and cordon's own messages
	// come from different goroutines: one lock keeps their lines whole.
	// The gate holds the output back while a question is on the terminal.
	gate := &termGate{}
	stdout := gate.writer(cmd.OutOrStdout())
	stderr := &lockedWriter{w: gate.writer(cmd.ErrOrStderr())}
	ws, err := filepath.Abs(f.workspace)
	if err != nil {
		return usageErr("--workspace: %v", err)
	}
	if _, err := os.Stat(ws); err != nil {
		return usageErr("--workspace %s: %v", f.workspace, errors.Unwrap(err))
	}
	mode, err := parseApprove(f.approve)
	if err != nil {
		return usageErr("%v", err)
	}
	f.mode = mode
	var network sandbox.NetworkMode
	switch f.network {
	case "":
	case string(sandbox.NetworkNone), string(sandbox.NetworkProxy):
		network = sandbox.NetworkMode(f.network)
	default:
		return usageErr("--network %q: expected none or proxy", f.network)
	}
	if network == sandbox.NetworkNone && len(f.allowHosts) > 0 {
		return usageErr("--network none conflicts with --allow-host")
	}
	customize, err := f.customize(cmd)
	if err != nil {
		return err
	}
	g, closeGuard, err := f.newGuard(ws, stderr, audit.SyncEvery)
	if err != nil {
		return err
	}
	defer closeGuard()
	g.Approve = func(ctx context.Context, req *approval.Request) *audit.Approval {
		if f.mode.kind != "deny" {
			return approve(ctx, f.mode, cmd.InOrStdin(), stderr, req)
		}
		// Its own messages go straight to stderr: the gate is held.
		return gate.hold(func() *audit.Approval { return approve(ctx, f.mode, cmd.InOrStdin(), cmd.ErrOrStderr(), req) })
	}
	req := &guard.Request{
		Argv: args, Workspace: ws, Dir: f.dir, Agent: f.agent,
		Stdin: stdinFile(cmd.InOrStdin()), Stdout: stdout, Stderr: stderr,
		Output:  guard.OutputOptions{Terminal: isTerminal(cmd.OutOrStdout()), Idle: 50 * time.Millisecond},
		Network: network, AllowHosts: f.allowHosts, Customize: customize,
	}
	resp, err := g.Run(cmd.Context(), req)
	if err != nil {
		return &exitError{code: exitCode(err), err: err}
	}
	res := resp.Result
	if f.jsonOut {
		out := struct {
			*sandbox.Result
			Network  []egress.Event       `json:"network,omitempty"`
			Findings []verify.Finding     `json:"findings,omitempty"`
			Changes  *verify.ChangeReport `json:"changes,omitempty"`
		}{Result: res, Network: resp.Network, Findings: resp.Findings, Changes: resp.Changes}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stderr, string(b))
	}
	reportRun(stderr, resp)
	if res.ExitCode != 0 {
		return &exitError{code: res.ExitCode}
	}
	return nil
}

// customize turns the sandbox flags into an adjustment of the sandbox the
// policy builds. The policy set the limits it names; a flag given on the
// command line overrides it, since the person typing it is the last word.
func (f *execFlags) customize(cmd *cobra.Command) (func(*sandbox.Spec) error, error) {
	for _, list := range [][]string{f.roRoots, f.writable, f.masks} {
		for _, p := range list {
			if !filepath.IsAbs(p) {
				return nil, usageErr("path %q must be absolute", p)
			}
		}
	}
	for _, w := range f.writable {
		if filepath.Clean(w) == "/" {
			return nil, usageErr("--writable /: the whole host cannot be writable")
		}
		for _, m := range f.masks {
			if filepath.Clean(m) == filepath.Clean(w) {
				return nil, usageErr("--writable %s conflicts with --mask %s", w, m)
			}
		}
	}
	set := map[string]string{}
	for _, kv := range f.setenv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErr("--setenv %q: expected NAME=VALUE", kv)
		}
		set[k] = v
	}
	var perr error
	size := func(name, s string) int64 {
		n, err := policy.ParseSize(s)
		if err != nil && perr == nil {
			perr = usageErr("--%s %q: %v", name, s, err)
		}
		return n
	}
	changed := cmd.Flags().Changed
	tmpSize := size("tmp-size", f.tmpSize)
	var limits sandbox.Limits
	if changed("memory") {
		limits.Memory = size("memory", f.memory)
	}
	if changed("output-limit") {
		limits.OutputBytes = size("output-limit", f.output)
	}
	if changed("file-size") {
		limits.FileSize = size("file-size", f.fileSize)
	}
	// "none" turns the disk bounds off (-1 in sandbox.Limits); "auto" is
	// the default reserve (0).
	diskSize := func(name, s string) int64 {
		switch s {
		case "none":
			return -1
		case "auto":
			if name == "disk-reserve" {
				return 0
			}
		}
		return size(name, s)
	}
	if changed("disk") {
		limits.Disk = diskSize("disk", f.disk)
	}
	if changed("disk-reserve") {
		limits.DiskReserve = diskSize("disk-reserve", f.diskReserve)
	}
	if perr != nil {
		return nil, perr
	}
	if f.pids <= 0 || f.openFiles <= 0 || f.timeout <= 0 || f.cpuTime <= 0 {
		return nil, usageErr("--pids, --open-files, --timeout and --cpu-time must be positive")
	}
	var require []sandbox.Protection
	for _, r := range f.require {
		p, err := sandbox.ParseProtection(r)
		if err != nil {
			return nil, usageErr("--require: %v", err)
		}
		if p == sandbox.ProtectCgroup && f.noCgroup {
			return nil, usageErr("--no-cgroup conflicts with --require cgroup")
		}
		require = append(require, p)
	}
	return func(spec *sandbox.Spec) error {
		if f.noDefaults {
			spec.Filesystem.Protected = nil
		}
		if len(f.roRoots) > 0 {
			spec.Filesystem.ReadOnlyRoots = f.roRoots
		}
		spec.Filesystem.Writable = append(spec.Filesystem.Writable, f.writable...)
		spec.Filesystem.Masked = append(spec.Filesystem.Masked, f.masks...)
		spec.Filesystem.Protected = append(spec.Filesystem.Protected, f.protects...)
		if len(f.envAllow) > 0 || len(f.setenv) > 0 {
			env := map[string]string{}
			for _, kv := range spec.Env {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			for k, v := range set {
				env[k] = v
			}
			spec.Env = sandbox.Environment(os.Environ(), f.envAllow, env)
		}
		spec.Filesystem.TmpSize = tmpSize
		l := &spec.Limits
		if changed("memory") {
			l.Memory = limits.Memory
		}
		if changed("pids") {
			l.Processes = f.pids
		}
		if changed("cpu-time") {
			l.CPUTime = f.cpuTime
		}
		if changed("timeout") {
			l.Timeout = f.timeout
		}
		if changed("output-limit") {
			l.OutputBytes = limits.OutputBytes
		}
		if changed("file-size") {
			l.FileSize = limits.FileSize
		}
		if changed("open-files") {
			l.OpenFiles = f.openFiles
		}
		if changed("disk") {
			l.Disk = limits.Disk
		}
		if changed("disk-reserve") {
			l.DiskReserve = limits.DiskReserve
		}
		spec.Limits = spec.Limits.WithDefaults()
		spec.Require = append(spec.Require, require...)
		spec.NoCgroup = f.noCgroup
		spec.Network.RestrictTCP = f.landlockTCP
		return nil
	}, nil
}

// exitCode is cordon's exit status for a run the pipeline did not take
// to its end: 126 denied or not approved, 2 a request that makes no
// sense, 127 no such program, 125 anything else.
func exitCode(err error) int {
	var denied *guard.DeniedError
	var usage *guard.UsageError
	switch {
	case errors.As(err, &denied):
		return ExitDenied
	case errors.As(err, &usage):
		return ExitUsage
	case errors.Is(err, linux.ErrNotFound):
		return ExitNotFound
	}
	return ExitCordon
}

// reportRun tells on stderr what a person running the command should know
// of the run: warnings, findings of medium severity and up, and the limit
// that stopped it.
func reportRun(stderr io.Writer, resp *guard.Response) {
	for _, w := range resp.Warnings {
		fmt.Fprintf(stderr, "cordon: warning: %s\n", w)
	}
	for _, fd := range resp.Findings {
		if fd.Severity.Rank() >= verify.SeverityMedium.Rank() {
			fmt.Fprintf(stderr, "cordon: %s\n", fd)
		}
	}
	if res := resp.Result; res.Reason != sandbox.ReasonExit && res.Reason != sandbox.ReasonSignal {
		fmt.Fprintf(stderr, "cordon: stopped: %s\n", describe(res, resp.Limits))
	}
}

func describe(res *sandbox.Result, l sandbox.Limits) string {
	switch res.Reason {
	case sandbox.ReasonTimeout:
		return fmt.Sprintf("timeout: the run took longer than %s", l.Timeout)
	case sandbox.ReasonOOM:
		return fmt.Sprintf("oom: the memory limit of %s was reached", policy.FormatSize(l.Memory))
	case sandbox.ReasonPids:
		return fmt.Sprintf("pids: the limit of %d processes was reached", l.Processes)
	case sandbox.ReasonOutput:
		return fmt.Sprintf("output: more than %s of output", policy.FormatSize(l.OutputBytes))
	case sandbox.ReasonCPU:
		return fmt.Sprintf("cpu: a process used more than %s of CPU time", l.CPUTime)
	case sandbox.ReasonFSize:
		return fmt.Sprintf("fsize: a file grew past %s", policy.FormatSize(l.FileSize))
	case sandbox.ReasonDisk:
		if res.Detail != "" {
			return "disk: " + res.Detail
		}
		return "disk: the disk limit or reserve was reached"
	case sandbox.ReasonKilled:
		return "killed: the run was cancelled"
	}
	return string(res.Reason)
}

// currentUser names the person at the terminal for the audit record.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
