package mcp

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A client no one here wrote: the official TypeScript SDK's, from npm
// (testdata/tsclient, installed with npm ci), drives the real binary over
// stdio.
func TestTypeScriptClient(t *testing.T) {
	// CI installs the client and sets CORDON_REQUIRE_TSCLIENT, so that
	// there the test runs or fails, never skips.
	skip := t.Skip
	if os.Getenv("CORDON_REQUIRE_TSCLIENT") != "" {
		skip = t.Fatal
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed")
	}
	dir, _ := filepath.Abs("testdata/tsclient")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		skip("the TypeScript client is not installed: run npm ci in mcp/testdata/tsclient")
	}
	bin := cordonBinary(t)
	e := newEnv(t)
	masked := filepath.Join(e.home, ".ssh", "id_rsa")
	cmd := exec.Command(node, "client.mjs", bin, e.ws, masked)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, raw)
	}
	var got struct {
		Tools []struct {
			Name        string         `json:"name"`
			Annotations map[string]any `json:"annotations"`
		} `json:"tools"`
		Allowed, Denied, Masked struct {
			IsError    bool           `json:"isError"`
			Structured map[string]any `json:"structured"`
			Text       string         `json:"text"`
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	names := map[string]map[string]any{}
	for _, tool := range got.Tools {
		names[tool.Name] = tool.Annotations
	}
	for _, n := range []string{"run_command", "read_file", "list_directory", "write_file", "apply_patch"} {
		if names[n] == nil {
			t.Fatalf("tools: %s missing in %s", n, raw)
		}
	}
	if names["read_file"]["readOnlyHint"] != true || names["run_command"]["destructiveHint"] != true {
		t.Errorf("annotations: %v", names)
	}
	if a := got.Allowed; a.IsError || a.Structured["stdout"] != "hello from ts\n" || a.Structured["exit_code"] != 0.0 {
		t.Errorf("allowed command: %+v", a)
	}
	d := got.Denied
	if dec, _ := d.Structured["decision"].(map[string]any); !d.IsError || dec["verdict"] != "deny" || !strings.Contains(d.Text, "delete-outside-workspace") {
		t.Errorf("denied command: %+v", d)
	}
	m := got.Masked
	if dec, _ := m.Structured["decision"].(map[string]any); !m.IsError || (dec["rule"] != "file.masked" && dec["rule"] != "masked") || strings.Contains(string(raw), "FAKE PRIVATE KEY") {
		t.Errorf("masked read: %+v", m)
	}
	t.Logf("TypeScript client: %s", raw)
}
