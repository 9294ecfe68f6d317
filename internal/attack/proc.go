package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var procAttacks = map[string]attack{
	"ptrace":           {"PID", attackPtrace, 1},
	"kill":             {"PID", attackKill, 1},
	"see-pid":          {"PID", attackSeePid, 1},
	"proc-peek":        {"[PID]", attackProcPeek, 0},
	"process-vm-readv": {"[PID]", attackProcessVMReadv, 0},
	"kcmp":             {"", attackKcmp, 0},
	"caps":             {"", attackCaps, 0},
	"seccomp-status":   {"", attackSeccompStatus, 0},
	"env":              {"NAME...", attackEnv, 1},
	"fds":              {"", attackFds, 0},
	"sysv-shm":         {"KEY", attackSysvShm, 1},
	"sysv-msg":         {"KEY", attackSysvMsg, 1},
	"sysv-sem":         {"KEY", attackSysvSem, 1},
	"hostname":         {"NAME", attackHostname, 1},
	"setns":            {"[NSPATH...]", attackSetns, 0},
	"userns":           {"", attackUserns, 0},
	"namespaces":       {"", attackNamespaces, 0},
	"personality":      {"", attackPersonality, 0},
	"tiocsti":          {"", attackTIOCSTI, 0},
	"daemon":           {"MARKERFILE SECONDS", attackDaemon, 2},
	"background":       {"MARKERFILE [SECONDS]", attackBackground, 1},
}

// children are the entry points of processes an attack starts by running
// this binary again.
var children = map[string]func(args []string){
	"_daemon-middle": daemonMiddle,
	"_marker-loop":   markerLoop,
	"_noop":          func([]string) {},
}

func pidArg(s string) (int, outcome, bool) {
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, errorf("bad pid %q", s), false
	}
	return pid, outcome{}, true
}

// attackPtrace attaches to PID, to the parent and to PID 1 of the namespace
// (the sandbox's init), first with PTRACE_SEIZE, which does not stop the
// target, then with PTRACE_ATTACH, after which the target is let go at
// once. Escaped: any attach succeeded.
func attackPtrace(args []string) outcome {
	pid, bad, good := pidArg(args[0])
	if !good {
		return bad
	}
	// ptrace binds the tracee to the calling thread.
	runtime.LockOSThread()
	var a attempts
	seen := map[int]bool{os.Getpid(): true, 0: true}
	for _, t := range []struct {
		pid  int
		name string
	}{{pid, "pid " + args[0]}, {os.Getppid(), "parent"}, {1, "pid 1"}} {
		if seen[t.pid] {
			continue
		}
		seen[t.pid] = true
		if err := unix.PtraceSeize(t.pid); err == nil {
			// The tracee is detached when this process exits.
			a.got("PTRACE_SEIZE "+t.name, "attached to %d", t.pid)
			continue
		} else {
			a.deny("PTRACE_SEIZE "+t.name, err)
		}
		if err := unix.PtraceAttach(t.pid); err != nil {
			a.deny("PTRACE_ATTACH "+t.name, err)
			continue
		}
		var ws unix.WaitStatus
		unix.Wait4(t.pid, &ws, unix.WALL, nil)
		unix.PtraceDetach(t.pid)
		a.got("PTRACE_ATTACH "+t.name, "attached to %d", t.pid)
	}
	return a.outcome()
}

// attackKill sends SIGKILL to PID. Escaped: kill(2) succeeded.
func attackKill(args []string) outcome {
	pid, bad, good := pidArg(args[0])
	if !good {
		return bad
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		return blockedf("kill -9 %d: %s", pid, errName(err))
	}
	return escapedf("sent SIGKILL to %d", pid)
}

// attackSeePid looks for PID in /proc and with getpgid, getsid and a null
// signal. Escaped: any of them found it.
func attackSeePid(args []string) outcome {
	pid, bad, good := pidArg(args[0])
	if !good {
		return bad
	}
	var a attempts
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		a.deny("/proc/"+args[0], unwrap(err))
	} else {
		a.got("/proc/"+args[0], "exists")
	}
	if pg, err := unix.Getpgid(pid); err != nil {
		a.deny("getpgid", err)
	} else {
		a.got("getpgid", "process group %d", pg)
	}
	if sid, err := unix.Getsid(pid); err != nil {
		a.deny("getsid", err)
	} else {
		a.got("getsid", "session %d", sid)
	}
	a.check("kill -0", unix.Kill(pid, 0))
	return a.outcome()
}

// attackProcPeek reads what /proc gives away about PID (default 1, the
// sandbox's init): its environment (the caller's secrets, if the init kept
// them), its root directory (the host's, if the init never left it) and its
// open files. Escaped: any of them could be read or opened.
func attackProcPeek(args []string) outcome {
	pid := 1
	if len(args) > 0 {
		p, bad, good := pidArg(args[0])
		if !good {
			return bad
		}
		pid = p
	}
	dir := fmt.Sprintf("/proc/%d", pid)
	var a attempts
	if env, err := os.ReadFile(dir + "/environ"); err != nil {
		a.deny("environ", unwrap(err))
	} else if len(env) == 0 {
		a.note("environ", "empty")
	} else {
		a.got("environ", "%d variables", strings.Count(string(env), "\x00"))
	}
	var own, theirs unix.Stat_t
	if err := unix.Stat(dir+"/root/", &theirs); err != nil {
		a.deny("root", err)
	} else if err := unix.Stat("/", &own); err == nil && (own.Dev != theirs.Dev || own.Ino != theirs.Ino) {
		a.got("root", "a different root directory is reachable")
	} else {
		a.note("root", "same as ours")
	}
	fdDir, err := unix.Open(dir+"/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		a.deny("fd", err)
		return a.outcome()
	}
	names, err := readDirNames(fdDir)
	unix.Close(fdDir)
	if err != nil {
		a.deny("fd", err)
		return a.outcome()
	}
	var opened []string
	for _, n := range names {
		p := dir + "/fd/" + n
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		unix.Close(fd)
		target, _ := os.Readlink(p)
		opened = append(opened, n+"->"+target)
	}
	if len(opened) > 0 {
		a.got("fd", "opened %s", strings.Join(opened, ", "))
	} else {
		a.note("fd", "none of %d could be opened", len(names))
	}
	return a.outcome()
}

// attackProcessVMReadv reads memory of this process and of PID with
// process_vm_readv. Escaped: any byte was read.
func attackProcessVMReadv(args []string) outcome {
	var a attempts
	secret := []byte("cordon")
	dst := make([]byte, len(secret))
	local := []unix.Iovec{{Base: &dst[0], Len: uint64(len(dst))}}
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&secret[0])), Len: len(secret)}}
	if n, err := unix.ProcessVMReadv(os.Getpid(), local, remote, 0); err != nil {
		a.deny("own memory", err)
	} else {
		a.got("own memory", "read %d bytes", n)
	}
	runtime.KeepAlive(secret)
	if len(args) > 0 {
		pid, bad, good := pidArg(args[0])
		if !good {
			return bad
		}
		addr := readableAddr(pid)
		remote := []unix.RemoteIovec{{Base: addr, Len: 1}}
		n, err := unix.ProcessVMReadv(pid, local[:1], remote, 0)
		switch {
		case err == nil:
			a.got("pid "+args[0], "read %d bytes at %#x", n, addr)
		case err == unix.ESRCH || refusal(err):
			a.deny("pid "+args[0], err)
		default:
			a.got("pid "+args[0], "passed the access check (%s)", errName(err))
		}
	}
	return a.outcome()
}

// readableAddr returns the start of PID's first readable mapping, or an
// address the kernel answers EFAULT for when the maps cannot be read.
func readableAddr(pid int) uintptr {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0x10000
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[1], "r") {
			continue
		}
		start, _, _ := strings.Cut(fields[0], "-")
		if v, err := strconv.ParseUint(start, 16, 64); err == nil {
			return uintptr(v)
		}
	}
	return 0x10000
}

// attackKcmp compares this process's descriptors with kcmp(2), a call that
// leaks kernel object identities and that a sandbox has no use for.
// Escaped: it answered.
func attackKcmp([]string) outcome {
	const kcmpFile = 0
	pid := uintptr(os.Getpid())
	r, _, e := unix.Syscall6(unix.SYS_KCMP, pid, pid, kcmpFile, 0, 1, 0)
	if e != 0 {
		return blockedf("kcmp: %s", errName(e))
	}
	return escapedf("kcmp answered %d", r)
}

// statusFields reads the named fields of /proc/self/status.
func statusFields(names ...string) (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, found := strings.Cut(line, ":")
		if found && want[k] {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out, nil
}

// attackCaps reads the process's capability sets, no_new_privs and seccomp
// mode. Escaped: any capability is held, no_new_privs is off or seccomp is
// not filtering.
func attackCaps([]string) outcome {
	names := []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"}
	f, err := statusFields(names...)
	if err != nil {
		return errorf("read /proc/self/status: %v", err)
	}
	var parts, bad []string
	for _, n := range names {
		v, found := f[n]
		if !found {
			v = "?"
		}
		parts = append(parts, n+"="+v)
		switch {
		case strings.HasPrefix(n, "Cap"):
			if c, err := strconv.ParseUint(v, 16, 64); err != nil || c != 0 {
				bad = append(bad, n)
			}
		case n == "NoNewPrivs" && v != "1", n == "Seccomp" && v != "2":
			bad = append(bad, n)
		}
	}
	if len(bad) > 0 {
		return escapedf("%s wrong: %s", strings.Join(bad, ","), strings.Join(parts, " "))
	}
	return blockedf("%s", strings.Join(parts, " "))
}

// attackSeccompStatus asks the kernel for the seccomp mode with prctl and
// reads the filter count. Escaped: the mode is not 2 (filter).
func attackSeccompStatus([]string) outcome {
	mode, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	if err != nil {
		return errorf("prctl PR_GET_SECCOMP: %s", errName(err))
	}
	f, _ := statusFields("Seccomp", "Seccomp_filters")
	detail := fmt.Sprintf("seccomp mode %d, %s filters", mode, f["Seccomp_filters"])
	if mode != 2 {
		return escapedf("%s", detail)
	}
	return blockedf("%s", detail)
}

// attackEnv looks for the named variables in its environment. Escaped: any
// is set (only its name and length are printed).
func attackEnv(args []string) outcome {
	var set []string
	for _, n := range args {
		if v, found := os.LookupEnv(n); found {
			set = append(set, fmt.Sprintf("%s (%d bytes)", n, len(v)))
		}
	}
	if len(set) > 0 {
		return escapedf("set: %s", strings.Join(set, ", "))
	}
	return blockedf("none of %s is set", strings.Join(args, ", "))
}

// attackFds lists the open descriptors above 2 that are not close-on-exec.
// Every descriptor this program and the Go runtime open is close-on-exec
// (the runtime keeps a few, such as its cgroup CPU-limit files), and one
// that was close-on-exec would not have survived the execve that started
// this program; so the others can only have been inherited. Escaped: there
// is any, and its target is printed.
func attackFds([]string) outcome {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errorf("open /proc/self/fd: %s", errName(err))
	}
	names, err := readDirNames(dir)
	if err != nil {
		return errorf("list /proc/self/fd: %s", errName(err))
	}
	var inherited []string
	own := 0
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == dir {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC != 0 {
			own++
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + n)
		inherited = append(inherited, n+"->"+target)
	}
	unix.Close(dir)
	if len(inherited) > 0 {
		return escapedf("inherited descriptors: %s", strings.Join(inherited, ", "))
	}
	return blockedf("no descriptor above 2 was inherited (%d of this process's own)", own)
}

// ipcKey parses a SysV IPC key in decimal or 0x hex.
func ipcKey(s string) (int, bool) {
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, false
	}
	return int(int32(uint32(v))), true
}

// ipcVerdict judges a get call on an existing host key: ENOENT means the key
// is not in this IPC namespace.
func ipcVerdict(what string, id int, err error) outcome {
	switch {
	case err == nil:
		return escapedf("%s found the host's object (id %d)", what, id)
	case err == unix.ENOENT || err == unix.EPERM || err == unix.ENOSYS:
		return blockedf("%s: %s", what, errName(err))
	}
	return escapedf("%s: the object is visible (%s)", what, errName(err))
}

// attackSysvShm looks up an existing shared memory segment by KEY without
// creating one. Escaped: shmget found it.
func attackSysvShm(args []string) outcome {
	key, good := ipcKey(args[0])
	if !good {
		return errorf("bad key %q", args[0])
	}
	id, err := unix.SysvShmGet(key, 0, 0)
	return ipcVerdict("shmget "+args[0], id, err)
}

// attackSysvMsg is attackSysvShm for a message queue.
func attackSysvMsg(args []string) outcome {
	key, good := ipcKey(args[0])
	if !good {
		return errorf("bad key %q", args[0])
	}
	r, _, e := unix.Syscall(unix.SYS_MSGGET, uintptr(key), 0, 0)
	return ipcVerdict("msgget "+args[0], int(r), errnoErr(e))
}

// attackSysvSem is attackSysvShm for a semaphore set.
func attackSysvSem(args []string) outcome {
	key, good := ipcKey(args[0])
	if !good {
		return errorf("bad key %q", args[0])
	}
	r, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(key), 0, 0)
	return ipcVerdict("semget "+args[0], int(r), errnoErr(e))
}

// errnoErr turns a raw errno into an error, nil for 0.
func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// attackHostname sets the hostname to NAME. Escaped: sethostname succeeded
// (whether it reached the host is for an outside check to tell).
func attackHostname(args []string) outcome {
	if err := unix.Sethostname([]byte(args[0])); err != nil {
		return blockedf("sethostname: %s", errName(err))
	}
	return escapedf("hostname set to %q", args[0])
}

// attackSetns joins the namespaces at the given paths (a host process's
// /proc/PID/ns/net, say) and this process's own network, UTS, IPC and
// cgroup namespaces, which needs the same privilege. Escaped: any setns
// succeeded.
func attackSetns(args []string) outcome {
	runtime.LockOSThread()
	var a attempts
	paths := append([]string(nil), args...)
	for _, ns := range []string{"net", "uts", "ipc", "cgroup"} {
		paths = append(paths, "/proc/self/ns/"+ns)
	}
	for _, p := range paths {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			a.deny("open "+p, err)
			continue
		}
		err = unix.Setns(fd, 0)
		unix.Close(fd)
		a.check("setns "+p, err)
	}
	return a.outcome()
}

// cloneProbe forks with clone(2) and the given flags; the child exits at
// once. It is nosplit and makes only raw system calls because the child is
// a copy of one thread of a Go process, which must not enter the runtime.
//
//go:nosplit
func cloneProbe(flags uintptr) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, flags|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e == 0 && pid == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return pid, e
}

// cloneArgs mirrors struct clone_args (version 0).
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls uint64
}

// clone3Probe is cloneProbe through clone3(2).
//
//go:nosplit
func clone3Probe(args *cloneArgs) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(args)), unsafe.Sizeof(*args), 0)
	if e == 0 && pid == 0 {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return pid, e
}

// tryClone records whether a child could be created in new namespaces.
func tryClone(a *attempts, step string, flags uintptr) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, e := cloneProbe(flags)
	if e != 0 {
		a.deny(step, e)
		return
	}
	var ws unix.WaitStatus
	unix.Wait4(int(pid), &ws, 0, nil)
	a.got(step, "child %d created", pid)
}

func tryClone3(a *attempts, step string, flags uint64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, e := clone3Probe(&cloneArgs{flags: flags, exitSignal: uint64(unix.SIGCHLD)})
	if e != 0 {
		a.deny(step, e)
		return
	}
	var ws unix.WaitStatus
	unix.Wait4(int(pid), &ws, 0, nil)
	a.got(step, "child %d created", pid)
}

// attackUserns creates a nested user namespace, the door to every
// namespaced privilege (mounts, netfilter, …): with clone, clone3,
// unshare(2) in a child that is single-threaded (the unshare program), and
// through Go's own fork with Cloneflags. Escaped: any of them made one.
func attackUserns([]string) outcome {
	var a attempts
	tryClone(&a, "clone(CLONE_NEWUSER)", unix.CLONE_NEWUSER)
	tryClone3(&a, "clone3(CLONE_NEWUSER)", unix.CLONE_NEWUSER)
	// unshare(CLONE_NEWUSER) is refused with EINVAL to any multi-threaded
	// process, a Go program included, so it is made by the unshare tool.
	if path, err := exec.LookPath("unshare"); err == nil {
		out, err := exec.Command(path, "--user", "true").CombinedOutput()
		if err == nil {
			a.got("unshare --user", "succeeded")
		} else {
			a.note("unshare --user", "%v: %s", err, firstLine(out))
		}
	}
	cmd := exec.Command("/proc/self/exe", "_noop")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if err := cmd.Run(); err != nil {
		a.note("fork with CLONE_NEWUSER", "%v", unwrapExec(err))
	} else {
		a.got("fork with CLONE_NEWUSER", "child ran")
	}
	return a.outcome()
}

// unwrapExec digs the errno out of an exec error for the detail.
func unwrapExec(err error) string {
	if se, isSys := err.(*os.SyscallError); isSys {
		return se.Syscall + ": " + errName(se.Err)
	}
	return err.Error()
}

// attackNamespaces creates each other kind of namespace with clone, which
// needs CAP_SYS_ADMIN in the current user namespace. Escaped: any was made.
func attackNamespaces([]string) outcome {
	var a attempts
	for _, ns := range []struct {
		name string
		flag uintptr
	}{
		{"CLONE_NEWNS", unix.CLONE_NEWNS}, {"CLONE_NEWNET", unix.CLONE_NEWNET},
		{"CLONE_NEWPID", unix.CLONE_NEWPID}, {"CLONE_NEWIPC", unix.CLONE_NEWIPC},
		{"CLONE_NEWUTS", unix.CLONE_NEWUTS}, {"CLONE_NEWCGROUP", unix.CLONE_NEWCGROUP},
	} {
		tryClone(&a, "clone("+ns.name+")", ns.flag)
	}
	return a.outcome()
}

// attackPersonality switches off address-space randomisation for children
// (ADDR_NO_RANDOMIZE) and asks for executable data (READ_IMPLIES_EXEC),
// both aids to exploiting a kernel or setuid bug; the old persona is put
// back. Escaped: either was accepted.
func attackPersonality([]string) outcome {
	const (
		addrNoRandomize = 0x0040000
		readImpliesExec = 0x0400000
		query           = 0xffffffff
	)
	old, _, _ := unix.RawSyscall(unix.SYS_PERSONALITY, query, 0, 0)
	var a attempts
	for _, p := range []struct {
		name string
		v    uintptr
	}{{"ADDR_NO_RANDOMIZE", addrNoRandomize}, {"READ_IMPLIES_EXEC", readImpliesExec}} {
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, old|p.v, 0, 0)
		if e != 0 {
			a.deny(p.name, e)
			continue
		}
		now, _, _ := unix.RawSyscall(unix.SYS_PERSONALITY, query, 0, 0)
		unix.RawSyscall(unix.SYS_PERSONALITY, old, 0, 0)
		if now&p.v != 0 {
			a.got(p.name, "persona %#x accepted", now)
		} else {
			a.note(p.name, "call succeeded but the persona did not change")
		}
	}
	return a.outcome()
}

// attackTIOCSTI pushes a character into the input of the terminal on
// standard input and of /dev/tty, the way a command types into the shell of
// the user who ran it. It first tries to make the terminal its controlling
// one, since the kernel refuses TIOCSTI on any other terminal to a process
// without CAP_SYS_ADMIN. The request is also made with junk in the upper 32
// bits, which the kernel ignores and a careless filter compares. Escaped: a
// character was injected.
func attackTIOCSTI([]string) outcome {
	var a attempts
	ctty := "no controlling terminal"
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err == nil {
		ctty = "stdin made controlling terminal"
	} else if _, serr := unix.Setsid(); serr == nil {
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err == nil {
			ctty = "stdin made controlling terminal after setsid"
		} else {
			ctty = "TIOCSCTTY: " + errName(err)
		}
	} else {
		ctty = "TIOCSCTTY: " + errName(err)
	}
	a.note("terminal", "%s", ctty)
	c := byte('#')
	inject := func(step string, fd int, req uint64) {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&c)))
		if e != 0 {
			a.deny(step, e)
		} else {
			a.got(step, "injected %q", c)
		}
	}
	inject("TIOCSTI on stdin", 0, unix.TIOCSTI)
	inject("TIOCSTI|junk<<32 on stdin", 0, 0xdeadbeef00000000|unix.TIOCSTI)
	if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		a.deny("open /dev/tty", err)
	} else {
		inject("TIOCSTI on /dev/tty", fd, unix.TIOCSTI)
		inject("TIOCSTI|junk<<32 on /dev/tty", fd, 0xdeadbeef00000000|unix.TIOCSTI)
		unix.Close(fd)
	}
	return a.outcome()
}

// attackDaemon leaves a daemon behind: a child in a new session starts a
// grandchild in yet another one and exits, so the grandchild is orphaned
// and detached from every terminal and process group of the run. The
// grandchild ignores hang-ups and terminations and appends a timestamp to
// MARKERFILE every 100ms for SECONDS. The attack returns at once; whether
// the daemon outlives the run is for an outside observer to tell, so it
// says STARTED.
func attackDaemon(args []string) outcome {
	if _, err := strconv.Atoi(args[1]); err != nil {
		return errorf("bad seconds %q", args[1])
	}
	cmd := exec.Command("/proc/self/exe", "_daemon-middle", args[0], args[1])
	cmd.Args[0] = os.Args[0]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.Output()
	if err != nil {
		return errorf("start the daemon: %v", err)
	}
	return outcome{started, "daemon " + strings.TrimSpace(string(out)) + " appends to " + args[0]}
}

// daemonMiddle is the daemon's first fork: it starts the grandchild in a
// session of its own and exits, orphaning it.
func daemonMiddle(args []string) {
	cmd := exec.Command("/proc/self/exe", "_marker-loop", args[0], args[1])
	cmd.Args[0] = os.Args[0]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Printf("not started: %v", err)
		return
	}
	fmt.Printf("pid %d", cmd.Process.Pid)
}

// attackBackground leaves a plain background child behind, in the run's own
// session and process group, as `cmd &` in a script would. It appends to
// MARKERFILE every 100ms for SECONDS (default 30). Says STARTED, like
// daemon.
func attackBackground(args []string) outcome {
	secs := "30"
	if len(args) > 1 {
		secs = args[1]
	}
	if _, err := strconv.Atoi(secs); err != nil {
		return errorf("bad seconds %q", secs)
	}
	cmd := exec.Command("/proc/self/exe", "_marker-loop", args[0], secs)
	cmd.Args[0] = os.Args[0]
	if err := cmd.Start(); err != nil {
		return errorf("start the child: %v", err)
	}
	return outcome{started, fmt.Sprintf("child %d appends to %s", cmd.Process.Pid, args[0])}
}

// markerLoop appends a timestamp line to a file every 100ms.
func markerLoop(args []string) {
	signal.Ignore(unix.SIGHUP, unix.SIGTERM, unix.SIGINT, unix.SIGPIPE)
	secs, _ := strconv.Atoi(args[1])
	end := time.Now().Add(time.Duration(secs) * time.Second)
	for time.Now().Before(end) {
		if f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			fmt.Fprintf(f, "%d\n", time.Now().UnixNano())
			f.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
}
