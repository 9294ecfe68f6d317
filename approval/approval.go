// Package approval asks a person whether a command the policy asks about
// may run, through whatever channel they use: a terminal prompt, a
// webhook, or a fixed answer for automation.
//
// Every channel fails closed. An Approver that cannot get an answer (no
// terminal, a webhook that is down, slow, redirected or answers something
// malformed, a timeout) returns an error or a refusal, and callers treat
// an error as a refusal: a command runs only on an explicit yes.
//
// An answer may also say "allow always". SaveAlways then writes a rule to
// the user policy that allows exactly that command from now on, where
// the policy lets a rule do so (never for a denied command, a command
// that is not known statically, or one run through sudo).
package approval

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cordon-sh/cordon/policy"
)

// Kinds of request.
const (
	KindCommand = "command" // a shell command the policy asks about
	KindNetwork = "network" // a connection to Host:Port
)

// Channels, as Answer.How names them.
const (
	HowTerminal = "terminal"
	HowWebhook  = "webhook"
	HowFixed    = "fixed"
)

// Request is what a person is asked to approve.
type Request struct {
	// Command is the shell text, as the policy judged it.
	Command string
	// Decision is the policy's judgement of Command: the rule that asked,
	// its reason, and each command found in the text.
	Decision *policy.Decision
	// Workspace is the directory the command may write; Agent names the
	// agent that asked for it.
	Workspace, Agent string
	// Kind is KindCommand or KindNetwork; empty means KindCommand.
	Kind string
	// Host and Port are the destination of a network request.
	Host string
	Port int
	// Channel names the channel that answered "allow always", for the
	// reason of the rule SaveAlways writes ("terminal", "webhook"); empty
	// reads as "approval".
	Channel string
}

// Answer is a person's answer, or a channel's refusal.
type Answer struct {
	// Granted reports whether the request may go ahead.
	Granted bool
	// Always reports that "allow always" was chosen: the caller may save
	// a rule with SaveAlways so that the same request is not asked again.
	Always bool
	// By names who answered: a user name, the name a webhook gave, or
	// the webhook's address.
	By string
	// How is the channel: HowTerminal, HowWebhook or HowFixed.
	How string
	// At is when the answer came.
	At time.Time
	// Reason is the answer as said, or why there was none.
	Reason string
}

// Approver asks for an answer. An error means the channel failed; callers
// treat it as a refusal, never as a reason to run the command.
type Approver interface {
	Approve(ctx context.Context, req *Request) (Answer, error)
}

// Fixed answers every request the same way, without asking anyone: for
// automation that decided in advance (cordon exec --approve=allow).
type Fixed struct{ Allow bool }

// Approve returns the fixed answer.
func (f Fixed) Approve(ctx context.Context, req *Request) (Answer, error) {
	a := Answer{Granted: f.Allow, By: "fixed", How: HowFixed, At: time.Now().UTC(), Reason: "refused by a fixed answer"}
	if f.Allow {
		a.Reason = "approved by a fixed answer"
	}
	return a, nil
}

// describe says what is asked, in one line, for messages.
func (r *Request) describe() string {
	if r.Kind == KindNetwork {
		if r.Port > 0 {
			return fmt.Sprintf("connect to %s:%d", r.Host, r.Port)
		}
		return "connect to " + r.Host
	}
	return r.Command
}

// currentUser names the person at the terminal.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}
