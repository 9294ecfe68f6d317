package guard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/verify"
)

// Session is one sandbox kept alive for many commands: its filesystem
// view, limits and network are built once, and each command runs as a
// fresh process in it, through the same pipeline as Run (judged, verified,
// recorded). Files in the workspace and /tmp persist between commands;
// processes do not. Commands of one session run one at a time.
type Session struct {
	g    *Guard
	ws   string
	sb   sandbox.Session
	spec *sandbox.Spec
	egr  *egressRun

	mu sync.Mutex
	// cur is the command running, for the questions its connections
	// raise: they are read by the proxy's goroutines.
	cur    atomic.Pointer[sessionCmd]
	closed bool
	// kept says a command left processes running (KeepBackground): a
	// connection may then come from any of them, so no command's own
	// approver answers for it; the Guard's does.
	kept atomic.Bool
	// between is the workspace as the last command left it, kept while
	// processes run on between commands (see kept).
	between *verify.Snap
}

// SessionRequest is what a session is built from: a request's workspace,
// network and sandbox settings, without a command.
type SessionRequest struct {
	Workspace  string
	Agent      string
	Network    sandbox.NetworkMode
	AllowHosts []string
	Customize  func(*sandbox.Spec) error
	// Idle ends the session after this long without a command; zero
	// takes the sandbox's default, negative never ends it.
	Idle time.Duration
}

// ErrNoSessions is returned by StartSession when the backend cannot keep
// a sandbox alive.
var ErrNoSessions = errors.New("this backend has no sessions")

// StartSession builds a sandbox for req's workspace and keeps it alive.
// ctx bounds the start only. Close the session when done; it also ends
// after the policy's idle time, and when this process ends.
func (g *Guard) StartSession(ctx context.Context, req *SessionRequest) (*Session, error) {
	sb, ok := g.Backend.(sandbox.SessionBackend)
	if !ok {
		return nil, ErrNoSessions
	}
	ws, err := checkWorkspace(req.Workspace)
	if err != nil {
		return nil, err
	}
	s := &Session{g: g, ws: ws}
	rreq := &Request{Workspace: ws, Agent: req.Agent, Network: req.Network, AllowHosts: req.AllowHosts, Customize: req.Customize}
	var resp Response
	if s.spec, err = g.spec(rreq, ws, nil, &resp); err != nil {
		return nil, err
	}
	if req.Idle != 0 {
		s.spec.Limits.Idle = req.Idle
	}
	current := func() (string, Approver) {
		c := s.cur.Load()
		switch {
		case c == nil:
			return "", nil
		case s.kept.Load():
			return c.text, nil
		}
		return c.text, c.approve
	}
	if s.egr, err = g.network(context.Background(), rreq, s.spec, current, ws); err != nil {
		return nil, err
	}
	if s.sb, err = sb.StartSession(ctx, s.spec); err != nil {
		if s.egr != nil {
			s.egr.stop()
		}
		return nil, fmt.Errorf("start session: %w", err)
	}
	return s, nil
}

// sessionCmd is the command a session runs, as its network questions
// need it: its text, and who answers for it.
type sessionCmd struct {
	text    string
	approve Approver
}

// Workspace is the session's workspace.
func (s *Session) Workspace() string { return s.ws }

// Run takes one request through the pipeline as Guard.Run does, and runs
// it in the session. req.Workspace may be empty (the session's) or must
// be the session's.
func (s *Session) Run(ctx context.Context, req *Request) (*Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, sandbox.ErrSessionClosed
	}
	r := *req
	if r.Workspace == "" {
		r.Workspace = s.ws
	}
	return s.g.run(ctx, &r, s)
}

// Close ends the session: every process in it is killed and what it set
// up on the host is removed.
func (s *Session) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.sb.Close()
	if s.egr != nil {
		s.egr.stop()
	}
	return err
}

// Wait waits for the session to end, and says why it ended.
func (s *Session) Wait() error { return s.sb.Wait() }
