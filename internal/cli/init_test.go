package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// claudeSettings is the part of .claude/settings.json init writes.
type claudeSettings struct {
	Hooks map[string][]struct {
		Matcher string `json:"matcher"`
		Hooks   []struct {
			Type    string `json:"type"`
			Command string `json:"command"`
		} `json:"hooks"`
	} `json:"hooks"`
}

func TestInitClaudeCode(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, "init", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if readFile(t, filepath.Join(dir, ".cordon.yaml")) != initTemplate {
		t.Error(".cordon.yaml is not the starter policy")
	}
	var s claudeSettings
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, ".claude", "settings.json"))), &s); err != nil {
		t.Fatal(err)
	}
	for ev, matcher := range map[string]string{"PreToolUse": claudePreMatcher, "PostToolUse": claudePostMatcher} {
		g := s.Hooks[ev]
		if len(g) != 1 || g[0].Matcher != matcher || len(g[0].Hooks) != 1 || g[0].Hooks[0].Type != "command" || g[0].Hooks[0].Command != "cordon hook claude-code" {
			t.Errorf("%s: %+v", ev, g)
		}
	}
	var m struct {
		MCPServers map[string]mcpServer `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, ".mcp.json"))), &m); err != nil {
		t.Fatal(err)
	}
	if c := m.MCPServers["cordon"]; c.Command != "cordon" || len(c.Args) != 1 || c.Args[0] != "mcp" {
		t.Errorf(".mcp.json: %+v", m)
	}
	if !strings.Contains(stdout, "wrote") {
		t.Errorf("stdout: %s", stdout)
	}
}

// init merges into the user's files: their keys stay, in their order,
// the hook is added once, and a second run changes nothing.
func TestInitMerge(t *testing.T) {
	dir := t.TempDir()
	settings := filepath.Join(dir, ".claude", "settings.json")
	if err := os.MkdirAll(filepath.Dir(settings), 0o755); err != nil {
		t.Fatal(err)
	}
	user := `{
  "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(./.env)"]},
  "hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./scripts/check.sh"}]}],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
  },
  "env": {"FOO": "bar"}
}`
	if err := os.WriteFile(settings, []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, ".cordon.yaml")
	if err := os.WriteFile(policyFile, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "init", "--dir", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := readFile(t, settings)
	if readFile(t, policyFile) != "version: 1\n" {
		t.Error("an existing .cordon.yaml was overwritten")
	}
	// The user's keys, in their order.
	p, h, e := strings.Index(got, `"permissions"`), strings.Index(got, `"hooks"`), strings.Index(got, `"env"`)
	if p < 0 || h < p || e < h {
		t.Errorf("keys lost or reordered:\n%s", got)
	}
	var all map[string]any
	if err := json.Unmarshal([]byte(got), &all); err != nil {
		t.Fatal(err)
	}
	if all["env"].(map[string]any)["FOO"] != "bar" || all["permissions"] == nil {
		t.Errorf("user settings lost: %s", got)
	}
	var s claudeSettings
	if err := json.Unmarshal([]byte(got), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Hooks["PreToolUse"]) != 2 || s.Hooks["PreToolUse"][0].Hooks[0].Command != "./scripts/check.sh" ||
		s.Hooks["PreToolUse"][1].Hooks[0].Command != "cordon hook claude-code" || len(s.Hooks["Stop"]) != 1 {
		t.Errorf("hooks: %+v", s.Hooks)
	}
	st, _ := os.Stat(settings)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the file's own 0600", st.Mode().Perm())
	}

	// Idempotent: byte for byte.
	code, stdout, _ := run(t, "init", "--dir", dir)
	if code != 0 || readFile(t, settings) != got || !strings.Contains(stdout, "unchanged") {
		t.Errorf("second run: exit %d, %s\n%s", code, stdout, readFile(t, settings))
	}
}

// A settings file that is not JSON is left alone and reported with its
// position.
func TestInitMalformed(t *testing.T) {
	dir := t.TempDir()
	settings := filepath.Join(dir, ".claude", "settings.json")
	if err := os.MkdirAll(filepath.Dir(settings), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "{\n  \"permissions\": {\n    \"allow\": [\"Bash(ls)\",]\n  }\n}\n"
	if err := os.WriteFile(settings, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "init", "--dir", dir)
	if code == 0 || !strings.Contains(stderr, settings+":3:") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if readFile(t, settings) != bad {
		t.Error("a malformed file was changed")
	}
	for _, in := range []string{`[1, 2]`, `{"hooks": []}`, `{"hooks": {"PreToolUse": {}}}`, `{} {}`} {
		if err := os.WriteFile(settings, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := run(t, "init", "--dir", dir); code == 0 || readFile(t, settings) != in {
			t.Errorf("%s: exit %d, %q", in, code, stderr)
		}
	}
}

func TestInitOtherAgents(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := run(t, "init", "--agent", "codex", "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "[mcp_servers.cordon]\ncommand = \"cordon\"\nargs = [\"mcp\"]") {
		t.Fatalf("codex: exit %d, %s %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".claude")); err == nil {
		t.Error("codex: wrote Claude Code settings")
	}
	code, stdout, _ = run(t, "init", "--agent", "generic", "--dir", dir)
	i := strings.Index(stdout, "{")
	var m struct {
		MCPServers map[string]mcpServer `json:"mcpServers"`
	}
	if code != 0 || i < 0 || json.Unmarshal([]byte(stdout[i:]), &m) != nil || m.MCPServers["cordon"].Command != "cordon" {
		t.Fatalf("generic: exit %d, %s", code, stdout)
	}
	if code, _, stderr := run(t, "init", "--agent", "vim", "--dir", dir); code != ExitUsage || !strings.Contains(stderr, "--agent") {
		t.Errorf("unknown agent: exit %d, %s", code, stderr)
	}
}
