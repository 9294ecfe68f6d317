package linux

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The init side of a session. The host and the init speak over a unix
// SOCK_SEQPACKET socket pair, one JSON message per packet:
//
//	host → init  {"op":"run", seq, args, env, dir, keep} with the
//	             command's stdin, stdout and stderr attached (SCM_RIGHTS)
//	host → init  {"op":"kill", seq}: end command seq now
//	init → host  a status, once per run request, when the command and
//	             everything it started are gone (or kept)
//
// The socket is the session's lifeline: when the host's end closes (the
// host closed the session or died), the init exits, and the kernel kills
// what is left in the PID namespace.

// controlRequest is a message from the host.
type controlRequest struct {
	Op string `json:"op"` // opRun or opKill
	// Seq numbers the host's commands; a kill names the command it is
	// for, so that one sent late, as its command ended, cannot hit the
	// next.
	Seq  uint64   `json:"seq"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	// Keep leaves the processes the command starts in the background
	// running when it ends (see keptSet).
	Keep bool `json:"keep,omitempty"`
}

const (
	opRun  = "run"
	opKill = "kill"
)

// maxControlMessage bounds a request: arguments and environment.
const maxControlMessage = 4 << 20

// received is a request with the descriptors that came with it.
type received struct {
	req controlRequest
	fds []int
}

// forkRequest asks the restricted thread to start a command.
type forkRequest struct {
	path string
	req  controlRequest
	fds  []int
	done chan forkResult
}

type forkResult struct {
	pid int
	err error
}

// sessionSignals are the signals a command could send the init (PID 1 of
// its namespace): the kernel delivers to a namespace's init only the
// signals it handles, and the Go runtime handles these by exiting or
// dumping its stack, which would end the session. Notified to a channel
// nobody reads, they are dropped. (Handlers, unlike ignored signals, are
// reset at execve, so the commands still get the default dispositions.)
func sessionSignals() []os.Signal {
	sigs := []os.Signal{
		unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT,
		unix.SIGBUS, unix.SIGFPE, unix.SIGUSR1, unix.SIGSEGV, unix.SIGUSR2, unix.SIGPIPE,
		unix.SIGALRM, unix.SIGTERM, unix.SIGSTKFLT, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM,
		unix.SIGPWR, unix.SIGSYS,
	}
	return sigs
}

// ignoreRealtime sets the real-time signals but 33 (the runtime's own, for
// per-thread system calls) to be ignored, with rt_sigaction directly. Sent
// to the init, one of them now and then ended it (killed by that signal),
// though the runtime has a handler for most and os/signal was told to
// take them; ignored, the kernel drops them when they are sent. The
// runtime resets the ones it handles to the default in the commands the
// init forks; 32 and 34, which it does not, stay ignored in them (libc
// installs its own handler for 32).
func ignoreRealtime() {
	type sigaction struct {
		handler  uintptr
		flags    uint64
		restorer uintptr
		mask     uint64
	}
	act := sigaction{handler: 1} // SIG_IGN
	for n := 32; n <= 64; n++ {
		if n != 33 {
			unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(n), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
		}
	}
}

// serveSession restricts the calling thread, reports the sandbox ready and
// then runs the host's commands, one at a time, until the control socket
// closes. It returns only when it could not start; otherwise the init
// exits from here.
//
// The calling goroutine is the init's first, locked to its thread: that
// thread, and only that one, carries no_new_privs, the empty capability
// sets, Landlock and seccomp, so every command is forked from it and
// inherits them. The other goroutines (the control socket, the reaper) run
// on unrestricted threads and deal only with the host's messages and the
// init's own children; nothing a command controls reaches them.
func serveSession(ctl int, rs *ruleset, filter []unix.SockFilter, lateData *unix.Rlimit, sigs chan os.Signal) status {
	signal.Notify(sigs, sessionSignals()...)
	ignoreRealtime()
	st := status{}
	if err := restrictThread(rs, filter, &st); err != nil {
		st.Error = err.Error()
		return st
	}
	if rs != nil {
		rs.close()
	}
	unix.CloseOnExec(ctl)
	out := os.NewFile(fdStatus, "status")
	b, _ := json.Marshal(st)
	if _, err := out.Write(append(b, '\n')); err != nil {
		os.Exit(111)
	}
	out.Close()

	forks := make(chan forkRequest)
	go serveControl(ctl, forks, lateData)
	// The set-up's garbage (the plan with its mount steps, the rulesets,
	// the decoder's buffers; none of it is referenced from here on) is
	// returned to the kernel: an idle session should cost little memory.
	debug.FreeOSMemory()
	for f := range forks {
		pid, err := syscall.ForkExec(f.path, f.req.Args, &syscall.ProcAttr{
			Dir:   f.req.Dir,
			Env:   f.req.Env,
			Files: []uintptr{uintptr(f.fds[0]), uintptr(f.fds[1]), uintptr(f.fds[2])},
			// As in a one-shot run: a new session, no controlling terminal.
			Sys: &syscall.SysProcAttr{Setsid: true},
		})
		f.done <- forkResult{pid, err}
	}
	os.Exit(0)
	return st
}

// serveControl reads the host's requests and runs each command to its
// end. When the socket closes, the init exits.
func serveControl(ctl int, forks chan<- forkRequest, lateData *unix.Rlimit) {
	msgs := make(chan received)
	go readControl(ctl, msgs)
	kept := &keptSet{roots: map[int]bool{}}
	for {
		var m received
		var ok bool
		idle := time.NewTimer(idleTrim)
	wait:
		for {
			select {
			case m, ok = <-msgs:
				break wait
			case <-idle.C:
				// Again now and then: the runtime's own timers touch
				// some pages while the init waits.
				trimResident()
				idle.Reset(30 * time.Second)
			}
		}
		idle.Stop()
		if !ok {
			break
		}
		if m.req.Op != opRun {
			closeAll(m.fds) // a kill that came after its command ended
			continue
		}
		st := runSessionCommand(m, forks, msgs, lateData, kept)
		b, _ := json.Marshal(st)
		if err := unix.Sendmsg(ctl, b, nil, nil, 0); err != nil {
			os.Exit(0) // the host is gone
		}
	}
	// The socket closed: the host closed the session or died. Exiting
	// kills every process of the namespace.
	os.Exit(0)
}

// idleTrim is how long an idle session's init waits before it gives back
// the memory it can.
const idleTrim = 2 * time.Second

// TrimResident is what an idle session init does, for any long-lived
// process of this binary that waits idle (a session's owner): see
// trimResident.
func TrimResident() { trimResident() }

// trimResident gives back what an idle init holds but does not need
// until its next command: the heap's free pages, and its resident pages
// of the executable's read-only mappings (code and read-only data), which
// stay in the page cache, shared, and fault back in at the next command.
// Writable mappings are left alone: their pages are the process's own.
func trimResident() {
	debug.FreeOSMemory()
	var st unix.Stat_t
	if unix.Stat("/proc/self/exe", &st) != nil {
		return
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return
	}
	// Each mapping is a header line (start-end perms offset dev inode
	// path) and then its counters. Only a read-only mapping of the
	// executable with no private (Anonymous) pages is dropped: in a
	// position-independent build the loader wrote relocations into some
	// read-only pages, which dropping would put back to the file's.
	ino := strconv.FormatUint(st.Ino, 10)
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	var start, end uint64
	candidate := false
	flush := func(anon bool) {
		if candidate && !anon && end > start {
			unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_DONTNEED)
		}
		candidate = false
	}
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.Contains(f[0], "-") && len(f[1]) == 4 {
			candidate = false
			lo, hi, _ := strings.Cut(f[0], "-")
			s, err1 := strconv.ParseUint(lo, 16, 64)
			e, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil && !strings.Contains(f[1], "w") && f[3] == dev && f[4] == ino {
				start, end, candidate = s, e, true
			}
			continue
		}
		if len(f) >= 2 && f[0] == "Anonymous:" && candidate {
			flush(f[1] != "0")
		}
	}
}

// readControl passes on each message from the host, until the socket
// closes.
func readControl(ctl int, msgs chan<- received) {
	defer close(msgs)
	oob := make([]byte, unix.CmsgSpace(3*4))
	for {
		// Peek at the size first: the packet is read whole or not at all.
		n, _, _, _, err := unix.Recvmsg(ctl, nil, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 || n > maxControlMessage {
			return
		}
		buf := make([]byte, n)
		n, oobn, _, _, err := unix.Recvmsg(ctl, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		var m received
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, c := range cmsgs {
				fds, err := unix.ParseUnixRights(&c)
				if err == nil {
					m.fds = append(m.fds, fds...)
				}
			}
		}
		if err := json.Unmarshal(buf[:n], &m.req); err != nil {
			closeAll(m.fds)
			return
		}
		msgs <- m
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// runSessionCommand starts one command, waits for it, and then kills and
// reaps every other process in the namespace but the kept ones, so that
// nothing the command started survives into the next one; or, for a
// command that keeps its background processes, adds them to the kept ones.
// A kill request from the host ends the command early.
func runSessionCommand(m received, forks chan<- forkRequest, msgs <-chan received, lateData *unix.Rlimit, kept *keptSet) status {
	defer closeAll(m.fds)
	if len(m.fds) != 3 || len(m.req.Args) == 0 {
		return status{Error: "bad run request"}
	}
	if m.req.Dir != "" {
		if fi, err := os.Stat(m.req.Dir); err != nil || !fi.IsDir() {
			return status{Error: fmt.Sprintf("working directory %s: not a directory in the sandbox", m.req.Dir)}
		}
	}
	path, err := lookPath(m.req.Args[0], m.req.Env)
	if err != nil {
		return status{Error: err.Error(), NotFound: true}
	}
	var before unix.Rusage
	unix.Getrusage(unix.RUSAGE_CHILDREN, &before)
	done := make(chan forkResult)
	forks <- forkRequest{path: path, req: m.req, fds: m.fds, done: done}
	started := <-done
	// The command holds its own copies now: the host sees the end of its
	// output when the last process of the command closes them.
	closeAll(m.fds)
	m.fds = nil
	if started.err != nil {
		return status{Error: fmt.Sprintf("start %s: %v", m.req.Args[0], started.err), NotFound: errors.Is(started.err, unix.ENOENT)}
	}
	pid := started.pid
	if lateData != nil {
		// As in a one-shot run (see runInit): the data limit too small for
		// the init is set on the command once it has exec'd.
		if err := unix.Prlimit(pid, unix.RLIMIT_DATA, lateData, nil); err != nil {
			killAll(kept)
			return status{Error: fmt.Sprintf("data limit: %v", err)}
		}
	}
	exited := make(chan status, 1)
	go func() { exited <- reapUntil(pid, kept) }()
	var st status
wait:
	for {
		select {
		case st = <-exited:
			break wait
		case k, ok := <-msgs:
			if !ok {
				os.Exit(0) // the host is gone
			}
			closeAll(k.fds)
			if k.req.Op == opKill && k.req.Seq == m.req.Seq {
				killOthers(kept)
			}
		}
	}
	if m.req.Keep {
		kept.adopt()
	} else {
		killAll(kept)
	}
	var after unix.Rusage
	unix.Getrusage(unix.RUSAGE_CHILDREN, &after)
	// RUSAGE_CHILDREN adds up every child the init ever reaped: this
	// command's share is the difference.
	st.UserNs = after.Utime.Nano() - before.Utime.Nano()
	st.SysNs = after.Stime.Nano() - before.Stime.Nano()
	return st
}

// reapUntil reaps the init's children until pid ends, and reports how it
// ended. kept is nil in a one-shot run.
func reapUntil(pid int, kept *keptSet) status {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		wpid, err := unix.Wait4(-1, &ws, 0, &ru)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return status{Error: "wait: " + err.Error()}
		}
		kept.reaped(wpid)
		if wpid != pid {
			continue
		}
		st := status{Exited: ws.Exited(), MaxRSS: ru.Maxrss * 1024}
		if ws.Exited() {
			st.Code = ws.ExitStatus()
		} else if ws.Signaled() {
			st.Signal = int(ws.Signal())
			st.Code = 128 + st.Signal
		}
		return st
	}
}

// killAll kills every process in the namespace but the init and the kept
// ones, and reaps them all.
func killAll(kept *keptSet) {
	if kept.empty() {
		// Orphans are reparented to the init, so once wait reports no
		// children none is left; the kill is repeated before each wait so
		// that a process forked while the previous kill went round is
		// caught too.
		for {
			unix.Kill(-1, unix.SIGKILL)
			wpid, err := unix.Wait4(-1, nil, 0, nil)
			if err == unix.ECHILD {
				return
			}
			kept.reaped(wpid)
		}
	}
	// Some processes stay: wait cannot say when the others are gone, so
	// /proc does. A victim dies at once but may take a moment to be
	// reparented and reaped; one forked while the scan went round is found
	// by the next.
	for killOthers(kept) > 0 {
		for {
			wpid, err := unix.Wait4(-1, nil, unix.WNOHANG, nil)
			if err != nil || wpid <= 0 {
				break
			}
			kept.reaped(wpid)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// killOthers sends SIGKILL to every process in the namespace but the init
// and the kept ones, and says how many there were (any, when none is
// kept).
func killOthers(kept *keptSet) int {
	if kept.empty() {
		// kill(-1) from a namespace's init signals every process in the
		// namespace but the init itself.
		if unix.Kill(-1, unix.SIGKILL) == unix.ESRCH {
			return 0
		}
		return 1
	}
	parents := processParents()
	n := 0
	for pid := range parents {
		if pid != 1 && !kept.holds(pid, parents) {
			unix.Kill(pid, unix.SIGKILL)
			n++
		}
	}
	return n
}

// keptSet is what commands run with Keep left running. Its roots are the
// init's children when such a command ended; everything descending from
// a root is kept too, found through the parents in /proc when it matters.
//
// A root's PID cannot name another process as long as the root is in the
// set: the init alone reaps its children, and removes each from the set
// as it does, before the PID is free. A process of a later command can
// descend from a root only if a kept process started it.
type keptSet struct {
	mu    sync.Mutex
	roots map[int]bool
}

func (k *keptSet) empty() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.roots) == 0
}

func (k *keptSet) reaped(pid int) {
	if k == nil {
		return // a one-shot run keeps nothing
	}
	k.mu.Lock()
	delete(k.roots, pid)
	k.mu.Unlock()
}

// adopt keeps every process now in the namespace: the init's children
// become roots.
func (k *keptSet) adopt() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for pid, ppid := range processParents() {
		if ppid == 1 && pid != 1 {
			k.roots[pid] = true
		}
	}
}

// holds reports whether pid descends from a root.
func (k *keptSet) holds(pid int, parents map[int]int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := 0; i < len(parents)+1 && pid > 1; i++ {
		if k.roots[pid] {
			return true
		}
		pid = parents[pid]
	}
	return false
}

// processParents maps each process in the namespace to its parent. A
// process that exits while it is read is left out, or has parent 0.
func processParents() map[int]int {
	out := map[int]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = ppid
	}
	return out
}
