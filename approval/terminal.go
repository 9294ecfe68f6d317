package approval

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cordon-sh/cordon/policy"
)

// DefaultTerminalTimeout is how long the terminal prompt waits. No answer
// is a refusal, so an unattended agent cannot wait its way past a
// question.
const DefaultTerminalTimeout = 60 * time.Second

// Terminal asks the person at a terminal. It shows the command, the
// policy's analysis (each command found in the text with its verdict and
// rule) and the reason, then reads a line: y or yes approves, a (when
// AllowAlways is set) approves and asks for the rule to be saved, and
// anything else, an error, the timeout or a cancelled context refuses.
type Terminal struct {
	In  io.Reader
	Out io.Writer
	// Timeout bounds the wait for an answer; zero means
	// DefaultTerminalTimeout.
	Timeout time.Duration
	// AllowAlways offers "a" (allow always) besides y and n.
	AllowAlways bool

	tty *os.File // set by OpenTerminal, closed by Close
}

// OpenTerminal returns a Terminal on the process's controlling terminal,
// /dev/tty: the person's terminal even when stdin and stdout are pipes
// of an agent. It fails when there is none. Close it when done.
func OpenTerminal() (*Terminal, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the terminal to ask: %w", err)
	}
	return &Terminal{In: tty, Out: tty, tty: tty}, nil
}

// Close closes the terminal opened by OpenTerminal; it does nothing for
// a Terminal built by hand.
func (t *Terminal) Close() error {
	if t.tty == nil {
		return nil
	}
	return t.tty.Close()
}

// Approve shows the request and reads the answer. It never returns an
// error: whatever goes wrong, the answer is no.
func (t *Terminal) Approve(ctx context.Context, req *Request) (Answer, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTerminalTimeout
	}
	out := t.Out
	if out == nil {
		out = io.Discard
	}
	what := "command"
	if req.Kind == KindNetwork {
		what = "connection"
	}
	fmt.Fprintf(out, "\ncordon: this %s needs approval\n\n", what)
	if req.Kind == KindNetwork {
		fmt.Fprintf(out, "ASK: %s\n", oneLine(req.describe(), 200))
		if req.Command != "" {
			fmt.Fprintf(out, "  by: %s\n", oneLine(req.Command, 200))
		}
	} else if req.Decision != nil {
		PrintDecision(out, req.Command, req.Decision)
	} else {
		fmt.Fprintf(out, "ASK: %s\n", oneLine(req.Command, 200))
	}
	if t.AllowAlways {
		fmt.Fprintf(out, "\nRun it? [y/N/a] (a = allow always; no answer in %s means no) ", timeout)
	} else {
		fmt.Fprintf(out, "\nRun it? [y/N] (no answer in %s means no) ", timeout)
	}
	answer := make(chan string, 1)
	in := t.In
	go func() {
		// This goroutine may outlive Approve on a timeout, blocked in
		// Read; it holds nothing but the reader, which the caller closes.
		line := ""
		if in != nil {
			line, _ = bufio.NewReader(in).ReadString('\n')
		}
		answer <- strings.ToLower(strings.TrimSpace(line))
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	a := Answer{By: currentUser(), How: HowTerminal}
	select {
	case s := <-answer:
		switch {
		case s == "y" || s == "yes":
			a.Granted, a.Reason = true, "approved at the terminal"
		case t.AllowAlways && (s == "a" || s == "always"):
			a.Granted, a.Always, a.Reason = true, true, "approved always at the terminal"
		default:
			a.Reason = "refused at the terminal"
		}
	case <-timer.C:
		fmt.Fprintln(out)
		a.Reason = fmt.Sprintf("no answer within %s", timeout)
	case <-ctx.Done():
		fmt.Fprintln(out)
		a.Reason = "cancelled"
	}
	a.At = time.Now().UTC()
	return a, nil
}

// PrintDecision writes a decision for a reader: the verdict and why, then
// each command with its own verdict and the rules that applied.
func PrintDecision(w io.Writer, text string, d *policy.Decision) {
	fmt.Fprintf(w, "%s: %s\n", strings.ToUpper(d.Verdict.String()), oneLine(text, 200))
	fmt.Fprintf(w, "  rule %s: %s\n", safe(d.Rule), safe(d.Reason))
	if len(d.Commands) > 0 {
		fmt.Fprintln(w, "commands:")
	}
	for _, c := range d.Commands {
		name := strings.TrimSpace(c.Name + " " + strings.Join(c.Args, " "))
		if name == "" {
			name = "(assignments or redirections)"
		}
		via := ""
		if len(c.Via) > 0 {
			via = " (via " + safe(strings.Join(c.Via, ", ")) + ")"
		}
		fmt.Fprintf(w, "  %-6s %s %s%s\n", c.Verdict, c.Pos, oneLine(name, 100), via)
		fmt.Fprintf(w, "         %s: %s\n", safe(c.Rule), safe(c.Reason))
		for _, m := range c.Matched {
			if m.Rule != c.Rule {
				fmt.Fprintf(w, "         also %s (%s) at %s\n", m.Rule, m.Verdict, m.Source)
			}
		}
	}
	for _, n := range d.Notes {
		fmt.Fprintf(w, "note: %s\n", safe(n))
	}
}

// oneLine shortens s to one line of at most n bytes for display.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return safe(s)
}

// safe replaces the characters a terminal acts on rather than shows
// (escape sequences, other controls, bidirectional overrides) with Go
// escapes. The text shown comes from the agent: without this, a command
// could carry sequences that redraw the prompt to hide what it runs.
func safe(s string) string {
	shown := func(r rune) bool {
		return !(r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) ||
			(r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f)
	}
	if strings.IndexFunc(s, func(r rune) bool { return !shown(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case shown(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}
