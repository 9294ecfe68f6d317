package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/verify"
)

// hookEnv is a workspace and a home directory of the test's own, with a
// credential store, a git hooks directory and a user policy that allows
// one host.
type hookEnv struct{ ws, home string }

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := &hookEnv{ws: workspace(t), home: workspace(t)}
	t.Setenv("HOME", e.home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(e.home, ".config"))
	t.Setenv("CLAUDE_PROJECT_DIR", "")
	e.write(t, filepath.Join(e.ws, "main.go"), "package main\n")
	e.write(t, filepath.Join(e.ws, ".git", "hooks", "pre-commit.sample"), "#!/bin/sh\n")
	e.write(t, filepath.Join(e.home, ".ssh", "id_rsa"), "not a key, a stand-in\n")
	e.write(t, filepath.Join(e.home, ".config", "cordon", "policy.yaml"),
		"version: 1\nnetwork:\n  allow: [docs.example.com]\n  deny: [paste.example.net]\n")
	// A link in the workspace to the key: Read must judge where it leads.
	if err := os.MkdirAll(filepath.Join(e.ws, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(e.home, ".ssh", "id_rsa"), filepath.Join(e.ws, "docs", "notes.txt")); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *hookEnv) write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fixture returns a hook event from testdata/hooks with the test's
// directories in place of @WORKSPACE@ and @HOME@.
func (e *hookEnv) fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("@WORKSPACE@", e.ws, "@HOME@", e.home).Replace(string(b))
}

func runHook(t *testing.T, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"hook", "claude-code"}, args...), strings.NewReader(input), &out, &errb)
	return code, out.String(), errb.String()
}

// preAnswer decodes a PreToolUse answer and checks its documented shape.
func preAnswer(t *testing.T, stdout string) claudeHookOutput {
	t.Helper()
	var a struct {
		HookSpecificOutput *claudeHookOutput `json:"hookSpecificOutput"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.HookSpecificOutput == nil {
		t.Fatalf("answer %q: %v", stdout, err)
	}
	if a.HookSpecificOutput.HookEventName != "PreToolUse" {
		t.Errorf("hookEventName %q", a.HookSpecificOutput.HookEventName)
	}
	return *a.HookSpecificOutput
}

func TestHookPreToolUse(t *testing.T) {
	e := newHookEnv(t)
	tests := []struct {
		fixture  string
		decision string
		rule     string // the reason names this rule
	}{
		{"pre-bash-allowed.json", "allow", "rule "},
		{"pre-bash-rm-home.json", "deny", "delete-outside-workspace"},
		{"pre-bash-curl-sh.json", "deny", "download-execute"},
		{"pre-bash-ask.json", "ask", "network-install"},
		{"pre-read-ssh-key.json", "deny", "rule masked"},
		{"pre-read-workspace.json", "allow", "rule path"},
		{"pre-read-symlink.json", "deny", "rule masked"},
		{"pre-write-git-hook.json", "deny", "rule protected"},
		{"pre-edit-workspace.json", "allow", "rule path"},
		{"pre-edit-outside.json", "ask", "rule outside-workspace"},
		{"pre-webfetch-allowed.json", "allow", "rule network-allow"},
		{"pre-webfetch-denied.json", "deny", "rule network-deny"},
		{"pre-webfetch-metadata.json", "deny", "rule network-private"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			code, stdout, stderr := runHook(t, e.fixture(t, tt.fixture))
			if code != 0 {
				t.Fatalf("exit %d; stderr %s", code, stderr)
			}
			a := preAnswer(t, stdout)
			if a.PermissionDecision != tt.decision || !strings.Contains(a.PermissionDecisionReason, tt.rule) {
				t.Errorf("got %s (%s), want %s naming %q", a.PermissionDecision, a.PermissionDecisionReason, tt.decision, tt.rule)
			}
		})
	}
}

// Input that cannot be read blocks the call the one way Claude Code
// honours for every event: exit status 2 with the reason on stderr.
func TestHookMalformed(t *testing.T) {
	e := newHookEnv(t)
	for name, input := range map[string]string{
		"truncated":  e.fixture(t, "malformed.json"),
		"empty":      "",
		"not object": `["PreToolUse"]`,
		"no event":   `{"tool_name": "Bash", "tool_input": {"command": "ls"}}`,
		"no tool":    `{"hook_event_name": "PreToolUse", "tool_input": {"command": "ls"}}`,
		"wrong type": `{"hook_event_name": "PreToolUse", "tool_name": 7}`,
	} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runHook(t, input)
			if code != ExitHookBlock || stdout != "" || !strings.Contains(stderr, "blocked") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
		})
	}
	_, _, stderr := runHook(t, e.fixture(t, "malformed.json"))
	if !strings.Contains(stderr, "7:1") {
		t.Errorf("no position in %q", stderr)
	}
}

// A known tool whose input lacks what cordon judges is denied, with a
// JSON answer: the event is known, so the reason can reach the model.
func TestHookBadToolInput(t *testing.T) {
	e := newHookEnv(t)
	for name, ti := range map[string]string{
		"Bash":     `{}`,
		"Read":     `{"offset": 3}`,
		"Write":    `null`,
		"WebFetch": `{"url": "file:///etc/passwd"}`,
		"Edit":     `{"file_path": ""}`,
	} {
		in := `{"hook_event_name": "PreToolUse", "cwd": "` + e.ws + `", "tool_name": "` + name + `", "tool_input": ` + ti + `}`
		code, stdout, stderr := runHook(t, in)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if a := preAnswer(t, stdout); a.PermissionDecision != "deny" {
			t.Errorf("%s %s: %+v", name, ti, a)
		}
	}
}

// Glob with an absolute pattern lists where the pattern points.
func TestHookGlobPattern(t *testing.T) {
	e := newHookEnv(t)
	for pattern, want := range map[string]string{
		e.home + "/.ssh/*": "deny", "~/.ssh/id_*": "deny", "**/*.go": "allow", e.ws + "/**/*.go": "allow",
	} {
		in, _ := json.Marshal(map[string]any{"hook_event_name": "PreToolUse", "cwd": e.ws, "tool_name": "Glob",
			"tool_input": map[string]any{"pattern": pattern}})
		_, stdout, stderr := runHook(t, string(in))
		if stdout == "" {
			t.Fatalf("%s: no answer; %s", pattern, stderr)
		}
		if a := preAnswer(t, stdout); a.PermissionDecision != want {
			t.Errorf("%s: %+v, want %s", pattern, a, want)
		}
	}
}

// Tools cordon does not judge, and events it does not handle, get no
// answer: Claude Code's own permission flow decides.
func TestHookPassThrough(t *testing.T) {
	e := newHookEnv(t)
	code, stdout, stderr := runHook(t, e.fixture(t, "pre-mcp-tool.json"))
	if code != 0 || stdout != "" {
		t.Fatalf("MCP tool: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, _ = runHook(t, `{"session_id": "abc123", "hook_event_name": "Stop", "stop_hook_active": false}`)
	if code != 0 || stdout != "" {
		t.Fatalf("Stop: exit %d, stdout %q", code, stdout)
	}
}

// A broken project policy denies everything rather than fall back.
func TestHookBrokenPolicy(t *testing.T) {
	e := newHookEnv(t)
	e.write(t, filepath.Join(e.ws, ".cordon.yaml"), "version: 1\ncommands: [nonsense\n")
	code, stdout, stderr := runHook(t, e.fixture(t, "pre-bash-allowed.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if a := preAnswer(t, stdout); a.PermissionDecision != "deny" || !strings.Contains(a.PermissionDecisionReason, "policy") {
		t.Fatalf("%+v", a)
	}
}

// Without network lists in the policy, WebFetch goes to Claude Code's
// prompt, but a private address is still refused.
func TestHookWebFetchNoList(t *testing.T) {
	e := newHookEnv(t)
	os.Remove(filepath.Join(e.home, ".config", "cordon", "policy.yaml"))
	_, stdout, _ := runHook(t, e.fixture(t, "pre-webfetch-allowed.json"))
	if a := preAnswer(t, stdout); a.PermissionDecision != "ask" {
		t.Errorf("no list: %+v", a)
	}
	_, stdout, _ = runHook(t, e.fixture(t, "pre-webfetch-metadata.json"))
	if a := preAnswer(t, stdout); a.PermissionDecision != "deny" {
		t.Errorf("metadata: %+v", a)
	}
}

// The workspace comes from CLAUDE_PROJECT_DIR when set: a cwd elsewhere
// does not make the project's files "outside".
func TestHookProjectDir(t *testing.T) {
	e := newHookEnv(t)
	t.Setenv("CLAUDE_PROJECT_DIR", e.ws)
	in := strings.Replace(e.fixture(t, "pre-write-git-hook.json"), `"cwd": "`+e.ws+`"`, `"cwd": "`+e.home+`"`, 1)
	_, stdout, _ := runHook(t, in)
	if a := preAnswer(t, stdout); a.PermissionDecision != "deny" || !strings.Contains(a.PermissionDecisionReason, "protected") {
		t.Fatalf("%+v", a)
	}
}

// fakeSecret is a detector for tests: it reports FAKESECRET- and eight
// digits as a high-severity secret.
type fakeSecret struct{}

var fakeSecretRE = regexp.MustCompile(`FAKESECRET-[0-9]{8}`)

func (fakeSecret) Window() int { return 32 }

func (fakeSecret) Scan(dst []verify.Match, buf []byte, from int, final bool) []verify.Match {
	for _, loc := range fakeSecretRE.FindAllIndex(buf[from:], -1) {
		dst = append(dst, verify.Match{Start: from + loc[0], End: from + loc[1], Replace: []byte("[REDACTED:test-secret]"),
			Priority: verify.PrioritySecret, Finding: &verify.Finding{Kind: verify.KindSecret, Rule: "test-secret",
				Severity: verify.SeverityHigh, Message: "a test token", Action: verify.ActionRedacted}})
	}
	return dst
}

func TestHookPostToolUse(t *testing.T) {
	e := newHookEnv(t)
	saved := postDetectors
	postDetectors = func() []verify.Detector { return []verify.Detector{fakeSecret{}} }
	t.Cleanup(func() { postDetectors = saved })

	code, stdout, stderr := runHook(t, e.fixture(t, "post-bash-secret.json"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var a struct {
		Decision           string `json:"decision"`
		Reason             string `json:"reason"`
		HookSpecificOutput struct {
			HookEventName     string `json:"hookEventName"`
			AdditionalContext string `json:"additionalContext"`
		} `json:"hookSpecificOutput"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("answer %q: %v", stdout, err)
	}
	if a.Decision != "block" || a.HookSpecificOutput.HookEventName != "PostToolUse" {
		t.Errorf("answer %+v", a)
	}
	for _, s := range []string{a.Reason, a.HookSpecificOutput.AdditionalContext} {
		if !strings.Contains(s, "test-secret") || !strings.Contains(s, "high") {
			t.Errorf("reason does not name the rule and severity: %q", s)
		}
	}
	if strings.Contains(stdout+stderr, "31415926") {
		t.Fatalf("the answer repeats the secret: %s", stdout)
	}

	code, stdout, _ = runHook(t, e.fixture(t, "post-bash-clean.json"))
	if code != 0 || stdout != "" {
		t.Fatalf("clean output: exit %d, %q", code, stdout)
	}
}

// The built binary works as a hook: the event on stdin, the answer on
// stdout, exit status 0; unreadable input exits 2.
func TestHookBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cordon")
	}
	// Built before newHookEnv moves HOME, which holds Go's caches.
	bin := cordonBinary(t)
	e := newHookEnv(t)
	hook := func(input string) (int, string, string) {
		cmd := exec.Command(bin, "hook", "claude-code")
		cmd.Stdin = strings.NewReader(input)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}
	for fixture, want := range map[string]string{
		"pre-bash-allowed.json": "allow", "pre-bash-rm-home.json": "deny",
		"pre-bash-ask.json": "ask", "pre-read-symlink.json": "deny",
	} {
		code, stdout, stderr := hook(e.fixture(t, fixture))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", fixture, code, stderr)
		}
		if a := preAnswer(t, stdout); a.PermissionDecision != want {
			t.Errorf("%s: %+v, want %s", fixture, a, want)
		}
	}
	code, stdout, stderr := hook(e.fixture(t, "malformed.json"))
	if code != 2 || stdout != "" || !strings.Contains(stderr, "blocked") {
		t.Errorf("malformed: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// Every judgement is recorded in the audit log; a log that cannot be
// written blocks the call.
func TestHookAudit(t *testing.T) {
	e := newHookEnv(t)
	log := filepath.Join(t.TempDir(), "audit.jsonl")
	code, stdout, stderr := runHook(t, e.fixture(t, "pre-bash-rm-home.json"), "--audit-log", log)
	if code != 0 || preAnswer(t, stdout).PermissionDecision != "deny" {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.ParseRecord(bytes.TrimSpace(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.Agent != "claude-code" || r.Decision == nil || r.Decision.Verdict != "deny" || r.Decision.Rule != "delete-outside-workspace" || !strings.Contains(r.Command, "rm -rf") {
		t.Fatalf("record %+v", r)
	}
	// A log in a directory that is a file cannot be opened.
	bad := filepath.Join(e.ws, "main.go", "audit.jsonl")
	code, stdout, _ = runHook(t, e.fixture(t, "pre-bash-allowed.json"), "--audit-log", bad)
	if code != ExitHookBlock || stdout != "" {
		t.Fatalf("unwritable log: exit %d, answer %q", code, stdout)
	}
}

// A progress bar's carriage returns are recorded, not put before the model.
func TestHookPostLowFindings(t *testing.T) {
	newHookEnv(t)
	log := filepath.Join(t.TempDir(), "audit.jsonl")
	event := `{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"npm ci"},"tool_response":{"stdout":"fetching 10%\r fetching 90%\rdone\n"}}`
	code, stdout, stderr := runHook(t, event, "--audit-log", log)
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, answer %q, stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.ParseRecord(bytes.TrimSpace(data))
	if err != nil || len(r.Findings) == 0 || r.Findings[0].Kind != verify.KindTerminal {
		t.Fatalf("record %+v, %v", r, err)
	}
}
