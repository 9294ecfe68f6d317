package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/sandbox/linux"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// A session from the command line is kept by an owner process (cordon
// session serve, started detached by start) that holds the sandbox and
// listens on a unix socket of the user's own. session exec connects,
// hands over its stdin, stdout and stderr as descriptors, and the owner
// runs the command through the pipeline with them: the verified output
// goes straight to the caller's streams.

// sessionMsg is one request to an owner: run a command, stop, or say
// what it is.
type sessionMsg struct {
	Op   string   `json:"op"` // "run", "stop", "info"
	Argv []string `json:"argv,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	Keep bool     `json:"keep,omitempty"` // keep background processes
}

// sessionReply is the owner's answer.
type sessionReply struct {
	Code      int       `json:"code"`
	Error     string    `json:"error,omitempty"`
	ID        string    `json:"id,omitempty"`
	Workspace string    `json:"workspace,omitempty"`
	Agent     string    `json:"agent,omitempty"`
	Pid       int       `json:"pid,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Commands  int       `json:"commands,omitempty"`
}

func newSession() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Keep a sandbox alive for many commands",
		Long: `A session is one sandbox (filesystem view, limits, network) kept alive
for many commands. Each command still goes through the policy, the output
checks and the audit log, and runs as a fresh process: files in the
workspace and /tmp persist between commands, processes do not. A command
in a warm session starts in a few milliseconds instead of building a
sandbox.

The session is kept by a cordon process of its own, reached through a
unix socket only you can open. It ends with cordon session stop, after
--idle without a command, or when the machine's user session ends.`,
		Example: `  id=$(cordon session start -w .)
  cordon session exec $id -- make test
  cordon session exec $id -- sh -c 'git status && go vet ./...'
  cordon session list
  cordon session stop $id`,
	}
	cmd.AddCommand(newSessionStart(), newSessionExec(), newSessionStop(), newSessionList(), newSessionServe())
	return cmd
}

type sessionFlags struct {
	execFlags
	idle time.Duration
	id   string
}

func (f *sessionFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.workspace, "workspace", "w", ".", "the directory commands may write")
	fl.StringVar(&f.policyFile, "policy", "", "read this project policy instead of the workspace's .cordon.yaml")
	fl.StringVar(&f.auditLog, "audit-log", "", "append records to this log (default: $XDG_STATE_HOME/cordon/audit.jsonl)")
	fl.StringVar(&f.auditKey, "audit-key", "", "sign the log's head with this ed25519 private key")
	fl.BoolVar(&f.noAudit, "no-audit", false, "record nothing")
	fl.StringVar(&f.agent, "agent", os.Getenv("CORDON_AGENT"), "the agent's name, for the audit record")
	fl.StringVar(&f.approve, "approve", "deny", "who answers when the policy asks: deny (the person at the terminal of cordon session exec, if any, else no), allow, or webhook=URL")
	fl.StringSliceVar(&f.allowHosts, "allow-host", nil, "let the session reach this host through the egress proxy (repeatable)")
	fl.DurationVar(&f.idle, "idle", 15*time.Minute, "end the session after this long without a command")
}

func newSessionStart() *cobra.Command {
	f := &sessionFlags{}
	cmd := &cobra.Command{
		Use:   "start [flags]",
		Short: "Start a session and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := filepath.Abs(f.workspace)
			if err != nil {
				return usageErr("--workspace: %v", err)
			}
			if st, err := os.Stat(ws); err != nil || !st.IsDir() {
				return usageErr("--workspace %s: not a directory", f.workspace)
			}
			if f.idle <= 0 {
				return usageErr("--idle must be positive")
			}
			if _, err := parseApprove(f.approve); err != nil {
				return usageErr("%v", err)
			}
			id := newSessionID()
			self, err := os.Executable()
			if err != nil {
				return &exitError{code: ExitCordon, err: err}
			}
			args := []string{"session", "serve", "--id", id, "--workspace", ws, "--idle", f.idle.String(), "--approve", f.approve}
			if f.policyFile != "" {
				args = append(args, "--policy", f.policyFile)
			}
			if f.auditLog != "" {
				args = append(args, "--audit-log", f.auditLog)
			}
			if f.auditKey != "" {
				args = append(args, "--audit-key", f.auditKey)
			}
			if f.noAudit {
				args = append(args, "--no-audit")
			}
			if f.agent != "" {
				args = append(args, "--agent", f.agent)
			}
			for _, h := range f.allowHosts {
				args = append(args, "--allow-host", h)
			}
			// The owner reports on a pipe whether the sandbox is up, then
			// lives on, detached, in a session of its own.
			r, w, err := os.Pipe()
			if err != nil {
				return &exitError{code: ExitCordon, err: err}
			}
			defer r.Close()
			owner := exec.Command(self, args...)
			owner.ExtraFiles = []*os.File{w}
			owner.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := owner.Start(); err != nil {
				w.Close()
				return &exitError{code: ExitCordon, err: fmt.Errorf("start the session's owner: %w", err)}
			}
			w.Close()
			line, _ := bufio.NewReader(r).ReadString('\n')
			owner.Process.Release()
			line = strings.TrimSpace(line)
			if line != "ok" {
				if line == "" {
					line = "the session's owner ended before the sandbox was up"
				}
				return &exitError{code: ExitCordon, err: errors.New(line)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	f.bind(cmd)
	return cmd
}

// newSessionServe is the owner of a session; start runs it.
func newSessionServe() *cobra.Command {
	f := &sessionFlags{}
	cmd := &cobra.Command{
		Use:    "serve --id ID [flags]",
		Short:  "Keep a session (run by cordon session start)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(cmd *cobra.Command, _ []string) error { return serveSession(cmd, f) },
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&f.id, "id", "", "the session's id")
	return cmd
}

func serveSession(cmd *cobra.Command, f *sessionFlags) (err error) {
	ready := os.NewFile(3, "ready")
	report := func(msg string) {
		if ready != nil {
			fmt.Fprintln(ready, msg)
			ready.Close()
			ready = nil
		}
	}
	defer func() {
		if err != nil {
			report(err.Error())
		}
	}()
	if !validSessionID(f.id) {
		return usageErr("--id %q: not a session id", f.id)
	}
	mode, err := parseApprove(f.approve)
	if err != nil {
		return usageErr("%v", err)
	}
	ws, err := filepath.Abs(f.workspace)
	if err != nil {
		return usageErr("--workspace: %v", err)
	}
	g, closeGuard, err := f.newGuard(ws, nil, audit.SyncBehind)
	if err != nil {
		return err
	}
	defer closeGuard()
	g.Approve = func(ctx context.Context, req *approval.Request) *audit.Approval {
		// No terminal: the fixed answer or the webhook.
		return approve(ctx, mode, strings.NewReader(""), io.Discard, req)
	}
	dir, err := sessionDir()
	if err != nil {
		return &exitError{code: ExitCordon, err: err}
	}
	sock := filepath.Join(dir, f.id+".sock")
	ln, err := listenUnix(sock)
	if err != nil {
		return &exitError{code: ExitCordon, err: fmt.Errorf("session socket: %w", err)}
	}
	defer os.Remove(sock)
	defer ln.Close()
	sess, err := g.StartSession(cmd.Context(), &guard.SessionRequest{
		Workspace: ws, Agent: f.agent, AllowHosts: f.allowHosts, Idle: f.idle,
	})
	if err != nil {
		return &exitError{code: ExitCordon, err: err}
	}
	defer sess.Close()
	info := sessionReply{ID: f.id, Workspace: ws, Agent: f.agent, Pid: os.Getpid(), Started: time.Now().UTC()}
	report("ok")

	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	go func() {
		// The sandbox ends by itself when idle, or dies: so does the owner.
		sess.Wait()
		stop()
	}()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var mu sync.Mutex // info.Commands
	// Idle, the owner gives back memory as the sandbox's init does.
	var trim *time.Timer
	trim = time.AfterFunc(2*time.Second, func() {
		linux.TrimResident()
		trim.Reset(30 * time.Second)
	})
	defer trim.Stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			uc := c.(*net.UnixConn)
			if !sameUser(uc) {
				return
			}
			msg, fds, err := readSessionMsg(uc)
			for _, fd := range fds {
				defer unix.Close(fd)
			}
			reply := func(r sessionReply) { json.NewEncoder(c).Encode(r) }
			if err != nil {
				reply(sessionReply{Code: ExitUsage, Error: err.Error()})
				return
			}
			switch msg.Op {
			case "info":
				mu.Lock()
				r := info
				mu.Unlock()
				reply(r)
			case "stop":
				reply(sessionReply{})
				stop()
			case "run":
				if len(fds) != 3 && len(fds) != 4 {
					reply(sessionReply{Code: ExitUsage, Error: "run: expected stdin, stdout and stderr, and the terminal if any"})
					return
				}
				mu.Lock()
				info.Commands++
				mu.Unlock()
				trim.Reset(2 * time.Second)
				reply(runInSession(ctx, sess, f, mode, msg, fds))
			default:
				reply(sessionReply{Code: ExitUsage, Error: fmt.Sprintf("unknown request %q", msg.Op)})
			}
		}()
	}
}

// runInSession runs one command of a client with its descriptors: stdin,
// stdout, stderr, and the client's terminal when it has one. With
// --approve=deny (the default) a question of the policy is asked there,
// as cordon exec asks at its own terminal; without one the answer is no.
func runInSession(ctx context.Context, sess *guard.Session, f *sessionFlags, mode approveMode, msg sessionMsg, fds []int) sessionReply {
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		nfd, err := unix.Dup(fd)
		if err != nil {
			return sessionReply{Code: ExitCordon, Error: err.Error()}
		}
		files[i] = os.NewFile(uintptr(nfd), fmt.Sprintf("client-%d", i))
		defer files[i].Close()
	}
	gate := &termGate{}
	stderr := &lockedWriter{w: gate.writer(files[2])}
	req := &guard.Request{
		Argv: msg.Argv, Dir: msg.Dir, Agent: f.agent, Session: f.id, KeepBackground: msg.Keep,
		Stdin: files[0], Stdout: gate.writer(files[1]), Stderr: stderr,
		Output: guard.OutputOptions{Terminal: isTerminal(files[1]), Idle: 50 * time.Millisecond},
	}
	if len(files) == 4 && mode.kind == "deny" && isTerminal(files[3]) {
		// Questions about the command, and about where it connects,
		// go to the client's terminal, with its output held meanwhile.
		tty := files[3]
		req.Approve = func(ctx context.Context, r *approval.Request) *audit.Approval {
			return gate.hold(func() *audit.Approval { return approveOn(ctx, mode, nil, tty, files[2], r) })
		}
	}
	resp, err := sess.Run(ctx, req)
	if err != nil {
		return sessionReply{Code: exitCode(err), Error: err.Error()}
	}
	reportRun(stderr, resp)
	return sessionReply{Code: resp.Result.ExitCode}
}

func newSessionExec() *cobra.Command {
	var dir string
	var keep bool
	cmd := &cobra.Command{
		Use:   "exec ID [flags] -- COMMAND [ARG...]",
		Short: "Run a command in a session",
		Long: `Run a command in a session, through the policy, the output checks and the
audit log, with this process's stdin, stdout and stderr. Exits with the
command's status, or cordon's codes as cordon exec does.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sessionRun(sessionMsg{Op: "run", Argv: args[1:], Dir: dir, Keep: keep}, args[0])
		},
	}
	cmd.Flags().StringVarP(&dir, "cwd", "C", "", "working directory, relative to the workspace")
	cmd.Flags().BoolVar(&keep, "keep-background", false, "leave what the command starts in the background running (where the policy's session.keep_background allows it)")
	return cmd
}

// sessionRun runs msg's command in session id with this process's standard
// streams, and turns the answer into this process's exit status.
func sessionRun(msg sessionMsg, id string) error {
	r, err := sessionCall(id, msg, true)
	if err != nil {
		return err
	}
	if r.Error != "" {
		return &exitError{code: r.Code, err: errors.New(r.Error)}
	}
	if r.Code != 0 {
		return &exitError{code: r.Code}
	}
	return nil
}

func newSessionStop() *cobra.Command {
	return &cobra.Command{
		Use:   "stop ID",
		Short: "End a session: every process in it is killed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := sessionCall(args[0], sessionMsg{Op: "stop"}, false)
			return err
		},
	}
}

func newSessionList() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the sessions that are up",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := sessionDir()
			if err != nil {
				return &exitError{code: ExitCordon, err: err}
			}
			socks, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
			sort.Strings(socks)
			var list []sessionReply
			for _, s := range socks {
				id := strings.TrimSuffix(filepath.Base(s), ".sock")
				r, err := sessionCall(id, sessionMsg{Op: "info"}, false)
				if err != nil {
					continue // an owner that is gone; its socket is stale
				}
				list = append(list, *r)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				return json.NewEncoder(out).Encode(list)
			}
			for _, r := range list {
				fmt.Fprintf(out, "%s  pid %-7d %4d commands  since %s  %s\n", r.ID, r.Pid, r.Commands, r.Started.Local().Format(time.DateTime), r.Workspace)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the list as JSON")
	return cmd
}

// sessionCall sends msg to session id, with this process's standard
// streams when withStreams, and returns the reply.
func sessionCall(id string, msg sessionMsg, withStreams bool) (*sessionReply, error) {
	if !validSessionID(id) {
		return nil, usageErr("%q is not a session id (cordon session list shows them)", id)
	}
	dir, err := sessionDir()
	if err != nil {
		return nil, &exitError{code: ExitCordon, err: err}
	}
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Net: "unix", Name: filepath.Join(dir, id+".sock")})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &exitError{code: ExitCordon, err: fmt.Errorf("session %s is not running", id)}
		}
		return nil, &exitError{code: ExitCordon, err: fmt.Errorf("session %s: %w", id, err)}
	}
	defer c.Close()
	b, _ := json.Marshal(msg)
	var oob []byte
	if withStreams {
		// The terminal, if this process has one, is where the owner asks
		// when the policy asks about the command.
		fds := []int{0, 1, 2}
		if tty, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
			defer tty.Close()
			fds = append(fds, int(tty.Fd()))
		}
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix(append(b, '\n'), oob, nil); err != nil {
		return nil, &exitError{code: ExitCordon, err: fmt.Errorf("session %s: %w", id, err)}
	}
	var r sessionReply
	if err := json.NewDecoder(c).Decode(&r); err != nil {
		return nil, &exitError{code: ExitCordon, err: fmt.Errorf("session %s ended without an answer: %w", id, err)}
	}
	return &r, nil
}

// readSessionMsg reads one request line and the descriptors sent with it.
func readSessionMsg(c *net.UnixConn) (sessionMsg, []int, error) {
	var msg sessionMsg
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return msg, nil, err
	}
	var fds []int
	if oobn > 0 {
		cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return msg, nil, err
		}
		for _, m := range cmsgs {
			got, err := unix.ParseUnixRights(&m)
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if err := json.Unmarshal(buf[:n], &msg); err != nil {
		return msg, fds, fmt.Errorf("request: %w", err)
	}
	return msg, fds, nil
}

// sameUser reports whether the peer of c runs as this user: the socket's
// mode already keeps others out; this is the second lock.
func sameUser(c *net.UnixConn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	raw.Control(func(fd uintptr) {
		cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		ok = err == nil && int(cred.Uid) == os.Getuid()
	})
	return ok
}

// sessionDir is the user's own directory for session sockets: in the
// runtime directory, else in /tmp, made 0700 and checked to be the user's.
func sessionDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if st, err := os.Stat(base); base == "" || err != nil || !st.IsDir() {
		base = filepath.Join(os.TempDir(), fmt.Sprintf("cordon-%d", os.Getuid()))
		if err := os.Mkdir(base, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	dir := filepath.Join(base, "cordon-sessions")
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	for _, d := range []string{base, dir} {
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil {
			return "", err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || (d == dir && st.Mode&0o077 != 0) {
			return "", fmt.Errorf("%s is not a directory of this user's alone", d)
		}
	}
	return dir, nil
}

func newSessionID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func validSessionID(id string) bool {
	if len(id) != 12 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}
