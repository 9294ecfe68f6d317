// Package mcp is cordon's MCP server: the pipeline of package guard
// offered as tools to an agent that speaks the Model Context Protocol.
// A command the agent runs, a file it reads or writes, a patch it applies
// all go through the same policy, sandbox, output checks and audit log as
// cordon exec. When the policy asks about a command, the question goes
// to the user through the client (MCP elicitation); a client that cannot
// ask gets a refusal that says so.
//
// The server speaks the protocol versions up to 2025-11-25, in which a
// server may ask the client a question while a tool call is under way:
// the policy's question is asked in the middle of the pipeline, and its
// answer recorded with the command.
package mcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
	"github.com/cordon-sh/cordon/verify"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure the server.
type Options struct {
	// Workspace is the directory commands run in and files are written
	// to.
	Workspace string
	// Agent names the agent in the audit record; empty takes the name the
	// client gives.
	Agent string
	// OutputLimit bounds each output stream of a command in a result;
	// zero takes DefaultOutputLimit.
	OutputLimit int64
	// Version is cordon's version, told to clients.
	Version string
	// NoSessions runs every command in a sandbox of its own. By default
	// each MCP session keeps one sandbox session for its commands: files
	// in /tmp persist between them, processes do not, and a command
	// starts in about a millisecond instead of building a sandbox.
	NoSessions bool
}

// DefaultOutputLimit is how much of each stream of a command a result
// carries: past it the middle is cut. A model reads all of it, so it is
// smaller than what a terminal gets.
const DefaultOutputLimit = 256 << 10

// ProtocolVersions are the protocol versions the server speaks; see the
// package comment for why the newest one is not among them.
var ProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// server holds what the tools share.
type server struct {
	guard *guard.Guard
	opts  Options

	mu       sync.Mutex
	sessions map[*sdk.ServerSession]*sandboxSession
}

// sandboxSession is the sandbox session of one MCP session, started at its
// first command and closed when the MCP session ends.
type sandboxSession struct {
	once sync.Once
	s    *guard.Session
	err  error
}

// New returns the MCP server for g. g is not changed: each tool call
// works on a copy whose Approve asks the client of that call.
func New(g *guard.Guard, opts Options) *sdk.Server {
	s := &server{guard: g, opts: opts, sessions: map[*sdk.ServerSession]*sandboxSession{}}
	if s.opts.OutputLimit == 0 {
		s.opts.OutputLimit = DefaultOutputLimit
	}
	srv := sdk.NewServer(&sdk.Implementation{Name: "cordon", Title: "cordon", Version: cmp.Or(opts.Version, "dev")}, &sdk.ServerOptions{
		Instructions: "Commands run in cordon's sandbox under a policy: the workspace " + opts.Workspace +
			" is writable, credential stores are hidden, and some commands are denied or need the user's approval. " +
			"A denied call says which rule denied it and why.",
		Capabilities:              &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
		SupportedProtocolVersions: ProtocolVersions,
	})
	f, t := false, true
	network := g.Policy.Network.Mode == "allowlist" || len(g.Policy.EgressRules().Allow) > 0
	sdk.AddTool(srv, &sdk.Tool{
		Name: "run_command",
		Description: "Run shell text (as sh -c) in the sandbox, in the workspace. The policy may deny it or ask the user first. " +
			"The result has the exit status, the output (verified: secrets redacted), findings, and the policy's decision.",
		Annotations: &sdk.ToolAnnotations{Title: "Run a command", DestructiveHint: &t, OpenWorldHint: &network},
	}, s.runCommand)
	sdk.AddTool(srv, &sdk.Tool{
		Name:        "read_file",
		Description: "Read a file as a sandboxed command could: hidden credential stores are refused. Secrets in the content are redacted.",
		Annotations: &sdk.ToolAnnotations{Title: "Read a file", ReadOnlyHint: true, OpenWorldHint: &f},
	}, s.readFile)
	sdk.AddTool(srv, &sdk.Tool{
		Name:        "list_directory",
		Description: "List a directory as a sandboxed command could.",
		Annotations: &sdk.ToolAnnotations{Title: "List a directory", ReadOnlyHint: true, OpenWorldHint: &f},
	}, s.listDirectory)
	sdk.AddTool(srv, &sdk.Tool{
		Name: "write_file",
		Description: "Write a whole file in the workspace, creating missing directories. Protected paths (.git/hooks, .git/config, " +
			"agent settings and the like), paths outside the workspace and paths through symlinks are refused.",
		Annotations: &sdk.ToolAnnotations{Title: "Write a file", DestructiveHint: &t, IdempotentHint: true, OpenWorldHint: &f},
	}, s.writeFile)
	sdk.AddTool(srv, &sdk.Tool{
		Name: "apply_patch",
		Description: "Apply a unified diff (git diff format, or diff -u) to files in the workspace, under the rules of write_file. " +
			"All or nothing: every hunk is checked before any file is written.",
		Annotations: &sdk.ToolAnnotations{Title: "Apply a patch", DestructiveHint: &t, OpenWorldHint: &f},
	}, s.applyPatch)
	return srv
}

// RunInput is the input of run_command.
type RunInput struct {
	Command string `json:"command" jsonschema:"shell text, run as sh -c in the workspace"`
	// Timeout shortens the policy's wall-clock limit; it cannot lengthen it.
	Timeout float64 `json:"timeout_seconds,omitempty" jsonschema:"wall-clock limit in seconds; at most the policy's limit"`
	Dir     string  `json:"cwd,omitempty" jsonschema:"working directory, relative to the workspace"`
	// KeepBackground leaves what the command starts in the background
	// running into later commands of this session, where the policy's
	// session.keep_background allows it.
	KeepBackground bool `json:"keep_background,omitempty" jsonschema:"leave background processes (a server started with &) running for later commands; the policy must allow it"`
}

// Decision is the policy's decision in a result.
type Decision struct {
	Verdict string `json:"verdict"`
	Rule    string `json:"rule"`
	Reason  string `json:"reason,omitempty"`
	// Approval is who answered when the policy asked.
	Approval *audit.Approval `json:"approval,omitempty"`
}

// RunResult is the structured result of run_command.
type RunResult struct {
	// ExitCode is the command's exit status; absent when it did not run.
	ExitCode *int `json:"exit_code,omitempty"`
	// Reason is how the run ended ("exit", "signal", "timeout", ...), or
	// "denied" or "error" when it did not run.
	Reason string `json:"reason"`
	// Detail says what a limit that stopped the run reached, when the
	// reason alone does not (which filesystem, for "disk").
	Detail   string           `json:"detail,omitempty"`
	Stdout   string           `json:"stdout"`
	Stderr   string           `json:"stderr"`
	Findings []verify.Finding `json:"findings,omitempty"`
	Decision *Decision        `json:"decision,omitempty"`
	// Changes are the files the command changed in the workspace, where
	// the pipeline reports them.
	Changes  *verify.ChangeReport `json:"changes,omitempty"`
	Warnings []string             `json:"warnings,omitempty"`
	// Error is why the command did not run.
	Error string `json:"error,omitempty"`
}

func (s *server) runCommand(ctx context.Context, req *sdk.CallToolRequest, in RunInput) (*sdk.CallToolResult, *RunResult, error) {
	g := s.guardFor(req.Session)
	greq := &guard.Request{
		Text: in.Command, Workspace: s.opts.Workspace, Dir: in.Dir,
		Agent: s.agent(req.Session), Session: req.Session.ID(),
		Output:         guard.OutputOptions{Limit: s.opts.OutputLimit},
		KeepBackground: in.KeepBackground,
	}
	if in.Timeout < 0 {
		return errorResult(&RunResult{Reason: "error"}, "timeout_seconds must be positive")
	}
	// The policy's limit stands as a ceiling: an agent may ask for less
	// time, never for more.
	greq.Timeout = time.Duration(in.Timeout * float64(time.Second))
	var resp *guard.Response
	var err error
	if sess, serr := s.session(ctx, req.Session, g); serr != nil {
		err = serr
	} else if sess != nil {
		resp, err = sess.Run(ctx, greq)
		if errors.Is(err, sandbox.ErrSessionClosed) {
			// It ended while idle, or died: a new one for this command.
			s.dropSession(req.Session, sess)
			if sess, err = s.session(ctx, req.Session, g); err == nil && sess != nil {
				resp, err = sess.Run(ctx, greq)
			}
		}
	} else {
		resp, err = g.Run(ctx, greq)
	}
	out := &RunResult{}
	if resp != nil {
		out.Decision = decision(resp.Decision, resp.Approval)
		out.Findings = resp.Findings
		out.Changes = resp.Changes
		out.Warnings = resp.Warnings
	}
	if err != nil {
		out.Reason, out.Error = "error", err.Error()
		var denied *guard.DeniedError
		switch {
		case errors.As(err, &denied):
			out.Reason = "denied"
		case errors.Is(err, linux.ErrNotFound):
			code := 127
			out.ExitCode = &code
		}
		return errorResult(out, err.Error())
	}
	res := resp.Result
	code := res.ExitCode
	out.ExitCode, out.Reason, out.Detail = &code, string(res.Reason), res.Detail
	out.Stdout, out.Stderr = string(resp.Stdout), string(resp.Stderr)
	var text strings.Builder
	fmt.Fprintf(&text, "exit status %d", code)
	if res.Reason != sandbox.ReasonExit {
		fmt.Fprintf(&text, " (%s)", res.Reason)
	}
	if res.Detail != "" {
		fmt.Fprintf(&text, ": %s", res.Detail)
	}
	text.WriteString("\n")
	text.WriteString(out.Stdout)
	if out.Stderr != "" {
		fmt.Fprintf(&text, "\n[stderr]\n%s", out.Stderr)
	}
	if c := out.Changes; c != nil && c.Counts.Created+c.Counts.Modified+c.Counts.Deleted > 0 {
		fmt.Fprintf(&text, "\n[cordon] workspace: %d created, %d modified, %d deleted", c.Counts.Created, c.Counts.Modified, c.Counts.Deleted)
	}
	for _, fd := range out.Findings {
		fmt.Fprintf(&text, "\n[cordon] %s", fd)
	}
	return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: text.String()}}}, out, nil
}

// errorResult is a refusal or failure the model sees: a tool result with
// isError set, not a protocol error.
func errorResult[T any](out *T, msg string) (*sdk.CallToolResult, *T, error) {
	return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: msg}}}, out, nil
}

func decision(d *policy.Decision, a *audit.Approval) *Decision {
	if d == nil {
		return nil
	}
	return &Decision{Verdict: d.Verdict.String(), Rule: d.Rule, Reason: d.Reason, Approval: a}
}

// session returns the sandbox session of ss, started on first use with g
// (whose questions go to ss's client); nil when sessions are off or the
// backend has none.
func (s *server) session(ctx context.Context, ss *sdk.ServerSession, g *guard.Guard) (*guard.Session, error) {
	if s.opts.NoSessions {
		return nil, nil
	}
	s.mu.Lock()
	sb := s.sessions[ss]
	if sb == nil {
		sb = &sandboxSession{}
		s.sessions[ss] = sb
	}
	s.mu.Unlock()
	sb.once.Do(func() {
		sb.s, sb.err = g.StartSession(ctx, &guard.SessionRequest{Workspace: s.opts.Workspace, Agent: s.agent(ss)})
		if errors.Is(sb.err, guard.ErrNoSessions) {
			sb.err = nil
		}
		if sb.s == nil {
			return
		}
		go func() {
			// The sandbox ends with the MCP session (and by itself when
			// idle for the policy's idle time).
			ss.Wait()
			sb.s.Close()
			s.mu.Lock()
			delete(s.sessions, ss)
			s.mu.Unlock()
		}()
	})
	if sb.err != nil {
		return nil, sb.err
	}
	return sb.s, nil
}

// dropSession forgets sess, the ended sandbox session of ss.
func (s *server) dropSession(ss *sdk.ServerSession, sess *guard.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb := s.sessions[ss]; sb != nil && sb.s == sess {
		delete(s.sessions, ss)
	}
	sess.Close()
}

// guardFor is the guard of one call: its questions go to the client of
// the session the call came in on.
func (s *server) guardFor(ss *sdk.ServerSession) *guard.Guard {
	g := *s.guard
	g.Approve = func(ctx context.Context, r *approval.Request) *audit.Approval {
		return elicit(ctx, ss, r)
	}
	return &g
}

func (s *server) agent(ss *sdk.ServerSession) string {
	if s.opts.Agent != "" {
		return s.opts.Agent
	}
	if p := ss.InitializeParams(); p != nil && p.ClientInfo != nil {
		return p.ClientInfo.Name
	}
	return "mcp"
}

// ElicitTimeout is how long the user has to answer; no answer is a
// refusal.
const ElicitTimeout = 5 * time.Minute

// elicit asks the user, through the client, whether a command the policy
// asks about may run. Anything but an explicit yes is a refusal, with
// its reason.
func elicit(ctx context.Context, ss *sdk.ServerSession, r *approval.Request) *audit.Approval {
	a := &audit.Approval{How: "mcp", At: time.Now().UTC()}
	p := ss.InitializeParams()
	if p == nil || p.Capabilities == nil || p.Capabilities.Elicitation == nil {
		a.Reason = "the MCP client cannot ask the user (it does not support elicitation)"
		return a
	}
	if p.ClientInfo != nil {
		a.By = p.ClientInfo.Name
	}
	ctx, cancel := context.WithTimeout(ctx, ElicitTimeout)
	defer cancel()
	res, err := ss.Elicit(ctx, &sdk.ElicitParams{
		Message: question(r),
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"approve": map[string]any{"type": "boolean", "title": "Allow it?", "description": "true to allow, false to refuse"},
			},
			"required": []string{"approve"},
		},
	})
	a.At = time.Now().UTC()
	switch {
	case err != nil:
		a.Reason = "asking the user through the MCP client failed: " + err.Error()
	case res.Action == "accept" && res.Content["approve"] == true:
		a.Granted, a.Reason = true, "approved by the user through the MCP client"
	case res.Action == "accept":
		a.Reason = "the user refused"
	case res.Action == "decline":
		a.Reason = "the user declined"
	default:
		a.Reason = "the user dismissed the question"
	}
	return a
}

// question is what the user is asked.
func question(r *approval.Request) string {
	if r.Kind == approval.KindNetwork {
		return fmt.Sprintf("cordon: the command\n\n  %s\n\nwants to connect to %s:%d. Allow this connection?", r.Command, r.Host, r.Port)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cordon: the agent wants to run\n\n  %s\n\nin %s.", r.Command, r.Workspace)
	if d := r.Decision; d != nil {
		fmt.Fprintf(&b, "\nThe policy asks first (rule %s: %s).", d.Rule, d.Reason)
	}
	b.WriteString(" Allow it to run?")
	return b.String()
}
