package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMCPFlags(t *testing.T) {
	ws := workspace(t)
	for _, c := range []struct {
		token string
		args  []string
		want  string
	}{
		{"", []string{"--http", "0.0.0.0:0"}, "without a token"},
		{"", []string{"--http", ":0"}, "without a token"},
		{"", []string{"--http", "example.com:0"}, "without a token"},
		{"short", []string{"--http", "127.0.0.1:0"}, "at least 16"},
		{"", []string{"--http", "127.0.0.1:0", "--unix", "/x"}, "one transport"},
	} {
		t.Setenv(tokenEnv, c.token)
		code, _, stderr := run(t, append([]string{"mcp", "-w", ws, "--no-audit"}, c.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v with token %q: exit %d, %q", c.args, c.token, code, stderr)
		}
	}
}

// The unix socket is its owner's alone, and serves MCP.
func TestMCPUnix(t *testing.T) {
	ws := workspace(t)
	sock := filepath.Join(t.TempDir(), "mcp.sock")
	t.Setenv(tokenEnv, "")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	root := newRoot(strings.NewReader(""), &bytes.Buffer{}, &lockedWriter{w: &stderr})
	root.SetArgs([]string{"mcp", "-w", ws, "--no-audit", "--unix", sock})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("cordon mcp: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("cordon mcp did not stop")
		}
	}()
	var st os.FileInfo
	for i := 0; ; i++ {
		var err error
		if st, err = os.Stat(sock); err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("no socket: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v", st.Mode())
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "unix-client", Version: "1"}, nil).Connect(context.Background(),
		&sdk.StreamableClientTransport{Endpoint: "http://localhost/", HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "run_command", Arguments: map[string]any{"command": "echo hi"}})
	if err != nil || res.IsError {
		t.Fatalf("echo: %v %+v", err, res)
	}
	if tc, ok := res.Content[0].(*sdk.TextContent); !ok || tc.Text != "exit status 0\nhi\n" {
		t.Fatalf("echo: %+v", res.Content[0])
	}
}
