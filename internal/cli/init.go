package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cordon-sh/cordon/policy"
	"github.com/spf13/cobra"
)

// The tools the Claude Code hooks are registered for: those cordon judges
// before they run, and those whose output it checks after.
const (
	claudePreMatcher  = "Bash|Read|Edit|MultiEdit|Write|NotebookEdit|Grep|Glob|WebFetch"
	claudePostMatcher = "Bash|Read|Grep|WebFetch|mcp__.*"
)

func newInit() *cobra.Command {
	var agent, dir, bin string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set a project up for cordon and an agent",
		Long: `Set the project in --dir up for cordon and an agent:

  .cordon.yaml           a commented starter policy (as cordon policy init)
  .claude/settings.json  the PreToolUse and PostToolUse hooks (claude-code)
  .mcp.json              the cordon MCP server entry (claude-code)

Existing files are merged into, never replaced: the keys already in
.claude/settings.json and .mcp.json stay, and what is there already is not
added twice, so init can run again. A file that is not valid JSON is left
alone and reported with its line and column.

For codex and generic, init prints the MCP server entry to add to the
client's own configuration (~/.codex/config.toml for Codex): init writes
nothing outside the project.`,
		Example: `  cordon init
  cordon init --agent codex
  cordon init --agent generic --dir ~/src/app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch agent {
			case "claude-code", "codex", "generic":
			default:
				return usageErr("--agent %q: expected claude-code, codex or generic", agent)
			}
			st, err := os.Stat(dir)
			if err != nil {
				return usageErr("--dir %s: %v", dir, errors.Unwrap(err))
			}
			if !st.IsDir() {
				return usageErr("--dir %s: not a directory", dir)
			}
			return runInit(cmd.OutOrStdout(), agent, dir, bin)
		},
	}
	cmd.Flags().StringVar(&agent, "agent", "claude-code", "the agent: claude-code, codex or generic")
	cmd.Flags().StringVar(&dir, "dir", ".", "the project directory")
	cmd.Flags().StringVar(&bin, "cordon", "cordon", "how the agent runs cordon: a name on its PATH or an absolute path")
	return cmd
}

func runInit(out io.Writer, agent, dir, bin string) error {
	fail := func(err error) error { return &exitError{code: 1, err: err} }
	name := filepath.Join(dir, policy.ProjectFile)
	switch err := writeNew(name, []byte(initTemplate)); {
	case errors.Is(err, fs.ErrExist):
		fmt.Fprintf(out, "%s exists; left as it is\n", name)
	case err != nil:
		return fail(err)
	default:
		fmt.Fprintf(out, "wrote %s\n", name)
	}
	mcpEntry := mcpServer{Command: bin, Args: []string{"mcp"}}
	switch agent {
	case "claude-code":
		hook := bin + " hook claude-code"
		name := filepath.Join(dir, ".claude", "settings.json")
		changed, err := mergeFile(name, func(o *jsonObject) (bool, error) { return addClaudeHooks(o, hook) })
		if err != nil {
			return fail(err)
		}
		report(out, name, changed)
		name = filepath.Join(dir, ".mcp.json")
		changed, err = mergeFile(name, func(o *jsonObject) (bool, error) {
			return addMCPServer(o, "mcpServers", "cordon", mcpEntry, out, name)
		})
		if err != nil {
			return fail(err)
		}
		report(out, name, changed)
	case "codex":
		fmt.Fprintf(out, "\nAdd cordon's MCP server to ~/.codex/config.toml:\n\n[mcp_servers.cordon]\ncommand = %s\nargs = [\"mcp\"]\n", tomlString(bin))
	case "generic":
		b, _ := json.MarshalIndent(map[string]any{"mcpServers": map[string]any{"cordon": mcpEntry}}, "", "  ")
		fmt.Fprintf(out, "\nAdd cordon's MCP server to the client's configuration (stdio):\n\n%s\n", b)
	}
	return nil
}

func report(out io.Writer, name string, changed bool) {
	if changed {
		fmt.Fprintf(out, "updated %s\n", name)
	} else {
		fmt.Fprintf(out, "%s already set up; unchanged\n", name)
	}
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	b, _ := json.Marshal(s) // JSON's escapes are valid in TOML basic strings
	return string(b)
}

// writeNew creates name with data; an existing file is an fs.ErrExist.
func writeNew(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mergeFile reads the JSON object in name (an empty object when the file
// does not exist), lets edit change it, and writes it back when edit
// reports a change. The file is replaced by renaming, so that a reader
// never sees half of it.
func mergeFile(name string, edit func(*jsonObject) (bool, error)) (bool, error) {
	data, err := os.ReadFile(name)
	mode := fs.FileMode(0o644)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = []byte("{}")
	case err != nil:
		return false, err
	default:
		if st, err := os.Stat(name); err == nil {
			mode = st.Mode().Perm()
		}
	}
	o, err := parseObject(data)
	if err != nil {
		return false, fmt.Errorf("%s:%s; fix or move the file and run init again", name, err)
	}
	changed, err := edit(o)
	if err != nil {
		return false, fmt.Errorf("%s: %w; fix or move the file and run init again", name, err)
	}
	if !changed {
		return false, nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, o.marshal(), "", "  "); err != nil {
		return false, err
	}
	buf.WriteByte('\n')
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), name)
}

// addClaudeHooks adds cordon's PreToolUse and PostToolUse hooks to a
// Claude Code settings object, unless a hook with the same command is in
// the event already.
func addClaudeHooks(settings *jsonObject, command string) (bool, error) {
	hooks, err := settings.object("hooks")
	if err != nil {
		return false, err
	}
	changed := false
	for _, ev := range []struct{ name, matcher string }{{"PreToolUse", claudePreMatcher}, {"PostToolUse", claudePostMatcher}} {
		var groups []json.RawMessage
		if raw, ok := hooks.get(ev.name); ok {
			if err := json.Unmarshal(raw, &groups); err != nil {
				return false, fmt.Errorf("hooks.%s is not a list", ev.name)
			}
		}
		if slices.ContainsFunc(groups, func(g json.RawMessage) bool { return groupHasCommand(g, command) }) {
			continue
		}
		type hook struct {
			Type    string `json:"type"`
			Command string `json:"command"`
		}
		entry, _ := json.Marshal(struct {
			Matcher string `json:"matcher"`
			Hooks   []hook `json:"hooks"`
		}{ev.matcher, []hook{{"command", command}}})
		groups = append(groups, entry)
		b, _ := json.Marshal(groups)
		hooks.set(ev.name, b)
		changed = true
	}
	if changed {
		settings.set("hooks", hooks.marshal())
	}
	return changed, nil
}

// groupHasCommand reports whether a matcher group of Claude Code hooks
// runs command.
func groupHasCommand(g json.RawMessage, command string) bool {
	var group struct {
		Hooks []struct {
			Command string `json:"command"`
		} `json:"hooks"`
	}
	if json.Unmarshal(g, &group) != nil {
		return false
	}
	return slices.ContainsFunc(group.Hooks, func(h struct {
		Command string `json:"command"`
	}) bool {
		return h.Command == command
	})
}

// mcpServer is a stdio MCP server entry, as Claude Code's .mcp.json and
// other clients write it.
type mcpServer struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// addMCPServer adds the server entry under obj[list][name]. An entry of
// that name that differs is left alone, with a note: it is the user's.
func addMCPServer(obj *jsonObject, list, name string, entry mcpServer, out io.Writer, file string) (bool, error) {
	servers, err := obj.object(list)
	if err != nil {
		return false, err
	}
	want, _ := json.Marshal(entry)
	if have, ok := servers.get(name); ok {
		var a, b any
		_ = json.Unmarshal(have, &a)
		_ = json.Unmarshal(want, &b)
		if !jsonEqual(a, b) {
			fmt.Fprintf(out, "%s: %s.%s is set to something else; left as it is\n", file, list, name)
		}
		return false, nil
	}
	servers.set(name, want)
	obj.set(list, servers.marshal())
	return true, nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// jsonObject is a JSON object that keeps its keys in the order they were
// written, so that the files init merges into keep their layout.
type jsonObject struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseObject reads one JSON object; errors say where, as line:col.
func parseObject(data []byte) (*jsonObject, error) {
	o := &jsonObject{vals: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	at := func(err error) error { return errors.New(jsonErrorAt(data, err)) }
	tok, err := dec.Token()
	if err != nil {
		return nil, at(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		line, col := lineCol(data, dec.InputOffset()-1)
		return nil, fmt.Errorf("%d:%d: expected a JSON object", line, col)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, at(err)
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, at(err)
		}
		o.set(k, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, at(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := lineCol(data, dec.InputOffset())
		return nil, fmt.Errorf("%d:%d: data after the JSON object", line, col)
	}
	return o, nil
}

func (o *jsonObject) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *jsonObject) set(k string, v json.RawMessage) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// object returns the object under k, an empty one when k is not set.
func (o *jsonObject) object(k string) (*jsonObject, error) {
	raw, ok := o.get(k)
	if !ok {
		return &jsonObject{vals: map[string]json.RawMessage{}}, nil
	}
	sub, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a JSON object", k)
	}
	return sub, nil
}

func (o *jsonObject) marshal() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}
