package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cordon-sh/cordon/policy"
	"github.com/spf13/cobra"
)

func newPolicy() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Write, check and explain the command policy",
		Long: `The policy decides which commands run without asking, which need approval and
which are refused, and sets the sandbox's paths, limits and environment.
It is merged from the built-in default, ~/.config/cordon/policy.yaml and the
workspace's .cordon.yaml; see docs/policy.md.`,
	}
	cmd.AddCommand(newPolicyInit(), newPolicyValidate(), newPolicyExplain())
	return cmd
}

// initTemplate is the starting point cordon policy init writes. Every
// setting in it is commented out, so that it changes nothing until
// edited, and it parses as it is.
const initTemplate = `# cordon project policy. It is merged over the built-in default and your
# ~/.config/cordon/policy.yaml, and can only make them stricter: add rules,
# hide or protect more paths, lower limits. See docs/policy.md, and
# "cordon policy explain" for the effective policy.
version: 1

commands:
  # Each rule matches commands (every matcher given must match) and says
  # allow, ask or deny; the strictest rule that matches wins.
  # - id: no-force-push
  #   program: git
  #   args: [push]
  #   any_arg: ["--force", "-f", "--force-with-lease"]
  #   decision: deny
  #   reason: force pushes rewrite shared history
  #
  # - id: deploy-needs-approval
  #   program_path: [scripts/deploy.sh]
  #   decision: ask
  #   reason: deploys to production

# filesystem:
#   masked: [~/.config/my-app]      # more host paths to hide
#   protected: [deploy, .github]    # more workspace paths kept read-only

# limits:
#   memory: 2G
#   pids: 512
#   timeout: 5m

# require: [landlock, seccomp]      # refuse to run without these
`

func newPolicyInit() *cobra.Command {
	var ws string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented .cordon.yaml to start from",
		Long:  `Write a commented .cordon.yaml in the workspace. An existing file is never overwritten.`,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name := filepath.Join(ws, policy.ProjectFile)
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return &exitError{code: 1, err: fmt.Errorf("%s exists; not overwriting it", name)}
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if _, err := f.WriteString(initTemplate); err != nil {
				f.Close()
				return &exitError{code: 1, err: err}
			}
			if err := f.Close(); err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&ws, "workspace", "w", ".", "the workspace to write .cordon.yaml in")
	return cmd
}

func newPolicyValidate() *cobra.Command {
	f := &policyFlags{}
	cmd := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check policy files and report every mistake with its line and column",
		Long: `Check FILE, or without it the effective policy of the workspace: the user's
~/.config/cordon/policy.yaml and the workspace's .cordon.yaml, merged over the
built-in default, so that a project file that tries to loosen them is
reported too. Exits 0 when valid, 3 otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				p, err := policy.ParseFile(args[0], policy.LayerUser)
				if err != nil {
					return &exitError{code: ExitPolicy, err: err}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: valid, %d rules\n", args[0], len(p.Commands))
				return nil
			}
			p, _, err := f.load()
			if err != nil {
				return err
			}
			for _, s := range p.Files {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s)\n", s.File, s.Layer)
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func newPolicyExplain() *cobra.Command {
	f := &policyFlags{}
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Print the effective policy and where each rule came from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := f.load()
			if err != nil {
				return err
			}
			if jsonOut {
				b, _ := json.MarshalIndent(p, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			printPolicy(cmd.OutOrStdout(), p)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the policy as JSON")
	return cmd
}

func printPolicy(w io.Writer, p *policy.Policy) {
	fmt.Fprintln(w, "files, each merged over the ones before:")
	for _, s := range p.Files {
		fmt.Fprintf(w, "  %-8s %s\n", s.Layer, s.File)
	}
	fmt.Fprintf(w, "\nrules (the strictest that matches wins; a program no rule names is asked about):\n")
	for _, r := range p.Commands {
		fmt.Fprintf(w, "  %-5s %-26s %s\n", r.Decision, r.ID, r.Reason)
		fmt.Fprintf(w, "        %s\n", matchers(r))
		fmt.Fprintf(w, "        from %s\n", r.Source)
	}
	list := func(name string, l []string) {
		if len(l) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", name, strings.Join(l, ", "))
		}
	}
	fmt.Fprintln(w, "\nsandbox (added to cordon's defaults; see cordon exec --help):")
	list("read_only_roots", p.Filesystem.ReadOnlyRoots)
	list("writable", p.Filesystem.Writable)
	list("masked", p.Filesystem.Masked)
	list("protected", p.Filesystem.Protected)
	mode := p.Network.Mode
	if mode == "" {
		mode = "none"
	}
	fmt.Fprintf(w, "  network: %s\n", mode)
	list("network allow", p.Network.Allow)
	list("network deny", p.Network.Deny)
	l := p.Limits
	var lims []string
	add := func(name string, set bool, v string) {
		if set {
			lims = append(lims, name+" "+v)
		}
	}
	add("memory", l.Memory > 0, policy.FormatSize(l.Memory))
	add("pids", l.Pids > 0, fmt.Sprint(l.Pids))
	add("cpu_time", l.CPUTime > 0, l.CPUTime.String())
	add("timeout", l.Timeout > 0, l.Timeout.String())
	add("output", l.Output > 0, policy.FormatSize(l.Output))
	add("file_size", l.FileSize > 0, policy.FormatSize(l.FileSize))
	add("open_files", l.OpenFiles > 0, fmt.Sprint(l.OpenFiles))
	add("disk", l.Disk > 0, policy.FormatSize(l.Disk))
	add("disk_reserve", l.DiskReserve > 0, policy.FormatSize(l.DiskReserve))
	if len(lims) == 0 {
		lims = []string{"cordon's defaults"}
	}
	fmt.Fprintf(w, "  limits: %s\n", strings.Join(lims, ", "))
	list("env allow", p.Env.Allow)
	for k, v := range p.Env.Set {
		fmt.Fprintf(w, "  env set: %s=%s\n", k, v)
	}
	var req []string
	for _, r := range p.Require {
		req = append(req, string(r))
	}
	list("require", req)
}

// matchers summarises what a rule matches, in the file's own terms.
func matchers(r *policy.Rule) string {
	var parts []string
	add := func(name string, l []string) {
		if len(l) > 0 {
			s := strings.Join(l, " ")
			parts = append(parts, name+": "+oneLine(s, 80))
		}
	}
	add("program", r.Program)
	add("program_path", r.ProgramPath)
	add("args", r.Args)
	add("any_arg", r.AnyArg)
	if r.ArgsMatch != "" {
		parts = append(parts, "args_match: "+oneLine(r.ArgsMatch, 80))
	}
	add("path", r.Path)
	add("dest", r.Dest)
	add("write", r.Write)
	add("read", r.Read)
	add("via", r.Via)
	add("code_exec", r.CodeExec)
	if r.Dynamic != nil {
		parts = append(parts, fmt.Sprintf("dynamic: %v", *r.Dynamic))
	}
	add("assigns", r.Assigns)
	add("with_program", r.WithProgram)
	return strings.Join(parts, "; ")
}
