package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cordon-sh/cordon/policy"
	"golang.org/x/sys/unix"
)

// approvalTimeout is how long the terminal prompt waits; no answer is a
// refusal, so an unattended agent cannot wait its way past a question.
const approvalTimeout = 60 * time.Second

// approve decides whether a command the policy asks about may run. With
// --approve=allow it may; otherwise a person at the terminal is asked,
// and without a terminal the answer is no.
func approve(ctx context.Context, mode string, stdin io.Reader, text string, d *policy.Decision) (bool, string) {
	if mode == "allow" {
		return true, "approved by --approve=allow"
	}
	if !isTerminal(stdin) {
		return false, "no terminal to ask on; pass --approve=allow to run it anyway"
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Sprintf("cannot open the terminal to ask: %v", err)
	}
	defer tty.Close()
	return prompt(ctx, tty, tty, text, d, approvalTimeout)
}

// prompt shows the command, its analysis and the reason, and reads a yes
// or no. Anything but yes, an error or the timeout, refuses.
func prompt(ctx context.Context, in io.Reader, out io.Writer, text string, d *policy.Decision, timeout time.Duration) (bool, string) {
	fmt.Fprintf(out, "\ncordon: this command needs approval\n\n")
	printDecision(out, text, d)
	fmt.Fprintf(out, "\nRun it? [y/N] (no answer in %s means no) ", timeout)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- strings.ToLower(strings.TrimSpace(line))
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-answer:
		if a == "y" || a == "yes" {
			return true, "approved at the terminal"
		}
		return false, "refused at the terminal"
	case <-timer.C:
		fmt.Fprintln(out)
		return false, fmt.Sprintf("no answer within %s", timeout)
	case <-ctx.Done():
		return false, "cancelled"
	}
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
