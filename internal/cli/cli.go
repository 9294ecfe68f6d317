// Package cli is cordon's command line: flags become pipeline calls, and
// results become exit codes and human-readable text.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes of cordon itself; a command that ran passes its own through.
const (
	ExitUsage    = 2   // bad flags or arguments
	ExitCordon   = 125 // cordon could not build or run the sandbox
	ExitNotFound = 127 // the command does not exist inside the sandbox
)

// exitError carries an exit code out of a command's RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Interrupts cancel the run: the sandbox is killed and cleaned up
	// rather than left to the parent-death signal with its cgroup and
	// placeholders behind.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "cordon: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "cordon: %v\n", err)
	return ExitUsage
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "cordon",
		Short: "Run an AI agent's commands in a sandbox",
		Long: `cordon stands between an AI agent and the machine: it runs the agent's
commands in a kernel sandbox with the workspace writable, the rest of the
host read-only or hidden, no network and bounded resources.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newExec(), newSh(), newCheck(), newPolicy(), newHook(), newInit(), newMCP(), newSession(), newDoctor(), newAudit(), newVersion())
	return root
}

// Version is cordon's version, set at build time with -ldflags.
var Version = "dev"

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print cordon's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "cordon", Version)
			return nil
		},
	}
}

// stdinFile returns r as an *os.File when it is one, so that the sandbox
// gets the descriptor itself rather than a pipe.
func stdinFile(r io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok {
		return f
	}
	return r
}
