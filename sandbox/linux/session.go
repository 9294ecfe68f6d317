package linux

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"golang.org/x/sys/unix"
)

// ErrSessionClosed is returned by Run on a session that has ended.
var ErrSessionClosed = sandbox.ErrSessionClosed

// ErrSessionIdle is what Wait returns for a session that closed itself
// after Limits.Idle without a command.
var ErrSessionIdle = sandbox.ErrSessionIdle

// StartSession is Start, for sandbox.SessionBackend.
func (b Backend) StartSession(ctx context.Context, spec *sandbox.Spec) (sandbox.Session, error) {
	s, err := b.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Session is one sandbox kept up for several commands: the namespaces,
// the filesystem view with its private /tmp, Landlock, seccomp and the
// limits are built once, by Start, and each Run forks a fresh command from
// the sandbox's init.
//
// What persists between commands is the filesystem: the workspace, /tmp
// and the other writable paths. Processes do not: when a command ends,
// every process it started, in the background or detached, is killed
// before Run returns, unless the command asked to keep them
// (Command.KeepBackground). The memory and process limits (cgroup) hold for the
// whole session; the wall-clock and output limits for each command; the
// rlimits (CPU time, file size, open files) for each process.
//
// Run may be called from several goroutines but runs one command at a
// time: a second call waits for the first. Close ends the session at any
// time, a running command with it.
type Session struct {
	r *run
	// cg is r.cg, which the end of the session clears under a running
	// command.
	cg    *cgroup
	pid   int
	pidfd int
	ctl   *net.UnixConn
	// replies carries the init's status messages; it is closed when the
	// control socket is.
	replies   chan status
	relay     *os.File
	relayDone chan struct{}

	mu   sync.Mutex // held by Run
	last time.Time  // end of the last command, under mu
	seq  uint64     // number of the last command, under mu
	idle *time.Timer
	// kept is set once a command has kept background processes: from
	// then on, a command's streams are cut off when it ends (a kept
	// process could reopen them through /proc).
	kept bool

	endOnce sync.Once
	ended   chan struct{}
	endErr  error
	closed  atomic.Bool
}

// Start builds the sandbox spec describes and keeps it up for commands
// given to Run. spec.Args is ignored; spec.Env and spec.Dir are the
// defaults of each Command; spec.Stdin, Stdout and Stderr are not used.
// ctx bounds the start only: the session lasts until Close, its idle
// timeout (spec.Limits.Idle), or the death of this process.
func (Backend) Start(ctx context.Context, spec *sandbox.Spec) (*Session, error) {
	r, err := prepare(spec, true)
	if err != nil {
		return nil, err
	}
	s, err := r.startSession(ctx)
	if err != nil {
		r.cleanup()
		return nil, err
	}
	return s, nil
}

// forker is the thread that starts the inits of sessions. The init's
// parent-death signal fires when the thread that forked it ends, not the
// process; Go ends a thread when a goroutine locked to it returns, so a
// session started from such a goroutine would die with it. This thread is
// locked by a goroutine that never returns, so a session's init gets its
// signal only when this process dies.
var forker struct {
	once sync.Once
	reqs chan forkInitRequest
}

type forkInitRequest struct {
	files []uintptr
	done  chan forkInitResult
}

type forkInitResult struct {
	pid, pidfd int
	err        error
}

// forkInit starts an init with files on the forker thread.
func forkInit(files []uintptr) (pid, pidfd int, err error) {
	forker.once.Do(func() {
		forker.reqs = make(chan forkInitRequest)
		go func() {
			runtime.LockOSThread()
			for req := range forker.reqs {
				pidfd := -1
				pid, err := syscall.ForkExec("/proc/self/exe", []string{initArg0}, &syscall.ProcAttr{
					Env:   []string{},
					Files: req.files,
					Sys:   initAttr(&pidfd),
				})
				req.done <- forkInitResult{pid, pidfd, err}
			}
		}()
	})
	done := make(chan forkInitResult)
	forker.reqs <- forkInitRequest{files, done}
	res := <-done
	return res.pid, res.pidfd, res.err
}

func (r *run) startSession(ctx context.Context) (*Session, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	p, closePipes, err := pipes(2)
	if err != nil {
		return nil, err
	}
	defer closePipes()
	planR, planW := p[0][0], p[0][1]
	statusR, statusW := p[1][0], p[1][1]
	ctl, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ctlHost := os.NewFile(uintptr(ctl[0]), "session-control")
	ctlInit := os.NewFile(uintptr(ctl[1]), "session-control-init")
	defer ctlHost.Close()
	defer ctlInit.Close()

	files := []uintptr{null.Fd(), null.Fd(), null.Fd(), planR.Fd(), statusW.Fd()}
	var relay, relayChild *os.File
	if r.plan.Proxy {
		relay, relayChild, err = newRelay()
		if err != nil {
			return nil, err
		}
		defer relayChild.Close()
		files = append(files, relayChild.Fd())
	}
	r.plan.Session = true
	r.plan.Args = nil
	r.plan.Control = len(files)
	files = append(files, ctlInit.Fd())

	pid, pidfd, err := forkInit(files)
	if err != nil {
		if relay != nil {
			relay.Close()
		}
		return nil, startError(err)
	}
	planR.Close()
	statusW.Close()
	ctlInit.Close()
	fail := func(err error) (*Session, error) {
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		reap(pid)
		unix.Close(pidfd)
		if relay != nil {
			relay.Close()
		}
		return nil, err
	}
	if err := r.handOver(pid, planW); err != nil {
		return fail(err)
	}

	// The init reports once it is ready to take commands, or why it
	// cannot.
	type ready struct {
		st  status
		err error
	}
	readyc := make(chan ready, 1)
	go func() {
		line, err := bufio.NewReader(statusR).ReadBytes('\n')
		var st status
		if err == nil {
			err = json.Unmarshal(line, &st)
		}
		readyc <- ready{st, err}
	}()
	var rd ready
	select {
	case rd = <-readyc:
	case <-ctx.Done():
		unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		<-readyc
		return fail(ctx.Err())
	}
	if rd.err != nil {
		return fail(fmt.Errorf("sandbox init ended without a report: %v", rd.err))
	}
	if rd.st.Error != "" {
		return fail(fmt.Errorf("sandbox: %s", rd.st.Error))
	}
	r.enf.Seccomp = rd.st.Seccomp
	r.enf.NoNewPrivs = rd.st.NoNewPrivs
	r.enf.LandlockABI = rd.st.LandlockABI

	conn, err := net.FileConn(ctlHost)
	if err != nil {
		return fail(fmt.Errorf("control socket: %w", err))
	}
	s := &Session{
		r: r, cg: r.cg, pid: pid, pidfd: pidfd, ctl: conn.(*net.UnixConn),
		replies: make(chan status), relay: relay, relayDone: make(chan struct{}),
		ended: make(chan struct{}), last: time.Now(),
	}
	if relay != nil {
		go func() {
			defer close(s.relayDone)
			receiveConns(relay, r.spec.Network.Connect)
		}()
	} else {
		close(s.relayDone)
	}
	go s.readReplies()
	if r.limits.Idle > 0 {
		s.idle = time.AfterFunc(r.limits.Idle, s.idleCheck)
	}
	return s, nil
}

// reap waits for the init to end.
func reap(pid int) {
	for {
		if _, err := unix.Wait4(pid, nil, 0, nil); err != unix.EINTR {
			return
		}
	}
}

// readReplies passes on the init's status messages; the control socket
// closes when the init ends, and then the session ends too.
func (s *Session) readReplies() {
	defer close(s.replies)
	// A status is a few hundred bytes; a longer one is cut short and
	// reported as bad.
	buf := make([]byte, 8<<10)
	for {
		n, _, _, _, err := s.ctl.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			go s.end(errors.New("the sandbox init ended"))
			return
		}
		var st status
		if err := json.Unmarshal(buf[:n], &st); err != nil {
			st = status{Error: "bad status from the sandbox init: " + err.Error()}
		}
		select {
		case s.replies <- st:
		case <-s.ended:
			return
		}
	}
}

// idleCheck closes the session when no command ran for Limits.Idle.
func (s *Session) idleCheck() {
	if !s.mu.TryLock() {
		return // a command is running; Run rearms the timer when it ends
	}
	defer s.mu.Unlock()
	if wait := s.r.limits.Idle - time.Since(s.last); wait > 0 {
		s.idle.Reset(wait)
		return
	}
	s.end(ErrSessionIdle)
}

// Close ends the session: the init and every process in the sandbox are
// killed, and the cgroups and the protected paths' placeholders removed.
// A command running meanwhile ends with an error.
func (s *Session) Close() error {
	s.end(nil)
	return nil
}

// Wait waits for the session to end, and says why it did: nil after
// Close, ErrSessionIdle after the idle timeout, another error when the
// sandbox ended by itself.
func (s *Session) Wait() error {
	<-s.ended
	return s.endErr
}

// Pid is the host PID of the session's init. Every process of the session
// is its descendant.
func (s *Session) Pid() int { return s.pid }

// Enforcement is what the host enforces of the session's sandbox.
func (s *Session) Enforcement() sandbox.Enforcement { return s.r.enf }

// end tears the session down once.
func (s *Session) end(why error) {
	s.endOnce.Do(func() {
		s.closed.Store(true)
		if s.idle != nil {
			s.idle.Stop()
		}
		// The init exits when its end of the control socket reads EOF;
		// the kill makes sure of it.
		s.ctl.Close()
		unix.PidfdSendSignal(s.pidfd, unix.SIGKILL, nil, 0)
		reap(s.pid)
		unix.Close(s.pidfd)
		// The init's end of the relay is closed now that it is gone.
		<-s.relayDone
		if s.relay != nil {
			s.relay.Close()
		}
		// Every process of the session is gone: the kernel killed the
		// PID namespace with its init.
		s.r.cleanup()
		s.endErr = why
		close(s.ended)
	})
}

// Run runs c in the session and waits for it and everything it started to
// end. The error is non-nil only when the command could not be run (the
// session ended, or the command does not exist: ErrNotFound); a command
// that fails is a Result.
func (s *Session) Run(ctx context.Context, c *sandbox.Command) (*sandbox.Result, error) {
	start := time.Now()
	if len(c.Args) == 0 || c.Args[0] == "" {
		return nil, errors.New("no command to run")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, ErrSessionClosed
	}
	defer func() {
		s.last = time.Now()
		if s.idle != nil && !s.closed.Load() {
			s.idle.Reset(s.r.limits.Idle)
		}
	}()
	res, err := s.run(ctx, c)
	if res != nil {
		// Every process of the command is gone by now (the init killed
		// them before it replied), so what it left can be checked.
		res.Warnings = append(res.Warnings, s.r.prot.checkWatched()...)
		res.Duration = time.Since(start)
	}
	return res, err
}

func (s *Session) run(ctx context.Context, c *sandbox.Command) (*sandbox.Result, error) {
	r := s.r
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = r.limits.Timeout
	}
	outLimit := c.OutputBytes
	if outLimit <= 0 {
		outLimit = r.limits.OutputBytes
	}
	env := c.Env
	if env == nil {
		env = r.plan.Env
	} else if r.plan.Proxy {
		env = withProxyEnv(env)
	}
	dir := c.Dir
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(r.ws, dir)
	}

	p, closePipes, err := pipes(2)
	if err != nil {
		return nil, err
	}
	defer closePipes()
	outR, outW := p[0][0], p[0][1]
	errR, errW := p[1][0], p[1][1]
	guarded := s.kept || c.KeepBackground
	if c.KeepBackground {
		s.kept = true
	}
	var stdin uintptr
	var closeStdin, stopStdin func()
	if guarded && c.Stdin != nil {
		// A kept process must not read what the caller sends after this
		// command ended: the input goes through a pipe of this command's
		// own, cut when it ends.
		stdin, closeStdin, stopStdin, err = cutStdin(c.Stdin)
	} else {
		stdin, closeStdin, err = stdinFD(c.Stdin)
		stopStdin = func() {}
	}
	if err != nil {
		return nil, err
	}
	defer closeStdin()
	defer stopStdin()

	var oom0, pids0 int64
	if s.cg != nil {
		oom0, pids0 = s.cg.eventCounts()
	}
	// Free space is measured before the command can write; what earlier
	// commands (or processes they kept) wrote does not count against it.
	disk := newDiskWatch(r.writable, r.limits)
	s.seq++
	seq := s.seq
	req, _ := json.Marshal(controlRequest{Op: opRun, Seq: seq, Args: c.Args, Env: env, Dir: dir, Keep: c.KeepBackground})
	rights := unix.UnixRights(int(stdin), int(outW.Fd()), int(errW.Fd()))
	if _, _, err := s.ctl.WriteMsgUnix(req, rights, nil); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSessionClosed, err)
	}
	// The init holds copies now; ours must go for the output to end.
	outW.Close()
	errW.Close()
	closeStdin()

	var why killReason
	kill := func() {
		b, _ := json.Marshal(controlRequest{Op: opKill, Seq: seq})
		s.ctl.WriteMsgUnix(b, nil, nil)
	}
	var outBytes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(2)
	go copyLimited(&wg, c.Stdout, outR, &outBytes, outLimit, func() { why.set(sandbox.ReasonOutput, kill) })
	go copyLimited(&wg, c.Stderr, errR, &outBytes, outLimit, func() { why.set(sandbox.ReasonOutput, kill) })

	timer := time.AfterFunc(timeout, func() { why.set(sandbox.ReasonTimeout, kill) })
	defer timer.Stop()
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	if s.cg != nil {
		go func() {
			defer close(watchDone)
			watchCommand(s.cg, oom0, pids0, &why, kill, stopWatch)
		}()
	} else {
		close(watchDone)
	}
	if disk != nil {
		go watchDisk(disk, &why, kill, stopWatch)
	}
	var st status
	var ok bool
	select {
	case st, ok = <-s.replies:
	case <-ctx.Done():
		why.set(sandbox.ReasonKilled, kill)
		st, ok = <-s.replies
	}
	close(stopWatch)
	<-watchDone
	if !ok {
		// The init is gone, and with it every process of the session.
		wg.Wait()
		return nil, fmt.Errorf("%w: the sandbox init ended during the command", ErrSessionClosed)
	}
	stopStdin()
	if guarded {
		// The processes kept may hold the pipes open: what the command
		// wrote before it ended is read, the rest is not waited for.
		deadline := time.Now().Add(50 * time.Millisecond)
		outR.SetReadDeadline(deadline)
		errR.SetReadDeadline(deadline)
	}
	// Every process of the command is gone, or kept and cut off: the
	// output ends.
	wg.Wait()

	if st.Error != "" {
		if st.NotFound {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, c.Args[0])
		}
		return nil, fmt.Errorf("sandbox: %s", st.Error)
	}
	res := &sandbox.Result{
		OutputBytes: outBytes.Load(),
		Enforced:    r.enf,
		CPUTime:     time.Duration(st.UserNs + st.SysNs),
		MaxRSS:      st.MaxRSS,
		ExitCode:    st.Code,
		Signal:      st.Signal,
		Warnings:    disk.Warnings(),
	}
	var oom, pids bool
	if s.cg != nil {
		o, p := s.cg.eventCounts()
		oom, pids = o > oom0, p > pids0
	}
	if reason := why.get(); reason != "" {
		// As in a one-shot run, the limit that was hit is the reason,
		// even if the command ended by itself just before the kill.
		res.Reason = reason
		if reason == sandbox.ReasonDisk {
			res.Detail = disk.Detail()
		}
	} else {
		res.Reason = endReason(st, oom, pids, res.CPUTime, r.limits.CPUTime)
	}
	return res, nil
}

// cutStdin passes r to a command through a pipe; stop ends the copying,
// so that nothing read from r after the command ended reaches the pipe.
func cutStdin(r io.Reader) (fd uintptr, closeRead, stop func(), err error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, nil, nil, err
	}
	var once sync.Once
	stop = func() { once.Do(func() { pw.Close() }) }
	go func() {
		io.Copy(pw, r)
		stop()
	}()
	return pr.Fd(), func() { pr.Close() }, stop, nil
}

// copyLimited copies src to dst (nil discards), counting into total; past
// limit it calls over and discards the rest.
func copyLimited(wg *sync.WaitGroup, dst io.Writer, src *os.File, total *atomic.Int64, limit int64, over func()) {
	defer wg.Done()
	if dst == nil {
		dst = io.Discard
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			t := total.Add(int64(n))
			if excess := t - limit; excess > 0 {
				if keep := int64(n) - excess; keep > 0 {
					dst.Write(buf[:keep])
				}
				over()
				io.Copy(io.Discard, src)
				return
			}
			dst.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// watchCommand ends the command when the memory limit killed a process or
// the process limit refused a fork since it started (the counters are the
// session's).
func watchCommand(cg *cgroup, oom0, pids0 int64, why *killReason, kill func(), stop <-chan struct{}) {
	watch(20*time.Millisecond, why, kill, stop, func() sandbox.Reason {
		oom, pids := cg.eventCounts()
		switch {
		case oom > oom0:
			return sandbox.ReasonOOM
		case pids > pids0:
			return sandbox.ReasonPids
		}
		return ""
	})
}
