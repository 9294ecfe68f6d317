// Package guard is cordon's pipeline: the one API every front door (the
// CLI, the sh -c drop-in, the MCP server, agent hooks) calls to run a
// command. A request is judged by the policy, put to a person when the
// policy asks, run in the sandbox, its output verified on the way out and
// its changes to the workspace listed, and all of it recorded in the audit
// log. No front door has policy logic of its own.
package guard

import (
	"cmp"
	"context"
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
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/verify"
)

// Guard holds what stays the same across the requests of a front door.
// It is safe for concurrent use.
type Guard struct {
	Policy  *policy.Policy
	Backend sandbox.Backend
	// Audit is the log every request is recorded in; nil records nothing.
	Audit *audit.Log
	// Approve answers the questions the policy asks, about commands and
	// about network destinations. Nil refuses them all.
	Approve Approver
	// Warn receives cordon's own messages about a run as they happen:
	// warnings and refused connections. Nil discards them.
	Warn io.Writer
	// Home is the caller's home directory, for the policy's ~ paths.
	Home string
	// Env is the caller's environment, from which the sandbox's allowlist
	// is taken; nil takes os.Environ().
	Env []string
}

// Request is one command to run.
type Request struct {
	// Text is shell text, run as sh -c Text; or Argv, run as it is.
	// Exactly one is set.
	Text string
	Argv []string
	// Workspace is the directory the command may write; Dir the working
	// directory in it (relative to the workspace, or absolute).
	Workspace string
	Dir       string
	// Agent and Session name the caller in the audit record.
	Agent, Session string

	Stdin io.Reader
	// Stdout and Stderr receive the verified output as it streams; nil
	// keeps it in the Response instead, up to the output limit.
	Stdout, Stderr io.Writer
	// Output says how output is checked.
	Output OutputOptions

	// Network: proxy mode with Allow added to the policy's allow list,
	// none, or "" for what the policy says.
	Network      sandbox.NetworkMode
	AllowHosts   []string
	NetworkAsked bool
	// Customize adjusts the sandbox the policy built, before it runs:
	// the front door's own options (command-line flags). In a session the
	// sandbox is the session's, and Customize is not used.
	Customize func(*sandbox.Spec) error
	// Timeout, when positive, shortens the run's time limit; a caller
	// may ask for less time than the policy gives, never for more.
	Timeout time.Duration
	// KeepBackground, in a session and where the policy's
	// session.keep_background allows it, leaves what the command starts
	// in the background running into the next commands.
	KeepBackground bool
	// Approve, when set, answers this request's questions (about the
	// command, and about the destinations it connects to) instead of the
	// Guard's Approve: a session's owner asks at the terminal of the
	// client that sent the command.
	Approve Approver
}

// Approver answers a question of the policy; the answer goes into the
// audit record.
type Approver func(ctx context.Context, req *approval.Request) *audit.Approval

// OutputOptions say how output is verified.
type OutputOptions struct {
	// Limit bounds each stream's verified output; past it the middle is
	// cut. Zero takes the policy's output.limit.
	Limit int64
	// Terminal keeps colour codes, for output printed on a terminal.
	Terminal bool
	// Idle passes complete lines on after this long without output, so a
	// person watching sees progress; zero waits for the checks' window.
	Idle time.Duration
}

// Response is what came of a request. Fields are nil where the pipeline
// did not get that far.
type Response struct {
	Command  string           `json:"command"`
	Decision *policy.Decision `json:"decision,omitempty"`
	Approval *audit.Approval  `json:"approval,omitempty"`
	Result   *sandbox.Result  `json:"result,omitempty"`
	// Limits are the limits the command ran under.
	Limits sandbox.Limits `json:"limits"`
	// Stdout and Stderr are the verified output when the request gave no
	// writers.
	Stdout   []byte           `json:"-"`
	Stderr   []byte           `json:"-"`
	Findings []verify.Finding `json:"findings,omitempty"`
	// Changes lists what the command changed in the workspace; its
	// findings are in Findings too.
	Changes  *verify.ChangeReport `json:"changes,omitempty"`
	Network  []egress.Event       `json:"network,omitempty"`
	Warnings []string             `json:"warnings,omitempty"`
}

// DeniedError is returned when the policy denied the command, or asked
// and was not given approval.
type DeniedError struct {
	Decision *policy.Decision
	Approval *audit.Approval
}

func (e *DeniedError) Error() string {
	d := e.Decision
	if d.Verdict == policy.Ask {
		why := "no one was asked"
		if e.Approval != nil {
			why = e.Approval.Reason
		}
		return fmt.Sprintf("not run: it needs approval (rule %s: %s), and %s", d.Rule, d.Reason, why)
	}
	return fmt.Sprintf("denied by policy rule %s: %s", d.Rule, d.Reason)
}

// UsageError is a request that makes no sense, told before anything runs.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// AuditError is a failure to record: the run did not happen, or happened
// and its record is lost. Either way it is cordon's failure.
type AuditError struct{ Err error }

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit log: %v (cordon audit repair mends a torn last record)", e.Err)
}
func (e *AuditError) Unwrap() error { return e.Err }

// Run takes one request through the pipeline. A command that ran and
// failed is a Response with its exit status and a nil error; the error
// is for what stopped it from running (*DeniedError, *UsageError), or
// from being recorded (*AuditError), or the sandbox's failure.
func (g *Guard) Run(ctx context.Context, req *Request) (*Response, error) {
	return g.run(ctx, req, nil)
}

// run is Run, in a fresh sandbox when sess is nil, else as the next
// command of sess.
func (g *Guard) run(ctx context.Context, req *Request, sess *Session) (*Response, error) {
	argv, text := req.Argv, req.Text
	switch {
	case text != "" && len(argv) > 0:
		return nil, &UsageError{errors.New("both shell text and argv given")}
	case text != "":
		argv = []string{"sh", "-c", text}
	case len(argv) > 0:
		text = ShellJoin(argv)
	default:
		return nil, &UsageError{errors.New("no command")}
	}
	ws, err := checkWorkspace(req.Workspace)
	if err != nil {
		return nil, err
	}
	if sess != nil && ws != sess.ws {
		return nil, &UsageError{fmt.Errorf("workspace %s: the session's workspace is %s", ws, sess.ws)}
	}
	if req.KeepBackground && sess == nil {
		return nil, &UsageError{errors.New("keeping background processes needs a session")}
	}
	if g.Audit != nil {
		// Under audit.SyncBehind the last record's fsync may still be
		// running: the next command waits for it, and a record that did
		// not reach the disk stops the pipeline.
		if err := g.Audit.Flush(); err != nil {
			return nil, &AuditError{err}
		}
	}
	resp := &Response{Command: text}
	rec := &audit.Record{Command: text, Argv: req.Argv, Workspace: ws, Agent: req.Agent, Session: req.Session}
	rec.Cwd, _ = os.Getwd()
	record := func() error {
		if g.Audit == nil {
			return nil
		}
		if err := g.Audit.Append(rec); err != nil {
			return &AuditError{err}
		}
		return nil
	}

	// The policy judges the command before anything is built for it: a
	// denied command never reaches the sandbox.
	d, granted, err := g.judge(ctx, req, text, ws)
	if err == nil && req.KeepBackground && !g.Policy.Session.KeepBackground {
		d = &policy.Decision{Verdict: policy.Deny, Rule: "session.keep_background",
			Reason: "the policy does not let a command keep processes running after it ends (session.keep_background)"}
		granted, err = nil, &DeniedError{Decision: d}
	}
	resp.Decision, resp.Approval = d, granted
	rec.SetDecision(d)
	rec.Approval = granted
	if err != nil {
		if aerr := record(); aerr != nil {
			return resp, aerr
		}
		return resp, err
	}

	var spec *sandbox.Spec
	var egr *egressRun
	events := 0
	if sess == nil {
		if spec, err = g.spec(req, ws, argv, resp); err != nil {
			return resp, err
		}
		if egr, err = g.network(ctx, req, spec, func() (string, Approver) { return text, req.Approve }, ws); err != nil {
			return resp, err
		}
		if req.Timeout > 0 {
			// A caller may ask for less time than the policy gives,
			// never for more.
			spec.Limits.Timeout = min(req.Timeout, cmp.Or(spec.Limits.Timeout, sandbox.DefaultLimits.Timeout))
		}
	} else {
		spec, egr = sess.spec, sess.egr
		if req.KeepBackground {
			sess.kept.Store(true)
		}
		sess.cur.Store(&sessionCmd{text: text, approve: req.Approve})
		// Between commands no command's approver answers.
		defer sess.cur.Store(nil)
		if egr != nil {
			events = egr.count()
		}
	}

	// Output is verified on its way out; the audit keeps a digest of
	// what the command wrote, and what was found in it.
	outs := newOutputs(req, g.Policy)
	rec.SetSpec(spec)
	resp.Limits = spec.Limits
	// The workspace as it was, to list what the command changed in it.
	// A fresh sandbox is built while the listing is taken; it changes
	// nothing in the workspace and starts the command only once the
	// listing is done (spec.Ready).
	var snap *verify.Snap
	var serr error
	snapDone := make(chan struct{})
	takeSnap := func() {
		defer close(snapDone)
		snap, serr = verify.Snapshot(ws, verify.ChangeOptions{Detectors: []verify.Detector{verify.Secrets()}})
	}
	snapped := func() {
		<-snapDone
		if serr != nil {
			resp.Warnings = append(resp.Warnings, "no change report: "+serr.Error())
		}
	}
	var res *sandbox.Result
	if sess == nil {
		go takeSnap()
		spec.Stdin = req.Stdin
		spec.Stdout, spec.Stderr = outs.stdout, outs.stderr
		spec.Ready = func() error {
			<-snapDone
			return nil
		}
		res, err = g.Backend.Run(ctx, spec)
		// The listing is done whether or not the backend waited for it.
		snapped()
		if egr != nil {
			egr.stop()
		}
	} else {
		if prev := sess.between; prev != nil {
			// Processes kept by an earlier command ran between commands:
			// what they left for git is put right before this one starts.
			if rep, derr := prev.Diff(); derr == nil {
				for _, w := range fixGit(ws, rep.Git) {
					resp.Warnings = append(resp.Warnings, "between commands: "+w)
				}
			} else {
				resp.Warnings = append(resp.Warnings, "no check of what kept processes changed between commands: "+derr.Error())
			}
		}
		takeSnap()
		snapped()
		c := &sandbox.Command{Args: argv, Dir: req.Dir, Stdin: req.Stdin, Stdout: outs.stdout, Stderr: outs.stderr,
			KeepBackground: req.KeepBackground}
		if req.Timeout > 0 {
			c.Timeout = min(req.Timeout, cmp.Or(spec.Limits.Timeout, sandbox.DefaultLimits.Timeout))
		}
		res, err = sess.sb.Run(ctx, c)
		if res != nil {
			resp.Limits.Timeout = cmp.Or(c.Timeout, spec.Limits.Timeout)
		}
	}
	if cerr := outs.close(); cerr != nil && err == nil {
		resp.Warnings = append(resp.Warnings, "writing output: "+cerr.Error())
	}
	resp.Findings = outs.findings()
	if snap != nil {
		if rep, derr := snap.Diff(); derr != nil {
			resp.Warnings = append(resp.Warnings, "no change report: "+derr.Error())
		} else {
			resp.Changes = rep
			resp.Findings = append(resp.Findings, rep.Findings...)
			rec.Changes = auditChanges(rep)
			// What a later git run on the host would obey is put right
			// now, every process of the command being gone (but those a
			// session keeps: see between).
			resp.Warnings = append(resp.Warnings, fixGit(ws, rep.Git)...)
		}
	}
	if sess != nil && sess.kept.Load() {
		// The workspace as this command left it, to see at the next
		// one what kept processes changed in between.
		sess.between, _ = verify.Snapshot(ws, verify.ChangeOptions{})
	}
	rec.Stdout, rec.Stderr = outs.digests()
	rec.Findings = resp.Findings
	if egr != nil {
		resp.Network = egr.report()[events:]
		rec.Network = egr.auditEvents(resp.Network)
	}
	if err != nil {
		rec.Error = err.Error()
		rec.Warnings = append(rec.Warnings, resp.Warnings...)
		if aerr := record(); aerr != nil {
			return resp, aerr
		}
		return resp, err
	}
	resp.Result = res
	resp.Stdout, resp.Stderr = outs.captured()
	resp.Warnings = append(resp.Warnings, res.Warnings...)
	rec.SetResult(res)
	rec.Warnings = append(rec.Warnings, resp.Warnings...)
	if err := record(); err != nil {
		return resp, err
	}
	return resp, nil
}

// checkWorkspace makes the workspace absolute and checks it is a directory.
func checkWorkspace(dir string) (string, error) {
	ws, err := filepath.Abs(dir)
	if err != nil {
		return "", &UsageError{fmt.Errorf("workspace: %w", err)}
	}
	if st, err := os.Stat(ws); err != nil {
		return "", &UsageError{fmt.Errorf("workspace %s: %w", dir, errors.Unwrap(err))}
	} else if !st.IsDir() {
		return "", &UsageError{fmt.Errorf("workspace %s: not a directory", dir)}
	}
	return ws, nil
}

// auditChanges is the change report in the audit record's terms.
func auditChanges(rep *verify.ChangeReport) []audit.FileChange {
	var out []audit.FileChange
	for _, l := range []struct {
		op   string
		list []verify.Change
	}{{"create", rep.Created}, {"modify", rep.Modified}, {"delete", rep.Deleted}} {
		for _, c := range l.list {
			out = append(out, audit.FileChange{Path: c.Path, Op: l.op, Size: c.Size})
		}
	}
	return out
}

// judge asks the policy, and a person when the policy asks.
func (g *Guard) judge(ctx context.Context, req *Request, text, ws string) (*policy.Decision, *audit.Approval, error) {
	preq := policy.Request{Command: text, Workspace: ws, Home: g.Home}
	if req.Dir != "" {
		preq.Dir = req.Dir
		if !filepath.IsAbs(req.Dir) {
			preq.Dir = filepath.Join(ws, req.Dir)
		}
	}
	d := g.Policy.Decide(preq)
	switch d.Verdict {
	case policy.Allow:
		return d, nil, nil
	case policy.Ask:
		ar := &approval.Request{Command: text, Decision: d, Workspace: ws, Agent: req.Agent, Kind: approval.KindCommand}
		var a *audit.Approval
		if req.Approve != nil {
			a = req.Approve(ctx, ar)
		} else {
			a = g.ask(ctx, ar)
		}
		if a.Granted {
			return d, a, nil
		}
		return d, a, &DeniedError{Decision: d, Approval: a}
	}
	return d, nil, &DeniedError{Decision: d}
}

func (g *Guard) ask(ctx context.Context, r *approval.Request) *audit.Approval {
	if g.Approve == nil {
		return &audit.Approval{How: "none", At: time.Now().UTC(), Reason: "no one to ask"}
	}
	return g.Approve(ctx, r)
}

// spec builds the sandbox: the defaults, the policy's settings over them,
// and the front door's adjustments over those.
func (g *Guard) spec(req *Request, ws string, argv []string, resp *Response) (*sandbox.Spec, error) {
	spec, err := sandbox.NewSpec(ws, argv)
	if err != nil {
		return nil, err
	}
	env := g.Env
	if env == nil {
		env = os.Environ()
	}
	for _, w := range g.Policy.Apply(spec, g.Home, env) {
		resp.Warnings = append(resp.Warnings, w)
		g.warn("warning: %s", w)
	}
	if req.Dir != "" {
		spec.Dir = req.Dir
	}
	if req.Customize != nil {
		if err := req.Customize(spec); err != nil {
			return nil, &UsageError{err}
		}
	}
	return spec, nil
}

// network puts the run in proxy mode when anything may be reached: the
// policy's allow list in allowlist mode, hosts the request adds, or proxy
// mode asked for. Anything else is no network at all.
func (g *Guard) network(ctx context.Context, req *Request, spec *sandbox.Spec, current func() (string, Approver), ws string) (*egressRun, error) {
	if req.Network == sandbox.NetworkNone {
		if len(req.AllowHosts) > 0 {
			return nil, &UsageError{errors.New("network none conflicts with allowed hosts")}
		}
		spec.Network.Mode = sandbox.NetworkNone
		return nil, nil
	}
	rules := g.Policy.EgressRules()
	rules.Allow = append(rules.Allow, req.AllowHosts...)
	if req.Network != sandbox.NetworkProxy && len(req.AllowHosts) == 0 && g.Policy.Network.Mode != "allowlist" {
		spec.Network.Mode = sandbox.NetworkNone
		return nil, nil
	}
	egr, err := newEgress(ctx, rules, g.warn)
	if err != nil {
		return nil, &UsageError{err}
	}
	if len(rules.Ask) > 0 {
		egr.approveWith(func(ctx context.Context, host string, port int) *audit.Approval {
			text, approve := current()
			ar := &approval.Request{
				Command: text, Workspace: ws, Agent: req.Agent,
				Kind: approval.KindNetwork, Host: host, Port: port,
			}
			if approve != nil {
				return approve(ctx, ar)
			}
			return g.ask(ctx, ar)
		})
	}
	egr.attach(spec)
	return egr, nil
}

var warnMu sync.Mutex

func (g *Guard) warn(format string, a ...any) {
	if g.Warn == nil {
		return
	}
	warnMu.Lock()
	defer warnMu.Unlock()
	fmt.Fprintf(g.Warn, "cordon: "+format+"\n", a...)
}

// ShellJoin quotes argv as shell text that bash reads back as the same
// words, so that the policy judges what exec would run.
func ShellJoin(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a, i == 0))
	}
	return b.String()
}

// shellQuote quotes one word. The first word is quoted unless it is a
// plain name or path, so that "FOO=1" or "if" stays a program name, as
// exec treats it, rather than an assignment or a keyword.
func shellQuote(s string, first bool) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_./-+,:@%", c) >= 0:
		case c == '=' && !first:
		default:
			plain = false
		}
	}
	if plain && first && isKeyword(s) {
		plain = false
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func isKeyword(s string) bool {
	switch s {
	case "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until",
		"do", "done", "in", "function", "time", "coproc", "{", "}", "!", "[[", "]]":
		return true
	}
	return false
}
