package approval

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/internal/ptytest"
	"github.com/cordon-sh/cordon/policy"
)

func ptyRequest() *Request {
	pol := policy.Default()
	d := pol.Decide(policy.Request{Command: "rm -f build.log", Workspace: "/src/app", Home: "/home/u"})
	return &Request{Command: "rm -f build.log", Decision: d, Workspace: "/src/app", Kind: KindCommand}
}

// The prompt, driven through a real pseudo-terminal as a person types:
// it shows the command, the rule and the reason, and reads the answer.
func TestTerminal(t *testing.T) {
	for _, tt := range []struct {
		name, typed   string
		allowAlways   bool
		granted, alws bool
		reason        string
	}{
		{"yes", "y\n", false, true, false, "approved"},
		{"yes word", "YES\n", true, true, false, "approved"},
		{"no", "n\n", true, false, false, "refused"},
		{"empty", "\n", true, false, false, "refused"},
		{"always", "a\n", true, true, true, "always"},
		{"always not offered", "a\n", false, false, false, "refused"},
		{"no answer", "", true, false, false, "no answer within"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			master, slave := ptytest.Open(t)
			term := &Terminal{In: slave, Out: slave, Timeout: 2 * time.Second, AllowAlways: tt.allowAlways}
			if tt.name == "no answer" {
				term.Timeout = 300 * time.Millisecond
			}
			req := ptyRequest()
			type result struct {
				a   Answer
				err error
			}
			done := make(chan result, 1)
			go func() {
				a, err := term.Approve(context.Background(), req)
				done <- result{a, err}
			}()
			var screen bytes.Buffer
			buf := make([]byte, 4096)
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(screen.String(), "Run it?") {
				if time.Now().After(deadline) {
					t.Fatalf("no prompt; the terminal shows:\n%s", screen.String())
				}
				master.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				n, _ := master.Read(buf)
				screen.Write(buf[:n])
			}
			for _, want := range []string{"rm -f build.log", "delete-in-workspace", req.Decision.Reason, "needs approval"} {
				if !strings.Contains(screen.String(), want) {
					t.Errorf("the prompt does not show %q:\n%s", want, screen.String())
				}
			}
			if got := strings.Contains(screen.String(), "[y/N/a]"); got != tt.allowAlways {
				t.Errorf("allow always offered = %v, want %v:\n%s", got, tt.allowAlways, screen.String())
			}
			if tt.typed != "" {
				master.Write([]byte(tt.typed))
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("no answer from Approve")
			}
			if r.err != nil || r.a.Granted != tt.granted || r.a.Always != tt.alws || r.a.How != HowTerminal || !strings.Contains(r.a.Reason, tt.reason) || r.a.At.IsZero() {
				t.Errorf("answer %+v, %v", r.a, r.err)
			}
		})
	}
}

// Escape sequences in the command are shown, not acted on: a command
// cannot redraw the prompt to hide what it runs.
func TestTerminalEscapes(t *testing.T) {
	var out bytes.Buffer
	req := &Request{Command: "rm -rf ~ \x1b[2K\x1b[1Gls \u202e", Decision: &policy.Decision{Verdict: policy.Ask, Rule: "r", Reason: "why \x1b]0;x\x07"}}
	(&Terminal{In: strings.NewReader("n\n"), Out: &out, Timeout: time.Second}).Approve(context.Background(), req)
	if strings.ContainsAny(out.String(), "\x1b\x07\u202e") || !strings.Contains(out.String(), `\x1b[2K`) {
		t.Errorf("the prompt passes control characters through: %q", out.String())
	}
}

// A cancelled context refuses at once.
func TestTerminalCancelled(t *testing.T) {
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, _ := (&Terminal{In: r, Out: &bytes.Buffer{}, Timeout: time.Minute}).Approve(ctx, ptyRequest())
	if a.Granted || a.Reason != "cancelled" {
		t.Errorf("%+v", a)
	}
}
