package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox/linux"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMain(m *testing.M) {
	linux.Init()
	os.Exit(m.Run())
}

// testEnv is a workspace and a home of the test's own: a fake private key
// where the default policy masks one, a .git with hooks, and a directory
// outside both that nothing may write to.
type testEnv struct {
	ws, home, outside, logPath string
	guard                      *guard.Guard
}

// realHome is the user's home before the tests replace $HOME.
var realHome, _ = os.UserHomeDir()

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	e := &testEnv{home: t.TempDir(), ws: t.TempDir(), outside: t.TempDir()}
	t.Setenv("HOME", e.home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(e.home, ".cache"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(e.home, ".config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(e.home, ".local", "state"))
	for _, d := range []string{filepath.Join(e.home, ".ssh"), filepath.Join(e.ws, ".git", "hooks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(e.home, ".ssh", "id_rsa"), "FAKE PRIVATE KEY\n")
	write(t, filepath.Join(e.ws, "main.go"), "package main\n\nfunc main() {}\n")
	pol, err := policy.Load(policy.Options{Workspace: e.ws})
	if err != nil {
		t.Fatal(err)
	}
	e.logPath = filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(e.logPath, audit.Options{Sync: audit.SyncBehind})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	e.guard = &guard.Guard{Policy: pol, Backend: linux.Backend{}, Audit: l, Home: e.home}
	return e
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// connect serves a new server for e over an in-memory transport and
// returns a client session on it.
func (e *testEnv) connect(t testing.TB, opts *sdk.ClientOptions) *sdk.ClientSession {
	t.Helper()
	srv := New(e.guard, Options{Workspace: e.ws})
	st, ct := sdk.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test-client", Version: "1"}, opts).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and decodes its structured result into out.
func call(t testing.TB, cs *sdk.ClientSession, name string, args map[string]any, out any) *sdk.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, b, err)
	}
	return res
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestListTools(t *testing.T) {
	e := newEnv(t)
	cs := e.connect(t, nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tools := map[string]*sdk.Tool{}
	for _, tool := range res.Tools {
		tools[tool.Name] = tool
	}
	for _, c := range []struct {
		name                              string
		readOnly, destructive, idempotent bool
	}{
		{"run_command", false, true, false},
		{"read_file", true, false, false},
		{"list_directory", true, false, false},
		{"write_file", false, true, true},
		{"apply_patch", false, true, false},
	} {
		tool := tools[c.name]
		if tool == nil {
			t.Fatalf("no tool %s in %v", c.name, res.Tools)
		}
		a := tool.Annotations
		destructive := a.DestructiveHint == nil || *a.DestructiveHint // the protocol's default is true
		if a.ReadOnlyHint != c.readOnly || (!c.readOnly && destructive != c.destructive) || a.IdempotentHint != c.idempotent {
			t.Errorf("%s: annotations %+v", c.name, a)
		}
		if c.name != "run_command" && (a.OpenWorldHint == nil || *a.OpenWorldHint) {
			t.Errorf("%s: open world", c.name)
		}
		if tool.OutputSchema == nil {
			t.Errorf("%s: no output schema", c.name)
		}
	}
	// The default policy lets nothing reach the network.
	if ow := tools["run_command"].Annotations.OpenWorldHint; ow == nil || *ow {
		t.Errorf("run_command open world under a no-network policy")
	}
}

func TestRunCommand(t *testing.T) {
	e := newEnv(t)
	cs := e.connect(t, nil)
	var out RunResult
	res := call(t, cs, "run_command", map[string]any{"command": "echo hi; echo err >&2; exit 3"}, &out)
	if res.IsError || out.ExitCode == nil || *out.ExitCode != 3 || out.Stdout != "hi\n" || out.Stderr != "err\n" {
		t.Fatalf("echo: %+v %q", out, text(res))
	}
	if out.Decision == nil || out.Decision.Verdict != "allow" || !strings.HasPrefix(text(res), "exit status 3\nhi\n") {
		t.Fatalf("echo: decision %+v, text %q", out.Decision, text(res))
	}

	// The test's home is under /tmp, which the policy counts as the
	// sandbox's scratch space; ~ is judged as the user's real home here.
	real := *e.guard
	real.Home = realHome
	rcs := (&testEnv{ws: e.ws, guard: &real}).connect(t, nil)
	marker := filepath.Join(e.outside, "ran")
	out = RunResult{}
	res = call(t, rcs, "run_command", map[string]any{"command": "rm -rf ~; touch " + marker}, &out)
	if !res.IsError || out.Reason != "denied" || out.ExitCode != nil || out.Decision == nil || out.Decision.Verdict != "deny" {
		t.Fatalf("rm -rf ~: %+v %q", out, text(res))
	}
	if !strings.Contains(text(res), out.Decision.Rule) || out.Decision.Rule == "" {
		t.Fatalf("the denial does not name its rule: %q", text(res))
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a denied command ran")
	}

	// An agent may shorten the policy's time limit.
	out = RunResult{}
	start := time.Now()
	call(t, cs, "run_command", map[string]any{"command": "sleep 10", "timeout_seconds": 0.5}, &out)
	if out.Reason != "timeout" || time.Since(start) > 8*time.Second {
		t.Fatalf("sleep with a timeout: %+v after %s", out, time.Since(start))
	}

	recs := readLog(t, e.logPath)
	if len(recs) != 3 || recs[0].Agent != "test-client" || recs[1].Decision.Verdict != "deny" {
		t.Fatalf("records: %d, %+v", len(recs), recs[0])
	}
}

func readLog(t testing.TB, path string) []*audit.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*audit.Record
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		r, err := audit.ParseRecord([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// A command the policy asks about runs only when the user says yes
// through the client; a client that cannot ask gets a refusal that says
// why.
func TestAskElicitation(t *testing.T) {
	const ask = "rm victim.txt"
	for _, c := range []struct {
		name    string
		handler func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error)
		runs    bool
		reason  string
	}{
		{"accept", func(_ context.Context, r *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			if !strings.Contains(r.Params.Message, ask) || !strings.Contains(r.Params.Message, "delete-in-workspace") {
				t.Errorf("question: %q", r.Params.Message)
			}
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, nil
		}, true, "approved"},
		{"accept-no", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": false}}, nil
		}, false, "the user refused"},
		{"decline", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "decline"}, nil
		}, false, "the user declined"},
		{"cancel", func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "cancel"}, nil
		}, false, "dismissed"},
		{"unsupported", nil, false, "does not support elicitation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			victim := filepath.Join(e.ws, "victim.txt")
			write(t, victim, "x")
			cs := e.connect(t, &sdk.ClientOptions{ElicitationHandler: c.handler})
			var out RunResult
			res := call(t, cs, "run_command", map[string]any{"command": ask}, &out)
			_, err := os.Stat(victim)
			ran := err != nil
			if ran != c.runs || res.IsError == c.runs {
				t.Fatalf("ran %v, isError %v: %+v %q", ran, res.IsError, out, text(res))
			}
			a := out.Decision.Approval
			if out.Decision.Verdict != "ask" || a == nil || a.Granted != c.runs || !strings.Contains(a.Reason, c.reason) || a.How != "mcp" {
				t.Fatalf("decision %+v approval %+v", out.Decision, a)
			}
			if !c.runs && !strings.Contains(text(res), c.reason) {
				t.Fatalf("the refusal does not say why: %q", text(res))
			}
		})
	}
}

func TestFileTools(t *testing.T) {
	e := newEnv(t)
	cs := e.connect(t, nil)
	var out FileResult
	res := call(t, cs, "read_file", map[string]any{"path": "main.go"}, &out)
	if res.IsError || !strings.Contains(out.Content, "func main") || text(res) != out.Content {
		t.Fatalf("read main.go: %+v %q", out, text(res))
	}

	for _, path := range []string{filepath.Join(e.home, ".ssh", "id_rsa"), "~/.ssh/id_rsa"} {
		out = FileResult{}
		res = call(t, cs, "read_file", map[string]any{"path": path}, &out)
		if !res.IsError || strings.Contains(text(res)+out.Content, "FAKE PRIVATE KEY") {
			t.Fatalf("read %s: %+v %q", path, out, text(res))
		}
		if out.Decision == nil || (out.Decision.Rule != guard.RuleFileMasked && out.Decision.Rule != "masked") {
			t.Fatalf("read %s: decision %+v", path, out.Decision)
		}
	}

	out = FileResult{}
	res = call(t, cs, "list_directory", map[string]any{}, &out)
	if res.IsError || !slices.ContainsFunc(out.Entries, func(d guard.DirEntry) bool { return d.Name == "main.go" }) {
		t.Fatalf("list: %+v", out)
	}

	out = FileResult{}
	res = call(t, cs, "write_file", map[string]any{"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\n"}, &out)
	if !res.IsError || out.Decision == nil || (out.Decision.Rule != guard.RuleFileProtected && out.Decision.Rule != "protected") {
		t.Fatalf("write a hook: %+v", out)
	}
	if _, err := os.Stat(filepath.Join(e.ws, ".git", "hooks", "pre-commit")); err == nil {
		t.Fatal("a hook was written")
	}

	if err := os.Symlink(e.outside, filepath.Join(e.ws, "out")); err != nil {
		t.Fatal(err)
	}
	out = FileResult{}
	res = call(t, cs, "write_file", map[string]any{"path": "out/planted.sh", "content": "x"}, &out)
	if !res.IsError {
		t.Fatalf("write through a symlink: %+v", out)
	}
	if ents, _ := os.ReadDir(e.outside); len(ents) != 0 {
		t.Fatalf("written outside: %v", ents)
	}

	out = FileResult{}
	res = call(t, cs, "write_file", map[string]any{"path": "pkg/a.go", "content": "package pkg\n"}, &out)
	if res.IsError || len(out.Changes) != 1 || out.Changes[0].Op != "create" {
		t.Fatalf("write: %+v %q", out, text(res))
	}

	patch := "--- a/pkg/a.go\n+++ b/pkg/a.go\n@@ -1 +1,2 @@\n package pkg\n+var A = 1\n"
	out = FileResult{}
	res = call(t, cs, "apply_patch", map[string]any{"patch": patch}, &out)
	if res.IsError || len(out.Changes) != 1 {
		t.Fatalf("patch: %+v %q", out, text(res))
	}
	if b, _ := os.ReadFile(filepath.Join(e.ws, "pkg", "a.go")); string(b) != "package pkg\nvar A = 1\n" {
		t.Fatalf("patched: %q", b)
	}
	// One hunk that does not fit: nothing changes.
	out = FileResult{}
	res = call(t, cs, "apply_patch", map[string]any{"patch": patch + "--- a/main.go\n+++ b/main.go\n@@ -1 +1 @@\n-package nope\n+package other\n"}, &out)
	if !res.IsError {
		t.Fatalf("a stale patch applied: %+v", out)
	}
	if b, _ := os.ReadFile(filepath.Join(e.ws, "main.go")); !strings.HasPrefix(string(b), "package main\n") {
		t.Fatalf("a refused patch changed main.go: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(e.ws, "pkg", "a.go")); string(b) != "package pkg\nvar A = 1\n" {
		t.Fatalf("a refused patch changed pkg/a.go: %q", b)
	}
}

func TestHTTP(t *testing.T) {
	e := newEnv(t)
	const token = "0123456789abcdef0123456789abcdef"
	hs := httptest.NewServer(Handler(New(e.guard, Options{Workspace: e.ws}), token))
	defer hs.Close()
	ctx := context.Background()
	client := sdk.NewClient(&sdk.Implementation{Name: "http-client", Version: "1"}, nil)

	for _, tok := range []string{"", "wrong-token-wrong-token-wrong-to"} {
		hc := &http.Client{Transport: bearer{tok}}
		if cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hc, MaxRetries: -1}, nil); err == nil {
			cs.Close()
			t.Fatalf("connected with token %q", tok)
		}
		req, _ := http.NewRequest("POST", hs.URL, strings.NewReader("{}"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token %q: status %d", tok, resp.StatusCode)
		}
	}

	hc := &http.Client{Transport: bearer{token}}
	cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var out RunResult
	res := call(t, cs, "run_command", map[string]any{"command": "echo hi"}, &out)
	if res.IsError || out.Stdout != "hi\n" {
		t.Fatalf("echo over HTTP: %+v", out)
	}
	out = RunResult{}
	res = call(t, cs, "run_command", map[string]any{"command": "rm -rf /"}, &out)
	if !res.IsError || out.Reason != "denied" {
		t.Fatalf("rm -rf / over HTTP: %+v", out)
	}

	// The question goes back over HTTP to the session that asked.
	victim := filepath.Join(e.ws, "victim.txt")
	write(t, victim, "x")
	asked := sdk.NewClient(&sdk.Implementation{Name: "http-asked", Version: "1"}, &sdk.ClientOptions{
		ElicitationHandler: func(context.Context, *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
			return &sdk.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, nil
		},
	})
	acs, err := asked.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer acs.Close()
	out = RunResult{}
	res = call(t, acs, "run_command", map[string]any{"command": "rm victim.txt"}, &out)
	if _, err := os.Stat(victim); res.IsError || err == nil || out.Decision.Approval == nil || out.Decision.Approval.By != "http-asked" {
		t.Fatalf("approved over HTTP: %+v %q", out, text(res))
	}
}

type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true,
		":8080": false, "0.0.0.0:80": false, "192.168.1.2:80": false, "example.com:80": false, "bad": false,
	} {
		if Loopback(addr) != want {
			t.Errorf("Loopback(%q) = %v", addr, !want)
		}
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// cordonBinary builds cmd/cordon once for the tests that run it.
func cordonBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cordon-mcp-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cordon")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/cordon").CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// The real binary, spoken to over its stdin and stdout.
func TestStdioBinary(t *testing.T) {
	bin := cordonBinary(t) // before newEnv moves $HOME, and the build cache with it
	e := newEnv(t)
	cmd := exec.Command(bin, "mcp", "--workspace", e.ws, "--audit-log", e.logPath)
	cmd.Stderr = os.Stderr
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "stdio-client", Version: "1"}, nil).Connect(context.Background(), &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var out RunResult
	res := call(t, cs, "run_command", map[string]any{"command": "echo hi"}, &out)
	if res.IsError || out.Stdout != "hi\n" || *out.ExitCode != 0 {
		t.Fatalf("echo over stdio: %+v %q", out, text(res))
	}
	var fout FileResult
	res = call(t, cs, "read_file", map[string]any{"path": filepath.Join(e.home, ".ssh", "id_rsa")}, &fout)
	if !res.IsError || fout.Decision == nil || (fout.Decision.Rule != guard.RuleFileMasked && fout.Decision.Rule != "masked") {
		t.Fatalf("masked read over stdio: %+v", fout)
	}
	cs.Close()
	if recs := readLog(t, e.logPath); len(recs) != 2 || recs[0].Agent != "stdio-client" {
		t.Fatalf("records of the binary: %d", len(recs))
	}
}

// Each MCP session keeps a sandbox session: /tmp persists between its
// commands, background processes do not, and another MCP session has a
// /tmp of its own.
func TestSessions(t *testing.T) {
	e := newEnv(t)
	a, b := e.connect(t, nil), e.connect(t, nil)
	run := func(cs *sdk.ClientSession, cmd string) RunResult {
		t.Helper()
		var out RunResult
		if res := call(t, cs, "run_command", map[string]any{"command": cmd}, &out); res.IsError {
			t.Fatalf("%s: %q", cmd, text(res))
		}
		return out
	}
	run(a, "echo from-a > /tmp/note; sleep 1000 &")
	if out := run(a, "cat /tmp/note; pgrep -x sleep || echo none"); out.Stdout != "from-a\nnone\n" {
		t.Fatalf("same session: %q %q", out.Stdout, out.Stderr)
	}
	if out := run(b, "cat /tmp/note 2>/dev/null || echo absent"); out.Stdout != "absent\n" {
		t.Fatalf("another session read a's /tmp: %q", out.Stdout)
	}
	// Keeping background processes needs the policy's leave.
	var kept RunResult
	res := call(t, a, "run_command", map[string]any{"command": "sleep 1000 &", "keep_background": true}, &kept)
	if !res.IsError || kept.Decision == nil || kept.Decision.Rule != "session.keep_background" {
		t.Fatalf("keep_background without the policy: %+v", kept)
	}
	// The sandbox goes with its MCP session.
	a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := sandboxInits(t)
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sandbox inits after one of two MCP sessions closed", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sandboxInits counts the sandbox inits this process started that are
// still alive (not yet reaped zombies included out).
func sandboxInits(t *testing.T) int {
	t.Helper()
	n := 0
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 2 || f[0] == "Z" || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "cmdline"))
		if strings.HasPrefix(string(cmd), "cordon-init") {
			n++
		}
	}
	return n
}
