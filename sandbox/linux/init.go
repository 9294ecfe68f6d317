package linux

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// initArg0 is the argv[0] the parent gives the re-executed binary so that
// Init recognises it.
const initArg0 = "cordon-init"

// probeArg0 is the argv[0] of the process Probe starts in new namespaces to
// see whether it can; it exits at once.
const probeArg0 = "cordon-userns-probe"

// Inherited descriptors of the init.
const (
	fdPlan   = 3 // the parent writes the plan and closes it
	fdStatus = 4 // the init writes status records
)

// Init runs the sandbox init when this process is one, and never returns in
// that case; otherwise it returns at once. Call it first in main, and in
// TestMain of tests that run sandboxes, before anything else starts.
func Init() {
	if len(os.Args) == 0 {
		return
	}
	if os.Args[0] == probeArg0 {
		os.Exit(0)
	}
	if os.Args[0] != initArg0 {
		return
	}
	// The first goroutine stays on this thread for the life of the init:
	// the thread is the one that gets restricted and forks the command.
	runtime.LockOSThread()
	st := runInit()
	out := os.NewFile(fdStatus, "status")
	b, _ := json.Marshal(st)
	out.Write(append(b, '\n'))
	if st.Error != "" {
		os.Exit(111)
	}
	os.Exit(0)
}

// runInit builds the sandbox and runs the command. It is PID 1 of the new
// PID namespace: when it returns and the process exits, the kernel kills
// every process left in the namespace, so nothing the command started can
// outlive the run.
func runInit() status {
	// The parent writes the plan as one JSON value, then moves this process
	// into its cgroups and only then closes the pipe. Building the view
	// does not wait for that (moving a task between v1 cgroups can take an
	// RCU grace period, milliseconds), but starting the command does.
	f := os.NewFile(fdPlan, "plan")
	p, err := readPlan(f)
	if err != nil {
		return status{Error: "read plan: " + err.Error()}
	}
	tr := newTracer("init", p.Trace)
	tr.mark("plan read")
	// Signals that reach the init (forwarded by the parent) go to the
	// command's process group. signal.Notify takes most of a millisecond
	// the first time, so it is set up on another thread meanwhile; a signal
	// that comes before it ends the init, and so the run, which is what it
	// would have asked for anyway.
	sigs := make(chan os.Signal, 4)
	go signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	// The seccomp filter is assembled on another thread meanwhile.
	type assembled struct {
		f   []unix.SockFilter
		err error
	}
	filter := make(chan assembled, 1)
	if p.Seccomp {
		go func() {
			f, err := seccompFilter()
			filter <- assembled{f, err}
		}()
	} else {
		filter <- assembled{}
	}
	// Only the standard streams, the status pipe, the plan pipe and, with a
	// proxy, the relay stay open: nothing the caller of cordon leaked to it
	// reaches the command.
	last := fdStatus
	if p.Proxy {
		last = fdRelay
	}
	if p.Session {
		last = p.Control
	}
	if err := unix.CloseRange(uint(last)+1, ^uint(0), 0); err != nil {
		return status{Error: "close inherited descriptors: " + err.Error()}
	}
	for fd := fdPlan; fd <= last; fd++ {
		unix.CloseOnExec(fd)
	}
	// The hostname and the loopback interface belong to the UTS and network
	// namespaces, which every thread of the init shares: another thread
	// sets them while this one mounts.
	netDone := make(chan error, 1)
	go func() {
		if err := unix.Sethostname([]byte(p.Hostname)); err != nil {
			netDone <- fmt.Errorf("hostname: %w", err)
			return
		}
		if err := loopbackUp(); err != nil {
			netDone <- fmt.Errorf("loopback: %w", err)
			return
		}
		if p.Proxy {
			if err := startProxyListeners(); err != nil {
				netDone <- err
				return
			}
		}
		netDone <- nil
	}()
	// The Landlock ruleset is filled on another thread while the view is
	// mounted; it reads the host's tree below /oldroot, so it starts once
	// that exists.
	type built struct {
		rs  *ruleset
		err error
	}
	var rules chan built
	staged := func() {
		if p.Landlock.ABI == 0 {
			return
		}
		rules = make(chan built, 1)
		go func() {
			rs, err := newRuleset(&p.Landlock, oldRoot)
			tr.mark("landlock rules built")
			rules <- built{rs, err}
		}()
	}
	var rs *ruleset
	waitRules := func() error {
		if rules == nil {
			return nil
		}
		tr.mark("mounts done")
		b := <-rules
		rules = nil
		rs = b.rs
		return b.err
	}
	tr.mark("set up")
	viewErr := buildView(p.Mounts, staged, waitRules)
	tr.mark("view built")
	// The goroutine reads below /oldroot: it must be done before anything
	// else happens, whether or not the view was built.
	if err := waitRules(); viewErr == nil {
		viewErr = err
	}
	if viewErr != nil {
		if rs != nil {
			rs.close()
		}
		return status{Error: viewErr.Error()}
	}
	if rs != nil {
		defer rs.close()
		if err := rs.addViewRules(); err != nil {
			return status{Error: err.Error()}
		}
	}
	if err := os.Chdir(p.Dir); err != nil {
		return status{Error: fmt.Sprintf("working directory %s: %v", p.Dir, err)}
	}
	// The rlimits are set on the init and so inherited by the command,
	// except a data limit too small for the init itself: the Go runtime's
	// own mappings count against it (tens of MiB), and an init that cannot
	// map memory dies. That one is set on the command right after it
	// starts (see below).
	var lateData *unix.Rlimit
	own := vmData()
	for _, r := range p.Rlimits {
		lim := &unix.Rlimit{Cur: r.Cur, Max: r.Max}
		if r.Resource == unix.RLIMIT_DATA && r.Cur < own+initDataHeadroom {
			lateData = lim
			continue
		}
		if err := unix.Setrlimit(r.Resource, lim); err != nil {
			return status{Error: fmt.Sprintf("rlimit %d: %v", r.Resource, err)}
		}
	}
	if err := <-netDone; err != nil {
		return status{Error: err.Error()}
	}
	// Wait for the parent to have moved this process into its cgroups.
	if _, err := io.Copy(io.Discard, f); err != nil {
		return status{Error: "wait for cgroups: " + err.Error()}
	}
	f.Close()
	tr.mark("in cgroups")
	if p.CgroupNS {
		// In its cgroups now, so the namespace is rooted there.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return status{Error: "cgroup namespace: " + err.Error()}
		}
	}
	if p.Session {
		sf := <-filter
		if sf.err != nil {
			return status{Error: sf.err.Error()}
		}
		return serveSession(p.Control, rs, sf.f, lateData, sigs)
	}
	path, err := lookPath(p.Args[0], p.Env)
	if err != nil {
		return status{Error: err.Error(), NotFound: true}
	}

	st := status{}
	sf := <-filter
	if sf.err != nil {
		st.Error = sf.err.Error()
		return st
	}
	if err := restrictThread(rs, sf.f, &st); err != nil {
		st.Error = err.Error()
		return st
	}
	tr.mark("restricted")
	pid, err := syscall.ForkExec(path, p.Args, &syscall.ProcAttr{
		Env:   p.Env,
		Files: []uintptr{0, 1, 2},
		// A new session: the command has no controlling terminal, so it
		// cannot inject input into the caller's terminal (TIOCSTI) or be
		// reached by the caller's job control.
		Sys: &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		st.Error = fmt.Sprintf("start %s: %v", p.Args[0], err)
		st.NotFound = errors.Is(err, unix.ENOENT)
		return st
	}
	if lateData != nil {
		// The command has just exec'd (the fork suspends the init until
		// then) and has mapped little; from here its mappings are
		// bounded. What it mapped in between is not: the memory cgroup,
		// where there is one, bounds the whole run regardless.
		if err := unix.Prlimit(pid, unix.RLIMIT_DATA, lateData, nil); err != nil {
			unix.Kill(pid, unix.SIGKILL)
			st.Error = fmt.Sprintf("data limit: %v", err)
			return st
		}
	}
	tr.mark("command started")
	go func() {
		for s := range sigs {
			unix.Kill(-pid, s.(unix.Signal))
		}
	}()
	// Reap everything: orphans are reparented to the init.
	end := reapUntil(pid, nil)
	if end.Error != "" {
		st.Error = end.Error
		return st
	}
	tr.mark("command exited")
	st.Exited, st.Code, st.Signal = end.Exited, end.Code, end.Signal
	var all unix.Rusage
	unix.Getrusage(unix.RUSAGE_CHILDREN, &all)
	st.UserNs = all.Utime.Nano()
	st.SysNs = all.Stime.Nano()
	st.MaxRSS = all.Maxrss * 1024
	return st
}

// restrictThread applies, in this order and on the calling locked thread
// only: no_new_privs, the capability drop, Landlock and seccomp. The command
// forked from this thread inherits all of them. seccomp comes last because
// its deny list would refuse some of the calls before it.
func restrictThread(rs *ruleset, filter []unix.SockFilter, st *status) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	st.NoNewPrivs = true
	// Non-dumpable: /proc/1 of the init becomes unreadable to the command,
	// which runs with the same uid.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("dumpable: %w", err)
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	if rs != nil {
		if err := rs.restrict(); err != nil {
			return err
		}
		st.LandlockABI = rs.abi
	}
	if filter != nil {
		if err := loadSeccomp(filter); err != nil {
			return err
		}
		st.Seccomp = true
	}
	return nil
}

// dropCapabilities empties the bounding, ambient, inheritable, permitted and
// effective sets of the calling thread. With an empty bounding set even a
// uid-0 command gains nothing at execve.
func dropCapabilities() error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("drop capabilities: %w", err)
	}
	return nil
}

// lookPath finds file in the PATH of env, inside the sandbox.
func lookPath(file string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			path = kv[5:]
		}
	}
	old := os.Getenv("PATH")
	os.Setenv("PATH", path)
	defer os.Setenv("PATH", old)
	p, err := exec.LookPath(file)
	if err != nil && errors.Is(err, exec.ErrDot) {
		return p, nil
	}
	if err != nil {
		return "", fmt.Errorf("command not found in the sandbox: %s", file)
	}
	return p, nil
}

// loopbackUp brings up lo in the new network namespace; it starts down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// initDataHeadroom is what the init may still map after its rlimits are
// set.
const initDataHeadroom = 64 << 20

// vmData is this process's data size (VmData), in bytes.
func vmData() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 1 << 40 // unknown: treat every data limit as too small for the init
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmData:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 1 << 40
}
