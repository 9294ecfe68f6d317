// Package linux is cordon's embedded Linux sandbox: a re-executed init in
// new user, mount, PID, IPC, UTS, network and cgroup namespaces builds a
// read-only view of the host with the workspace writable, then starts the
// command under Landlock, seccomp and resource limits.
package linux

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// Backend runs commands in the embedded Linux sandbox.
type Backend struct{}

var _ sandbox.Backend = Backend{}

// ErrNotFound is wrapped by the error Run returns when the command does not
// exist inside the sandbox.
var ErrNotFound = errors.New("command not found in the sandbox")

// Run builds the sandbox, runs spec in it and tears it down. Nothing it
// started survives it.
func (Backend) Run(ctx context.Context, spec *sandbox.Spec) (*sandbox.Result, error) {
	start := time.Now()
	tr := newTracer("parent", os.Getenv("CORDON_TRACE") != "")
	tr.mark("run")
	r, err := prepare(spec, false)
	if err != nil {
		return nil, err
	}
	r.tr = tr
	r.plan.Trace = tr != nil
	tr.mark("prepared")
	defer func() {
		r.cleanup()
		tr.mark("cleaned up")
	}()
	res, err := r.run(ctx)
	if res != nil {
		// Every process of the run is gone by now.
		res.Warnings = append(res.Warnings, r.prot.checkWatched()...)
		res.Duration = time.Since(start)
	}
	return res, err
}

// run is one run being prepared, executed and cleaned up.
type run struct {
	spec *sandbox.Spec
	ws   string // the workspace, resolved
	// writable are the host paths the command may write, resolved: the
	// workspace first.
	writable []string
	limits   sandbox.Limits
	plan     plan
	cg       *cgroup
	prot     *protection
	lock     *workspaceLock
	enf      sandbox.Enforcement
	tr       *tracer

	readyOnce sync.Once
	readyErr  error
}

// waitReady waits, once, for the spec's Ready.
func (r *run) waitReady() error {
	r.readyOnce.Do(func() {
		if r.spec.Ready != nil {
			r.readyErr = r.spec.Ready()
		}
	})
	return r.readyErr
}

// handOver gives the started init its plan: once the caller is ready
// (Spec.Ready), the placeholders are made, the plan is written, the init
// is moved into its cgroups, and the plan pipe is closed, which lets the
// init start its command (or, in a session, report ready).
func (r *run) handOver(pid int, planW *os.File) error {
	if err := r.waitReady(); err != nil {
		return err
	}
	r.tr.mark("ready")
	if err := r.prot.create(); err != nil {
		return err
	}
	b, err := r.plan.encode()
	if err == nil {
		_, err = planW.Write(b)
	}
	if err != nil {
		return fmt.Errorf("send plan: %w", err)
	}
	r.tr.mark("plan sent")
	if r.cg != nil {
		if err := r.cg.add(pid); err != nil {
			return err
		}
		r.tr.mark("cgroup joined")
	}
	return planW.Close()
}

// prepare checks spec and plans its sandbox. A session has no command of
// its own.
func prepare(spec *sandbox.Spec, session bool) (*run, error) {
	if !session && (len(spec.Args) == 0 || spec.Args[0] == "") {
		return nil, errors.New("no command to run")
	}
	ws, err := checkWorkspace(spec.Filesystem.Workspace)
	if err != nil {
		return nil, err
	}
	host := features()
	r := &run{spec: spec, ws: ws, limits: spec.Limits.WithDefaults()}
	r.enf = sandbox.Enforcement{
		Namespaces: []string{"user", "mount", "pid", "ipc", "uts", "net", "cgroup"},
		Missing:    map[sandbox.Protection]string{},
	}
	if host.landlockABI > 0 {
		r.enf.LandlockABI = min(host.landlockABI, landlockNewestABI)
		r.enf.LandlockNet = spec.Network.RestrictTCP && host.landlockABI >= 4
		r.enf.LandlockScope = host.landlockABI >= 6
	} else {
		r.enf.Missing[sandbox.ProtectLandlock] = "the kernel has no Landlock (needs 5.13 with landlock in the lsm= list)"
	}
	if spec.Network.RestrictTCP && !r.enf.LandlockNet {
		r.enf.Missing[sandbox.ProtectLandNet] = "Landlock TCP rules need ABI 4 (Linux 6.7)"
	}
	if !r.enf.LandlockScope {
		r.enf.Missing[sandbox.ProtectScope] = "Landlock scoping needs ABI 6 (Linux 6.12)"
	}
	r.enf.Seccomp = host.seccomp
	if !host.seccomp {
		r.enf.Missing[sandbox.ProtectSeccomp] = "the kernel has no seccomp filter support"
	}
	r.enf.NoNewPrivs = true

	// Fail before touching anything when a requirement cannot be met.
	// (The cgroup requirement is checked once the cgroup is tried.)
	for _, p := range spec.Require {
		if p != sandbox.ProtectCgroup && !r.enf.Has(p) {
			return nil, &sandbox.RequireError{Protection: p, Why: r.enf.Missing[p]}
		}
	}

	switch spec.Network.Mode {
	case "", sandbox.NetworkNone:
	case sandbox.NetworkProxy:
		if spec.Network.Connect == nil {
			return nil, errors.New("network mode proxy needs Network.Connect to take the connections")
		}
	default:
		return nil, fmt.Errorf("unknown network mode %q (expected none or proxy)", spec.Network.Mode)
	}

	writable := []string{ws}
	for _, w := range spec.Filesystem.Writable {
		if !filepath.IsAbs(w) {
			return nil, fmt.Errorf("writable path %q is not absolute", w)
		}
		if _, err := os.Stat(w); err != nil {
			// Making it may change the workspace (it may be inside it,
			// or lead there): not before the caller is ready.
			if err := r.waitReady(); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(w, 0o700); err != nil {
			return nil, fmt.Errorf("writable path: %w", err)
		}
		real, err := checkWritable(w, "writable path")
		if err != nil {
			return nil, err
		}
		writable = append(writable, real)
	}

	r.writable = writable

	r.lock, err = lockWorkspace(ws)
	if err != nil {
		return nil, fmt.Errorf("lock workspace: %w", err)
	}
	cg, err := (*cgroup)(nil), errors.New("cgroups were turned off for this run")
	if !spec.NoCgroup {
		// A session gets a CPU share of its own, so that one session's busy
		// threads do not starve another's.
		cg, err = newCgroup(r.limits.Memory, r.limits.Processes, session)
	}
	if err == nil {
		r.cg = cg
		r.enf.Cgroup = cg.version
		r.enf.CgroupLimits = cg.limits
	} else {
		r.enf.Missing[sandbox.ProtectCgroup] = err.Error()
		for _, p := range spec.Require {
			if p == sandbox.ProtectCgroup {
				r.cleanup()
				return nil, &sandbox.RequireError{Protection: p, Why: err.Error()}
			}
		}
	}
	if r.needPidBound() && r.limits.Processes+1 < minPidMax {
		r.cleanup()
		return nil, fmt.Errorf("a limit of %d processes cannot be enforced here: without a pids cgroup (%s), a root caller's processes are bounded only by the PID namespace, which the kernel allows no lower than %d",
			r.limits.Processes, r.enf.Missing[sandbox.ProtectCgroup], minPidMax-1)
	}
	r.prot, err = planProtected(ws, spec.Filesystem.Protected, writable)
	if err != nil {
		r.cleanup()
		return nil, err
	}
	if err := r.buildPlan(ws, writable); err != nil {
		r.cleanup()
		return nil, err
	}

	return r, nil
}

// checkWorkspace refuses workspaces that would open up the host.
func checkWorkspace(ws string) (string, error) {
	if ws == "" {
		return "", errors.New("no workspace given")
	}
	return checkWritable(ws, "the workspace")
}

// systemDirs may not be made writable, nor may anything above them.
var systemDirs = []string{"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/proc", "/sys", "/dev", "/var", "/run"}

// checkWritable resolves a path the sandbox is to write to and refuses one
// that would open up the host: /, a system directory, the home directory
// or a directory above it (shell start-up files and credentials live
// there).
func checkWritable(path, what string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("%s %q is not an absolute path", what, path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s %s is not a directory", what, path)
	}
	if real == "/" {
		return "", fmt.Errorf("%s cannot be / (it would make the whole host writable)", what)
	}
	if home, err := os.UserHomeDir(); err == nil {
		if h, err := filepath.EvalSymlinks(home); err == nil && (h == real || underAny(h, []string{real})) {
			return "", fmt.Errorf("%s cannot be the home directory %s or a directory holding it (it holds credentials and shell start-up files); use a project directory", what, home)
		}
	}
	for _, sys := range systemDirs {
		if real == sys || underAny(sys, []string{real}) {
			return "", fmt.Errorf("%s cannot be the system directory %s", what, real)
		}
	}
	return real, nil
}

// needPidBound reports whether the PID namespace is the only thing that can
// bound the number of processes: no pids cgroup, and a command whose uid is
// the host's root, to which RLIMIT_NPROC does not apply.
func (r *run) needPidBound() bool {
	return r.limits.Processes > 0 && !r.cg.has("pids") && os.Getuid() == 0
}

// minPidMax is the smallest pid_max the kernel accepts (RESERVED_PIDS+1).
const minPidMax = 301

// procMasks harden the fresh /proc: host-wide knobs read-only, kernel
// memory and key listings hidden.
var (
	procReadOnly  = []string{"/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs"}
	procMaskFiles = []string{"/proc/sysrq-trigger", "/proc/kcore", "/proc/keys", "/proc/key-users",
		"/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats", "/proc/kallsyms", "/proc/kmsg"}
	procMaskDirs = []string{"/proc/acpi", "/proc/scsi", "/proc/asound"}
)

func (r *run) buildPlan(ws string, writable []string) error {
	spec := r.spec
	fsys := spec.Filesystem
	roots := fsys.ReadOnlyRoots
	if len(roots) == 0 {
		roots = []string{"/"}
	}
	var steps []mount
	wholeHost := false
	for _, root := range roots {
		if root == "/" {
			wholeHost = true
		}
	}
	if wholeHost {
		steps = append(steps, mount{Kind: mRootBind, Src: "/", Dst: "/"})
	} else {
		steps = append(steps, mount{Kind: mTmpfs, Dst: "/", Mode: 0o755, Size: 1 << 20})
		for _, root := range roots {
			if !filepath.IsAbs(root) {
				return fmt.Errorf("read-only root %q is not absolute", root)
			}
			real, err := filepath.EvalSymlinks(root)
			if err != nil {
				return fmt.Errorf("read-only root: %w", err)
			}
			steps = append(steps, mount{Kind: mRootBind, Src: real, Dst: real})
			if clean := filepath.Clean(root); clean != real {
				// /bin → usr/bin on merged-/usr systems: the link is
				// recreated as it reads, and leads to the bound target.
				if target, err := os.Readlink(clean); err == nil {
					steps = append(steps, mount{Kind: mSymlink, Src: target, Dst: clean})
				}
			}
		}
	}
	tmpSize := fsys.TmpSize
	if tmpSize == 0 {
		tmpSize = 1 << 30
	}
	// The PID namespace bounds the number of processes too, which matters
	// where nothing else does: RLIMIT_NPROC does not apply to a command
	// whose uid is the host's root, and without a cgroup that is all there
	// is. The kernel accepts no pid_max below minPidMax, so small limits are
	// held to that by this bound.
	pidMax := 0
	if r.limits.Processes > 0 {
		pidMax = max(r.limits.Processes+1, minPidMax)
	}
	steps = append(steps, mount{Kind: mProc, Dst: "/proc", PidMax: pidMax, PidMaxRequired: r.needPidBound()})
	for _, p := range procReadOnly {
		steps = append(steps, mount{Kind: mPin, Dst: p, RO: true, Optional: true})
	}
	for _, p := range procMaskFiles {
		if _, err := os.Stat(p); err == nil {
			steps = append(steps, mount{Kind: mMaskFile, Dst: p, Optional: true})
		}
	}
	for _, p := range procMaskDirs {
		if _, err := os.Stat(p); err == nil {
			steps = append(steps, mount{Kind: mMaskDir, Dst: p, Optional: true})
		}
	}
	steps = append(steps,
		mount{Kind: mDev, Dst: "/dev", Size: tmpSize},
		mount{Kind: mTmpfs, Dst: "/tmp", Mode: 0o1777, Size: tmpSize},
	)
	for _, w := range writable {
		steps = append(steps, mount{Kind: mBind, Src: w, Dst: w})
	}
	// Masks come after the writable binds so that a credential store inside
	// a writable path is hidden too.
	masked := r.maskSteps(fsys.Masked, writable)
	steps = append(steps, masked...)
	var hidden []string
	for _, m := range masked {
		if m.Kind == mMaskDir || m.Kind == mTmpfs {
			hidden = append(hidden, m.Dst)
		}
	}
	steps = append(steps, hostSocketMasks(writable, hidden)...)
	steps = append(steps, r.prot.steps...)
	if !wholeHost {
		steps = append(steps, mount{Kind: mReadOnly, Dst: "/"})
	}

	dir := spec.Dir
	if dir == "" {
		dir = ws
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(ws, dir)
	}
	env := spec.Env
	if spec.Network.Mode == sandbox.NetworkProxy {
		env = withProxyEnv(env)
	}
	r.plan = plan{
		Proxy:    spec.Network.Mode == sandbox.NetworkProxy,
		Args:     spec.Args,
		Env:      env,
		Dir:      dir,
		Hostname: "cordon",
		Mounts:   steps,
		Seccomp:  r.enf.Seccomp,
		Rlimits:  r.rlimits(),
		CgroupNS: true,
	}
	if r.enf.LandlockABI > 0 {
		// Landlock refuses the masked paths below the caller's home again
		// (credential stores: the reason for masking). Each one costs a
		// rule per sibling of every directory above it, so the system
		// paths (/etc/shadow and the like, unreadable to a non-root caller
		// anyway) are left to the mount layer, which seccomp keeps in place.
		home, _ := os.UserHomeDir()
		var maskedPaths []string
		for _, m := range masked {
			if home != "" && home != "/" && underAny(m.Dst, []string{home}) {
				maskedPaths = append(maskedPaths, m.Dst)
			}
		}
		rx := []string{"/"}
		if !wholeHost {
			rx = roots
		}
		r.plan.Landlock = landlockPlan{
			ABI:          r.enf.LandlockABI,
			ReadExec:     rx,
			Masked:       maskedPaths,
			ReadWrite:    writable,
			ListRoot:     !wholeHost,
			Net:          r.enf.LandlockNet,
			BindPorts:    spec.Network.BindPorts,
			ConnectPorts: spec.Network.ConnectPorts,
			Scope:        r.enf.LandlockScope,
		}
	}
	return nil
}

// maskSteps plans the masks for the paths that exist.
func (r *run) maskSteps(paths []string, writable []string) []mount {
	var out []mount
	seen := map[string]bool{}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			continue
		}
		// One Lstat first: most masked paths do not exist, and resolving
		// each component of a missing path costs more.
		if _, err := os.Lstat(p); err != nil {
			continue // nothing there to hide
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		if underAny(real, []string{"/proc", "/dev", "/tmp"}) {
			continue // already the sandbox's own
		}
		if containsAny(real, writable) {
			// Hiding it would hide the workspace too; what is writable was
			// asked for.
			continue
		}
		st, err := os.Stat(real)
		if err != nil {
			continue
		}
		if real == "/run" {
			out = append(out, runMask()...)
			continue
		}
		kind := mMaskFile
		if st.IsDir() {
			kind = mMaskDir
		}
		out = append(out, mount{Kind: kind, Dst: real, Optional: true})
	}
	return out
}

// runKeep are the paths under /run that hold software rather than
// sockets and state (NixOS keeps its whole system there).
var runKeep = []string{"/run/current-system", "/run/booted-system", "/run/opengl-driver", "/run/opengl-driver-32"}

// runMask hides /run, where the host's daemons keep their sockets (Docker,
// containerd, D-Bus, systemd, the user's runtime directory with its agents),
// keeping only runKeep, read-only.
func runMask() []mount {
	steps := []mount{{Kind: mTmpfs, Dst: "/run", Mode: 0o755, Size: 64 << 10}}
	for _, k := range runKeep {
		if _, err := os.Stat(k); err == nil {
			steps = append(steps, mount{Kind: mBind, Src: k, Dst: k, RO: true, Optional: true})
		}
	}
	return append(steps, mount{Kind: mReadOnly, Dst: "/run"})
}

// containsAny reports whether dir is one of paths or contains one.
func containsAny(dir string, paths []string) bool {
	for _, p := range paths {
		if p == dir || underAny(p, []string{dir}) {
			return true
		}
	}
	return false
}

// hostSocketMasks hides the host's named unix sockets. A read-only mount
// does not stop connect(2) on a socket file, so a socket the view shows
// (a Docker or D-Bus socket, an ssh-agent) would be a way out of the
// sandbox. Every named socket bound in the host's network namespace is
// found in /proc/net/unix, under the name it was bound to; daemons often
// bind a temporary name and rename it into place, or link it elsewhere in
// the same directory, so where it is safe the socket's whole directory is
// hidden, not only the name. hidden are directories hidden already.
func hostSocketMasks(writable, hidden []string) []mount {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return nil
	}
	defer f.Close()
	home, _ := os.UserHomeDir()
	skip := append([]string{"/proc", "/dev", "/tmp"}, hidden...)
	seen := map[string]bool{}
	var out []mount
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || !strings.HasPrefix(fields[7], "/") {
			continue
		}
		p := filepath.Clean(fields[7])
		dir := filepath.Dir(p)
		if seen[p] || seen[dir] || underAny(p, skip) {
			continue
		}
		st, err := os.Lstat(dir)
		if err != nil || !st.IsDir() {
			continue
		}
		if socketDirMaskable(dir, home, writable) {
			seen[dir] = true
			skip = append(skip, dir)
			out = append(out, mount{Kind: mMaskDir, Dst: dir, Optional: true})
			continue
		}
		seen[p] = true
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
			out = append(out, mount{Kind: mMaskFile, Dst: p, Optional: true})
		}
	}
	return out
}

// socketDirMaskable reports whether the directory holding a host socket
// can be hidden whole: not a top-level or home directory, nothing the
// sandbox writes in or below it, and not above the home directory.
func socketDirMaskable(dir, home string, writable []string) bool {
	if strings.Count(dir, "/") < 2 || dir == home || containsAny(dir, []string{home}) {
		return false
	}
	return !containsAny(dir, writable) && !underAny(dir, writable)
}

// rlimits are the per-process floor under the cgroup limits; without a
// cgroup they are the only limits.
func (r *run) rlimits() []rlimit {
	l := r.limits
	out := []rlimit{
		{Resource: unix.RLIMIT_NOFILE, Cur: uint64(l.OpenFiles), Max: uint64(l.OpenFiles)},
		{Resource: unix.RLIMIT_FSIZE, Cur: uint64(l.FileSize), Max: uint64(l.FileSize)},
		{Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0},
	}
	if l.CPUTime > 0 {
		s := uint64(l.CPUTime.Seconds())
		if s == 0 {
			s = 1
		}
		// SIGXCPU at the limit, SIGKILL a second later.
		out = append(out, rlimit{Resource: unix.RLIMIT_CPU, Cur: s, Max: s + 1})
	}
	if l.Processes > 0 {
		// Counted per user in the sandbox's own user namespace, so the
		// caller's other processes do not count against it.
		out = append(out, rlimit{Resource: unix.RLIMIT_NPROC, Cur: uint64(l.Processes), Max: uint64(l.Processes)})
	}
	if l.Memory > 0 {
		// RLIMIT_DATA, not RLIMIT_AS: runtimes such as V8 and Go reserve
		// far more address space than they use. Under a memory cgroup the
		// per-process cap is looser so that the cgroup, which reports an OOM
		// kill, is what stops a memory bomb.
		data := uint64(l.Memory)
		if r.cg.has("memory") {
			data *= 2
		}
		out = append(out, rlimit{Resource: unix.RLIMIT_DATA, Cur: data, Max: data})
	}
	return out
}

func (r *run) cleanup() {
	if r.cg != nil {
		r.cg.remove()
		r.cg = nil
		r.tr.mark("cgroup removed")
	}
	if r.lock != nil {
		if r.prot != nil && len(r.prot.placeholders) > 0 && r.lock.tryLast() {
			removePlaceholders(r.prot.placeholders)
		}
		r.lock.close()
		r.lock = nil
	}
}

// killReason records the first reason the parent had to kill the run.
type killReason struct {
	once   sync.Once
	reason atomic.Value
}

func (k *killReason) set(r sandbox.Reason, kill func()) {
	k.once.Do(func() {
		k.reason.Store(r)
		kill()
	})
}

func (k *killReason) get() sandbox.Reason {
	if v := k.reason.Load(); v != nil {
		return v.(sandbox.Reason)
	}
	return ""
}

func (r *run) run(ctx context.Context) (*sandbox.Result, error) {
	spec := r.spec
	p, closePipes, err := pipes(4)
	if err != nil {
		return nil, err
	}
	defer closePipes()
	planR, planW := p[0][0], p[0][1]
	statusR, statusW := p[1][0], p[1][1]
	outR, outW := p[2][0], p[2][1]
	errR, errW := p[3][0], p[3][1]

	// Free space is measured before anything of the run can write.
	disk := newDiskWatch(r.writable, r.limits)

	files := []uintptr{0, outW.Fd(), errW.Fd(), planR.Fd(), statusW.Fd()}
	// files[0] is the command's stdin, set below.
	var relay, relayChild *os.File
	if r.plan.Proxy {
		relay, relayChild, err = newRelay()
		if err != nil {
			return nil, err
		}
		defer relay.Close()
		defer relayChild.Close()
		files = append(files, relayChild.Fd())
	}
	stdin, closeStdin, err := stdinFD(spec.Stdin)
	if err != nil {
		return nil, err
	}
	defer closeStdin()
	files[0] = stdin
	pidfd := -1
	// syscall.ForkExec rather than os/exec: the init's streams are ours
	// already, and os/exec's first start probes pidfd support with a
	// process of its own, which a cold start does not need to pay.
	pid, err := syscall.ForkExec("/proc/self/exe", []string{initArg0}, &syscall.ProcAttr{
		Env:   []string{},
		Files: files,
		Sys:   initAttr(&pidfd),
	})
	if err != nil {
		return nil, startError(err)
	}
	defer unix.Close(pidfd)
	planR.Close()
	statusW.Close()
	outW.Close()
	errW.Close()
	relayDone := make(chan struct{})
	if relay != nil {
		relayChild.Close()
		go func() {
			defer close(relayDone)
			receiveConns(relay, spec.Network.Connect)
		}()
	} else {
		close(relayDone)
	}

	// wait reaps the init once; it is safe to call from several places.
	var waitOnce sync.Once
	var ws unix.WaitStatus
	wait := func() {
		waitOnce.Do(func() {
			for {
				_, err := unix.Wait4(pid, &ws, 0, nil)
				if err != unix.EINTR {
					return
				}
			}
		})
	}
	r.tr.mark("init started")
	kill := func() { unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0) }
	var why killReason
	if err := r.handOver(pid, planW); err != nil {
		kill()
		wait()
		return nil, err
	}

	// Streams: both count against one output limit.
	var outBytes atomic.Int64
	var wg sync.WaitGroup
	over := func() { why.set(sandbox.ReasonOutput, kill) }
	wg.Add(2)
	go copyLimited(&wg, spec.Stdout, outR, &outBytes, r.limits.OutputBytes, over)
	go copyLimited(&wg, spec.Stderr, errR, &outBytes, r.limits.OutputBytes, over)

	var st status
	var statusErr error
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		line, err := bufio.NewReader(statusR).ReadBytes('\n')
		if err != nil {
			statusErr = err
			return
		}
		statusErr = json.Unmarshal(line, &st)
	}()

	timer := time.AfterFunc(r.limits.Timeout, func() { why.set(sandbox.ReasonTimeout, kill) })
	defer timer.Stop()
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	if r.cg != nil {
		go func() {
			defer close(watchDone)
			watchCgroup(r.cg, &why, kill, stopWatch)
		}()
	} else {
		close(watchDone)
	}
	// The disk watcher is not waited for (see watchDisk), so its kill
	// must do nothing once the run is over: the pidfd is closed then, and
	// its number may name another run's init.
	var diskMu sync.Mutex
	diskOver := false
	if disk != nil {
		go watchDisk(disk, &why, func() {
			diskMu.Lock()
			defer diskMu.Unlock()
			if !diskOver {
				kill()
			}
		}, stopWatch)
	}
	waitDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			why.set(sandbox.ReasonKilled, kill)
		case <-waitDone:
		}
	}()
	wait()
	r.tr.mark("init exited")
	// The init's end of the relay is closed now that it is gone; the
	// receiver ends before the relay is closed under it.
	<-relayDone
	close(waitDone)
	close(stopWatch)
	diskMu.Lock()
	diskOver = true
	diskMu.Unlock()
	<-watchDone
	wg.Wait()
	<-statusDone

	res := &sandbox.Result{OutputBytes: outBytes.Load(), Enforced: r.enf, Warnings: disk.Warnings()}
	if statusErr == nil && st.Error != "" {
		if st.NotFound {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, spec.Args[0])
		}
		return nil, fmt.Errorf("sandbox: %s", st.Error)
	}
	res.Enforced.Seccomp = st.Seccomp
	res.Enforced.NoNewPrivs = st.NoNewPrivs
	res.Enforced.LandlockABI = st.LandlockABI
	res.CPUTime = time.Duration(st.UserNs + st.SysNs)
	res.MaxRSS = st.MaxRSS

	var oom, pids bool
	if r.cg != nil {
		oom, pids = r.cg.events()
	}
	switch reason := why.get(); {
	case reason != "":
		res.Reason = reason
		if reason == sandbox.ReasonDisk {
			res.Detail = disk.Detail()
		}
		res.Signal = int(syscall.SIGKILL)
		res.ExitCode = 128 + res.Signal
		if statusErr == nil && (st.Exited || st.Signal != 0) {
			// The command finished before the kill landed.
			res.ExitCode, res.Signal = st.Code, st.Signal
		}
	case statusErr != nil:
		// The init died without a word: only a kill from outside does that.
		res.Reason = sandbox.ReasonSignal
		res.Signal = int(syscall.SIGKILL)
		res.ExitCode = 128 + res.Signal
		if oom {
			res.Reason = sandbox.ReasonOOM
		}
		if ws.Exited() {
			return nil, fmt.Errorf("sandbox init exited with status %d without a report: %v", ws.ExitStatus(), statusErr)
		}
	default:
		res.ExitCode, res.Signal = st.Code, st.Signal
		res.Reason = endReason(st, oom, pids, res.CPUTime, r.limits.CPUTime)
	}
	return res, nil
}

// endReason says why a command that ended by itself ended: a limit that
// killed it, a signal, or its own exit.
func endReason(st status, oom, pids bool, used, cpuLimit time.Duration) sandbox.Reason {
	switch {
	case oom:
		return sandbox.ReasonOOM
	case st.Signal == int(syscall.SIGXCPU) || (st.Signal == int(syscall.SIGKILL) && used >= cpuLimit):
		return sandbox.ReasonCPU
	case st.Signal == int(syscall.SIGXFSZ):
		return sandbox.ReasonFSize
	case pids && st.Code != 0:
		return sandbox.ReasonPids
	case st.Signal != 0:
		return sandbox.ReasonSignal
	}
	return sandbox.ReasonExit
}

// initAttr is how the init is started: in new namespaces, with the
// caller's ids mapped to themselves, a few ambient capabilities to build
// the view, and a parent-death signal.
func initAttr(pidfd *int) *syscall.SysProcAttr {
	uid, gid := os.Getuid(), os.Getgid()
	return &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET,
		// The command keeps the caller's uid and gid, mapped to
		// themselves: files it writes in the workspace belong to the
		// caller. The init keeps, as ambient capabilities across its own
		// execve, what it needs to build the view; it drops them all
		// before the command starts.
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		AmbientCaps:                []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SETPCAP},
		// If cordon dies, so does the sandbox, and with it every process
		// in it. (The signal comes when the thread that forked the init
		// ends; see forkInit for sessions.)
		Pdeathsig: syscall.SIGKILL,
		// Signals go through the pidfd, which cannot name a recycled pid.
		PidFD: pidfd,
	}
}

// withProxyEnv adds sandbox.ProxyEnv to env where env does not set the
// variable already.
// startError says why the init could not be started: a host that does
// not let this user make namespaces is a missing protection, told with a
// hint; anything else is a failure.
func startError(err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EINVAL) {
		return &sandbox.RequireError{Protection: sandbox.ProtectUserNS, Why: userNSHint(err)}
	}
	return fmt.Errorf("start sandbox: %w", err)
}

func withProxyEnv(env []string) []string {
	have := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		have[k] = true
	}
	out := append([]string(nil), env...)
	for k, v := range sandbox.ProxyEnv {
		if !have[k] {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// pipes opens n pipes, each as {read end, write end}; closeAll closes
// every end, including those the caller closed already (as a write end
// handed to the init), which is harmless.
func pipes(n int) (p [][2]*os.File, closeAll func(), err error) {
	closeAll = func() {
		for _, e := range p {
			e[0].Close()
			e[1].Close()
		}
	}
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, func() {}, err
		}
		p = append(p, [2]*os.File{r, w})
	}
	return p, closeAll, nil
}

// stdinFD returns the descriptor the command reads: the caller's file
// itself, /dev/null for none, or a pipe fed from the reader.
func stdinFD(r io.Reader) (uintptr, func(), error) {
	switch in := r.(type) {
	case nil:
		f, err := os.Open(os.DevNull)
		if err != nil {
			return 0, nil, err
		}
		return f.Fd(), func() { f.Close() }, nil
	case *os.File:
		return in.Fd(), func() {}, nil
	}
	// Copied until the reader ends or the command stops reading.
	fd, closeRead, _, err := cutStdin(r)
	return fd, closeRead, err
}

// watchCgroup kills the run when the memory limit killed a process or the
// process limit refused a fork: a run that hit a limit is stopped whole
// rather than left half-working.
func watchCgroup(cg *cgroup, why *killReason, kill func(), stop <-chan struct{}) {
	watch(20*time.Millisecond, why, kill, stop, func() sandbox.Reason {
		switch oom, pids := cg.events(); {
		case oom:
			return sandbox.ReasonOOM
		case pids:
			return sandbox.ReasonPids
		}
		return ""
	})
}

// watch calls check every interval until stop is closed, and kills the
// run with the first reason check gives.
func watch(every time.Duration, why *killReason, kill func(), stop <-chan struct{}, check func() sandbox.Reason) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if r := check(); r != "" {
				why.set(r, kill)
				return
			}
		}
	}
}
