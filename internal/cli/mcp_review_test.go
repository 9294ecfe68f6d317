package cli

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// A token asked for but empty (a --token-file that a failed command left
// empty, CORDON_MCP_TOKEN=$(cat missing)) must not serve without one: on
// a loopback address mcp then lets every local user in, silently.
func TestReviewEmptyTokenIsAnError(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenEnv, "")
	if tok, err := mcpToken(empty); err == nil {
		t.Errorf("an empty --token-file gave token %q and no error", tok)
	}
	t.Setenv(tokenEnv, "  ")
	if tok, err := mcpToken(""); err == nil {
		t.Errorf("a blank $%s gave token %q and no error", tokenEnv, tok)
	}
}

// Review tests of listenUnix: what is at the socket's path beforehand.
// They pass.
func TestReviewListenUnixExisting(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A regular file and a symlink (to a file, or dangling) are left alone.
	link := filepath.Join(dir, "link.sock")
	dangling := filepath.Join(dir, "dangling.sock")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere.sock"), dangling); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{victim, link, dangling} {
		if ln, err := listenUnix(p); err == nil {
			ln.Close()
			t.Errorf("listened on %s", p)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere.sock")); err == nil {
		t.Error("a socket was made at a dangling symlink's target")
	}
	// A live server is not taken over; a stale socket is replaced, 0600.
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if l2, err := listenUnix(live); err == nil {
		l2.Close()
		t.Error("took over a live socket")
	}
	stale := filepath.Join(dir, "stale.sock")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	l3, err := listenUnix(stale)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	defer l3.Close()
	if st, err := os.Stat(stale); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("stale socket replaced with mode %v (%v)", st.Mode(), err)
	}
}
