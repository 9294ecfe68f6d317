package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sh/cordon/approval"
	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/policy"
	"golang.org/x/sys/unix"
)

// webhookSecretEnv holds the secret --approve=webhook=URL signs with. It is
// not a flag, so that it does not show in the process list.
const webhookSecretEnv = "CORDON_WEBHOOK_SECRET"

// approveMode is the --approve flag, parsed.
type approveMode struct {
	kind   string // "deny", "allow" or "webhook"
	url    string
	secret []byte
}

// parseApprove reads --approve: deny (ask at the terminal when there is
// one, else refuse), allow, or webhook=URL.
func parseApprove(s string) (approveMode, error) {
	switch {
	case s == "deny" || s == "allow":
		return approveMode{kind: s}, nil
	case strings.HasPrefix(s, "webhook="):
		u := strings.TrimPrefix(s, "webhook=")
		if _, err := approval.CheckWebhookURL(u); err != nil {
			return approveMode{}, fmt.Errorf("--approve: %v", err)
		}
		secret := os.Getenv(webhookSecretEnv)
		if secret == "" {
			return approveMode{}, fmt.Errorf("--approve webhook=...: set %s to the secret the webhook checks signatures with", webhookSecretEnv)
		}
		return approveMode{kind: "webhook", url: u, secret: []byte(secret)}, nil
	}
	return approveMode{}, fmt.Errorf("--approve %q: expected deny, allow or webhook=URL", s)
}

// approve asks whoever --approve names about a command the policy asks
// about, and returns the answer for the audit record. Every failure of a
// channel is a refusal. An "allow always" answer saves a rule in the user
// policy where the policy lets it, and says so on stderr.
func approve(ctx context.Context, mode approveMode, stdin io.Reader, stderr io.Writer, req *approval.Request) *audit.Approval {
	return approveOn(ctx, mode, stdin, nil, stderr, req)
}

// approveOn is approve, asking on tty when it is set (the terminal of a
// session's client) instead of this process's own terminal.
func approveOn(ctx context.Context, mode approveMode, stdin io.Reader, tty *os.File, stderr io.Writer, req *approval.Request) *audit.Approval {
	var ap approval.Approver
	switch mode.kind {
	case "allow":
		ap = approval.Fixed{Allow: true}
	case "webhook":
		ap = &approval.Webhook{URL: mode.url, Secret: mode.secret}
	default:
		var t *approval.Terminal
		switch {
		case tty != nil:
			t = &approval.Terminal{In: tty, Out: tty}
		case !isTerminal(stdin):
			return &audit.Approval{How: "none", At: time.Now().UTC(), Reason: "no terminal to ask on; pass --approve=allow to run it anyway"}
		default:
			var err error
			if t, err = approval.OpenTerminal(); err != nil {
				return &audit.Approval{By: currentUser(), How: approval.HowTerminal, At: time.Now().UTC(), Reason: fmt.Sprintf("cannot open the terminal to ask: %v", err)}
			}
			defer t.Close()
		}
		// "a" is offered only where a rule may be saved for it.
		t.AllowAlways = approval.CheckAlways(req) == nil
		ap = t
	}
	ans, err := ap.Approve(ctx, req)
	if err != nil {
		// The channel failed: a refusal, recorded with why.
		ans = approval.Answer{How: mode.kind, By: approval.RedactURL(mode.url), At: time.Now().UTC(), Reason: err.Error()}
	}
	a := &audit.Approval{Granted: ans.Granted, By: ans.By, How: ans.How, At: ans.At, Reason: ans.Reason}
	if ans.How == approval.HowFixed {
		// The audit log calls a fixed answer from the command line "flag".
		a.How, a.By, a.Reason = "flag", "--approve=allow", "approved by --approve=allow"
	}
	if ans.Granted && ans.Always {
		req.Channel = ans.How
		file, err := policy.UserFile()
		if err == nil {
			err = approval.SaveAlways(file, req)
		}
		if err != nil {
			fmt.Fprintf(stderr, "cordon: approved this once; not saved for always: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "cordon: saved in %s: this command is allowed from now on\n", file)
		}
	}
	return a
}

// isTerminal reports whether r (a reader or a writer) is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// termGate holds a command's output back while a question is on the
// terminal: the prompt (of a network question, which comes while the
// command runs) is not broken up by the output streaming beside it. The
// output waits; the command, which waits for its connection, loses
// nothing.
type termGate struct {
	mu      sync.Mutex
	midLine bool // the output's last byte was not a newline
	out     io.Writer
}

// writer returns w with its writes held back while the gate is held.
func (g *termGate) writer(w io.Writer) io.Writer { return gatedWriter{g, w} }

type gatedWriter struct {
	g *termGate
	w io.Writer
}

func (w gatedWriter) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	n, err := w.w.Write(p)
	if n > 0 {
		w.g.midLine = p[n-1] != '\n'
		w.g.out = w.w
	}
	return n, err
}

// hold runs ask with the output held back, ending first a line the
// output left unfinished so that the prompt starts on its own line.
func (g *termGate) hold(ask func() *audit.Approval) *audit.Approval {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.midLine && g.out != nil {
		g.out.Write([]byte{'\n'})
		g.midLine = false
	}
	return ask()
}
