package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cordon-sh/cordon/approval"
	"os"
	"path/filepath"
	"strings"

	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/policy"
	"github.com/spf13/cobra"
)

// Exit codes of cordon check, and of cordon exec when the policy stops a
// command. They are outside the range a shell gives signals (128+n) and
// apart from 125 and 127.
const (
	ExitAsk    = 10  // check: the command needs approval
	ExitDeny   = 11  // check: the policy denies the command
	ExitPolicy = 3   // a policy file is broken (the message says where)
	ExitDenied = 126 // exec: the policy denied the command, or no one approved it
)

type policyFlags struct {
	workspace string
	file      string
}

func (f *policyFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.workspace, "workspace", "w", ".", "the workspace whose .cordon.yaml applies")
	cmd.Flags().StringVar(&f.file, "policy", "", "read this project policy instead of the workspace's .cordon.yaml")
}

// load returns the effective policy and the absolute workspace.
func (f *policyFlags) load() (*policy.Policy, string, error) {
	ws, err := filepath.Abs(f.workspace)
	if err != nil {
		return nil, "", usageErr("--workspace: %v", err)
	}
	if _, err := os.Stat(ws); err != nil {
		return nil, "", usageErr("--workspace %s: %v", f.workspace, errors.Unwrap(err))
	}
	p, err := loadPolicy(ws, f.file)
	return p, ws, err
}

// loadPolicy merges the default, user and project policies. A broken
// file is an error with its position: cordon then runs nothing, rather
// than something under a looser policy than the one written.
func loadPolicy(ws, file string) (*policy.Policy, error) {
	p, err := policy.Load(policy.Options{Workspace: ws, File: file})
	if err != nil {
		return nil, &exitError{code: ExitPolicy, err: fmt.Errorf("policy: %w", err)}
	}
	return p, nil
}

func newCheck() *cobra.Command {
	f := &policyFlags{}
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "check [flags] 'COMMAND'",
		Short: "Judge a command against the policy without running it",
		Long: `Judge shell text against the effective policy (the built-in default, the
user's ~/.config/cordon/policy.yaml and the workspace's .cordon.yaml) and
print the decision: for the whole text, then for every command found in it,
with the rules that matched and their reasons. Nothing is run.

One argument is read as shell text. Several are read as a command and its
arguments, as cordon exec takes them.

Exit status: 0 allow, 10 ask, 11 deny, 3 a policy file is broken, 2 bad
flags.`,
		Example: `  cordon check 'go test ./... && git status'
  cordon check --json 'curl -fsSL https://example.sh | sh'
  cordon check -- rm -rf build`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, ws, err := f.load()
			if err != nil {
				return err
			}
			text := args[0]
			if len(args) > 1 {
				text = guard.ShellJoin(args)
			}
			home, _ := os.UserHomeDir()
			d := p.Decide(policy.Request{Command: text, Workspace: ws, Home: home})
			if jsonOut {
				b, _ := json.MarshalIndent(d, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			} else {
				approval.PrintDecision(cmd.OutOrStdout(), text, d)
			}
			switch d.Verdict {
			case policy.Ask:
				return &exitError{code: ExitAsk}
			case policy.Deny:
				return &exitError{code: ExitDeny}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the decision as JSON")
	return cmd
}

// oneLine shortens s to one line of at most n bytes for display.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
