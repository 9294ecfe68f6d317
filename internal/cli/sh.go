package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// newSh is `cordon sh -c TEXT [NAME [ARG...]]`: a stand-in for `sh -c`
// that takes shell text the way an agent hands it to a shell, and runs it
// through the same pipeline as exec (judged by the policy, run in the
// sandbox with the current directory as the workspace, recorded). It takes
// no cordon flags, since callers treat it as a shell; CORDON_WORKSPACE,
// CORDON_APPROVE and CORDON_AGENT configure it.
func newSh() *cobra.Command {
	return &cobra.Command{
		Use:   "sh -c COMMAND [NAME [ARG...]]",
		Short: "Run shell text like sh -c, through the policy and the sandbox",
		Long: `cordon sh -c 'COMMAND' behaves like sh -c for its caller: the same
arguments, streams and exit status. The text is judged by the policy and
runs in the sandbox with the current directory as the workspace, as
cordon exec -- sh -c 'COMMAND' would. Shell options before -c (-e, -x,
-u, and -l, which is ignored) are passed on.

Set CORDON_WORKSPACE to choose the workspace, CORDON_APPROVE=allow to run
commands the policy asks about without a terminal, CORDON_AGENT to name
the agent in the audit record. With CORDON_SESSION set to the id of a
session (cordon session start), the text runs in that session instead of
a sandbox of its own, from the current directory.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, text, rest, err := parseShArgs(args)
			if err != nil {
				return usageErr("%v", err)
			}
			f := &execFlags{}
			exec := newExecWith(f)
			exec.SetIn(cmd.InOrStdin())
			exec.SetOut(cmd.OutOrStdout())
			exec.SetErr(cmd.ErrOrStderr())
			exec.SetContext(cmd.Context())
			if ws := os.Getenv("CORDON_WORKSPACE"); ws != "" {
				f.workspace = ws
			}
			if a := os.Getenv("CORDON_APPROVE"); a != "" {
				f.approve = a
			}
			argv := append([]string{"sh"}, opts...)
			argv = append(argv, "-c", text)
			argv = append(argv, rest...)
			if id := os.Getenv("CORDON_SESSION"); id != "" {
				// In a session: the sandbox is up already; the command runs
				// in it, from this directory, with these streams.
				cwd, err := os.Getwd()
				if err != nil {
					return &exitError{code: ExitCordon, err: err}
				}
				return sessionRun(sessionMsg{Op: "run", Argv: argv, Dir: cwd}, id)
			}
			return runExec(exec, f, argv)
		},
	}
}

// parseShArgs splits sh's command line: options, -c, the text, and the
// $0 and positional arguments that follow it.
func parseShArgs(args []string) (opts []string, text string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || len(a) < 2 {
			break
		}
		letters := a[1:]
		if !strings.ContainsRune(letters, 'c') {
			if err := shOptions(letters); err != nil {
				return nil, "", nil, err
			}
			if letters != "l" {
				opts = append(opts, a)
			}
			continue
		}
		others := strings.ReplaceAll(strings.ReplaceAll(letters, "c", ""), "l", "")
		if err := shOptions(others); err != nil {
			return nil, "", nil, err
		}
		if others != "" {
			opts = append(opts, "-"+others)
		}
		if i+1 >= len(args) {
			return nil, "", nil, fmt.Errorf("-c: expected the command text")
		}
		return opts, args[i+1], args[i+2:], nil
	}
	return nil, "", nil, fmt.Errorf("expected sh -c COMMAND (cordon sh runs shell text only, not scripts or an interactive shell)")
}

// shOptions accepts the sh options that are safe to pass on.
func shOptions(letters string) error {
	for _, r := range letters {
		if !strings.ContainsRune("exulv", r) {
			return fmt.Errorf("sh option -%c is not supported", r)
		}
	}
	return nil
}
