package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// pathTree builds a workspace and a home directory with a credential
// store, and links from the workspace into it.
func pathTree(t testing.TB) (ws, home string) {
	t.Helper()
	root := t.TempDir()
	ws, home = filepath.Join(root, "ws"), filepath.Join(root, "home")
	for _, d := range []string{filepath.Join(ws, ".git", "hooks"), filepath.Join(ws, "src"), filepath.Join(home, ".ssh"), filepath.Join(home, "notes")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(ws, "src", "main.go"), filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".ssh", "known_hosts"), filepath.Join(ws, ".env")} {
		if err := os.WriteFile(f, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		filepath.Join(ws, "key"):      filepath.Join(home, ".ssh", "id_ed25519"), // a file link
		filepath.Join(ws, "sshdir"):   filepath.Join(home, ".ssh"),               // a directory link
		filepath.Join(ws, "dangling"): filepath.Join(home, ".ssh", "new_key"),    // to a file not there yet
		filepath.Join(ws, "hooks"):    filepath.Join(ws, ".git", "hooks"),        // inside the workspace
		filepath.Join(ws, "rel"):      "../home/.ssh/id_ed25519",                 // relative
	}
	for l, target := range links {
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
	}
	return ws, home
}

func TestDecidePath(t *testing.T) {
	ws, home := pathTree(t)
	p := Default()
	tests := []struct {
		path  string
		write bool
		want  Verdict
		rule  string
	}{
		{"src/main.go", false, Allow, RulePathAllowed},
		{filepath.Join(ws, "src/main.go"), true, Allow, RulePathAllowed},
		{"src/new.go", true, Allow, RulePathAllowed},
		{filepath.Join(home, ".ssh/id_ed25519"), false, Deny, RuleMasked},
		{"~/.ssh/id_ed25519", false, Deny, RuleMasked},
		{filepath.Join(home, ".ssh"), false, Deny, RuleMasked},
		{filepath.Join(home, ".aws/credentials"), false, Deny, RuleMasked}, // masked whether it exists or not
		{filepath.Join(home, ".ssh/authorized_keys"), true, Deny, RuleMasked},
		{"key", false, Deny, RuleMasked},                            // a link to the key
		{"sshdir/known_hosts", false, Deny, RuleMasked},             // through a linked directory
		{"dangling", true, Deny, RuleMasked},                        // a write through a dangling link
		{"rel", false, Deny, RuleMasked},                            // a relative link
		{"src/../../home/.ssh/id_ed25519", false, Deny, RuleMasked}, // ".." out of the workspace
		{".git/hooks/pre-commit", true, Deny, RuleProtected},
		{"hooks/pre-push", true, Deny, RuleProtected}, // a link to .git/hooks
		{".git/config", true, Deny, RuleProtected},
		{".cordon.yaml", true, Deny, RuleProtected},
		{".claude/settings.json", true, Deny, RuleProtected},
		{".mcp.json", true, Deny, RuleProtected},
		{".git/config", false, Allow, RulePathAllowed}, // reading is fine
		{".env", false, Ask, "secrets-file-read"},      // the command rules on reads apply
		{filepath.Join(home, "notes/todo.md"), true, Ask, RuleOutsideWorkspace},
		{filepath.Join(home, "notes/todo.md"), false, Allow, RulePathAllowed},
		{"/etc/hosts", true, Deny, "write-system-redirect"},
		{"", false, Deny, RuleBadPath},
		{"a\x00b", false, Deny, RuleBadPath},
	}
	for _, tt := range tests {
		d := p.DecidePath(PathRequest{Path: tt.path, Write: tt.write, Workspace: ws, Home: home})
		if d.Verdict != tt.want || d.Rule != tt.rule {
			t.Errorf("%q write=%v: %s %s (%s), want %s %s", tt.path, tt.write, d.Verdict, d.Rule, d.Reason, tt.want, tt.rule)
		}
	}
}

// A recursive read (a content search) of a directory holding a
// credential store is asked about; a listing of it is not.
func TestDecidePathRecursive(t *testing.T) {
	ws, home := pathTree(t)
	p := Default()
	d := p.DecidePath(PathRequest{Path: home, Recursive: true, Workspace: ws, Home: home})
	if d.Verdict != Ask || d.Rule != RuleMaskedBelow {
		t.Errorf("search of home: %s %s", d.Verdict, d.Rule)
	}
	d = p.DecidePath(PathRequest{Path: ws, Recursive: true, Workspace: ws, Home: home})
	if d.Verdict != Allow {
		t.Errorf("search of the workspace: %s %s (%s)", d.Verdict, d.Rule, d.Reason)
	}
}

// The policy's own lists count: masked, protected and writable paths.
func TestDecidePathPolicyLists(t *testing.T) {
	ws, home := pathTree(t)
	p, err := Parse("policy.yaml", []byte(`version: 1
filesystem:
  masked: [~/notes]
  protected: [deploy]
  writable: [/var/cache/build]
`), LayerUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path  string
		write bool
		want  Verdict
		rule  string
	}{
		{filepath.Join(home, "notes/todo.md"), false, Deny, RuleMasked},
		{"deploy/prod.sh", true, Deny, RuleProtected},
		{"/var/cache/build/out.o", true, Allow, RulePathAllowed},
	} {
		d := p.DecidePath(PathRequest{Path: tt.path, Write: tt.write, Workspace: ws, Home: home})
		if d.Verdict != tt.want || d.Rule != tt.rule {
			t.Errorf("%q: %s %s (%s), want %s %s", tt.path, d.Verdict, d.Rule, d.Reason, tt.want, tt.rule)
		}
	}
}

func TestDecideHost(t *testing.T) {
	p, err := Parse("policy.yaml", []byte(`version: 1
network:
  allow: [docs.example.com, "*.pkg.example.org"]
  ask: [api.example.com]
  deny: [bad.pkg.example.org]
`), LayerUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host string
		want Verdict
		rule string
	}{
		{"docs.example.com", Allow, RuleHostAllow},
		{"DOCS.example.com.", Allow, RuleHostAllow},
		{"a.pkg.example.org", Allow, RuleHostAllow},
		{"bad.pkg.example.org", Deny, RuleHostDeny},
		{"api.example.com", Ask, RuleHostAsk},
		{"example.net", Deny, RuleHostDeny},
		{"169.254.169.254", Deny, RuleHostPrivate},
		{"127.1", Deny, RuleHostPrivate},
		{"0x7f000001", Deny, RuleHostPrivate},
		{"[::1]", Deny, RuleHostPrivate},
		{"localhost", Deny, RuleHostPrivate},
		{"", Deny, RuleHostBadInput},
	} {
		d := p.DecideHost(tt.host, 443)
		if d.Verdict != tt.want || d.Rule != tt.rule {
			t.Errorf("%q: %s %s (%s), want %s %s", tt.host, d.Verdict, d.Rule, d.Reason, tt.want, tt.rule)
		}
	}
	// Without lists: ask, but the deny list and private addresses hold.
	q, err := Parse("policy.yaml", []byte("version: 1\nnetwork:\n  deny: [evil.example.com]\n"), LayerUser)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]Verdict{"example.com": Ask, "evil.example.com": Deny, "10.0.0.1": Deny} {
		if d := q.DecideHost(host, 443); d.Verdict != want {
			t.Errorf("no list, %q: %s %s, want %s", host, d.Verdict, d.Rule, want)
		}
	}
}

// DecidePath keeps no state between calls: many goroutines at once get
// the answers one gets alone (run with -race).
func TestDecidePathConcurrent(t *testing.T) {
	ws, home := pathTree(t)
	p := Default()
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 50 {
				ok = ok && p.DecidePath(PathRequest{Path: "key", Workspace: ws, Home: home}).Verdict == Deny &&
					p.DecidePath(PathRequest{Path: "src/main.go", Write: true, Workspace: ws, Home: home}).Verdict == Allow
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("a concurrent decision differed")
		}
	}
}

func BenchmarkDecidePath(b *testing.B) {
	ws, home := pathTree(b)
	p := Default()
	for b.Loop() {
		p.DecidePath(PathRequest{Path: "src/main.go", Write: true, Workspace: ws, Home: home})
	}
}
