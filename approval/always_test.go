package approval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sh/cordon/policy"
)

// decide judges text with the default policy and the user file at user.
func decide(t *testing.T, user, ws, text string) *policy.Decision {
	t.Helper()
	p, err := policy.Load(policy.Options{UserFile: user, Workspace: ws})
	if err != nil {
		t.Fatalf("load with %s: %v", user, err)
	}
	return p.Decide(policy.Request{Command: text, Workspace: ws, Home: "/home/nobody"})
}

func alwaysRequest(t *testing.T, user, ws, text string) *Request {
	return &Request{Command: text, Decision: decide(t, user, ws, text), Workspace: ws, Kind: KindCommand, Channel: HowTerminal}
}

// The saved rule parses, allows exactly the command that was asked about,
// and nothing next to it.
func TestSaveAlways(t *testing.T) {
	for _, start := range []struct{ name, text string }{
		{"no file", ""},
		{"empty file", "\n"},
		{"no commands", "version: 1\nlimits:\n  memory: 2G\n"},
		{"commands last", "version: 1\n# mine\ncommands:\n  - id: mine\n    program: mytool\n    args: [--help]\n    decision: allow\n    reason: help only\n\n# limits:\n#   memory: 2G\n"},
		{"commands first", "version: 1\ncommands:\n- id: mine\n  program: other\n  decision: allow\n  reason: mine\n  # a comment of the rule\n\n# limits of mine\nlimits:\n  memory: 2G\n"},
		{"commands empty", "version: 1\ncommands:\n  # - id: example\n#   program: x\nlimits: {pids: 100}\n"},
	} {
		t.Run(start.name, func(t *testing.T) {
			dir, ws := t.TempDir(), t.TempDir()
			user := filepath.Join(dir, "cordon", "policy.yaml")
			if start.name != "no file" {
				os.MkdirAll(filepath.Dir(user), 0o700)
				if err := os.WriteFile(user, []byte(start.text), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			text := `mytool --fix 'a b' '*' "{x,y}"`
			before := user
			if strings.TrimSpace(start.text) == "" {
				before = filepath.Join(dir, "none.yaml") // an empty policy does not load
			}
			req := alwaysRequest(t, before, ws, text)
			if req.Decision.Verdict != policy.Ask || req.Decision.Rule != policy.RuleUnknownProgram {
				t.Fatalf("before: %s %s", req.Decision.Verdict, req.Decision.Rule)
			}
			if err := SaveAlways(user, req); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(user)
			t.Logf("saved:\n%s", data)
			p, err := policy.ParseFile(user, policy.LayerUser)
			if err != nil {
				t.Fatalf("the saved file does not parse: %v\n%s", err, data)
			}
			var saved *policy.Rule
			for _, r := range p.Commands {
				if strings.HasPrefix(r.ID, "always-mytool-") {
					saved = r
				}
			}
			if saved == nil || !strings.Contains(saved.Reason, "the terminal") || !strings.Contains(saved.Reason, "20") {
				t.Fatalf("no always rule with a reason naming the channel and date:\n%s", data)
			}
			if d := decide(t, user, ws, text); d.Verdict != policy.Allow || d.Rule != saved.ID {
				t.Errorf("after: %s %s\n%s", d.Verdict, d.Rule, data)
			}
			// Only that command: not other arguments, more of them, fewer,
			// or what the glob characters would have matched.
			for _, other := range []string{`mytool --fix 'a b' '*' "{x,y}" extra`, `mytool --fix 'a b' '*'`, `mytool --fix 'a b' anything "{x,y}"`,
				`mytool --fix 'a b' '*' x`, `mytool --fix a b '*' "{x,y}"`, `othertool --fix 'a b' '*' "{x,y}"`} {
				if d := decide(t, user, ws, other); d.Verdict == policy.Allow {
					t.Errorf("%s is allowed too\n%s", other, data)
				}
			}
			// What was in the file is still there.
			for _, line := range strings.Split(strings.TrimSpace(start.text), "\n") {
				if !strings.Contains(string(data), line) {
					t.Errorf("line %q of the file is gone:\n%s", line, data)
				}
			}
			if start.name == "commands last" {
				if st, _ := os.Stat(user); st.Mode().Perm() != 0o640 {
					t.Errorf("mode %v", st.Mode().Perm())
				}
			}
			// Saving a second command adds a second rule.
			req2 := alwaysRequest(t, user, ws, "mytool --other")
			if err := SaveAlways(user, req2); err != nil {
				t.Fatal(err)
			}
			if d := decide(t, user, ws, "mytool --other"); d.Verdict != policy.Allow {
				t.Errorf("second rule: %s %s", d.Verdict, d.Rule)
			}
			if d := decide(t, user, ws, text); d.Verdict != policy.Allow {
				t.Errorf("first rule lost: %s %s", d.Verdict, d.Rule)
			}
		})
	}
}

// Where a saved yes would allow more than was seen, or more than a rule
// may allow, nothing is saved.
func TestSaveAlwaysRefuses(t *testing.T) {
	dir, ws := t.TempDir(), t.TempDir()
	user := filepath.Join(dir, "policy.yaml")
	const orig = "version: 1\ncommands:\n  - id: mine\n    program: other\n    decision: allow\n    reason: mine\n"
	os.WriteFile(user, []byte(orig), 0o600)
	for _, tt := range []struct{ name, text, err string }{
		{"deny", "rm -rf /", "denies"},
		{"dynamic", "$CMD --x", "statically"},
		{"eval", `eval "$X"`, "statically"},
		{"parse error", "echo 'unterminated", "denies"},
		{"sudo", "sudo mytool", "changes the user"},
		{"sudo allowed program", "sudo ls", "changes the user"},
		{"doas", "doas mytool --x", "changes the user"},
		{"su", "su -c mytool", ""},
		{"inline code", "python3 -c 'print(1)'", "cannot read"},
		{"allowed already", "ls", "did not ask"},
		// A stricter rule than the new one still asks: the strictest wins.
		{"stricter rule", "rm -f build.log", "strictest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := alwaysRequest(t, user, ws, tt.text)
			err := SaveAlways(user, req)
			t.Logf("%s: %v", tt.text, err)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s (%s %s): err = %v, want one saying %q", tt.text, req.Decision.Verdict, req.Decision.Rule, err, tt.err)
			}
			if CheckAlways(req) == nil {
				t.Errorf("CheckAlways offers allow always for %s", tt.text)
			}
			if data, _ := os.ReadFile(user); string(data) != orig {
				t.Errorf("the file changed:\n%s", data)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left beside the policy: %v", entries)
	}
}

// A result that does not parse is not written: the file stays as it was.
func TestSaveAlwaysRollsBack(t *testing.T) {
	dir, ws := t.TempDir(), t.TempDir()
	user := filepath.Join(dir, "policy.yaml")
	req := alwaysRequest(t, filepath.Join(dir, "none.yaml"), ws, "mytool --x")
	for _, broken := range []string{
		// Parses as YAML, but not as a policy (version 2): the new rule
		// cannot fix that, and the file is not touched.
		"version: 2\ncommands:\n  - id: a\n    program: a\n    decision: allow\n    reason: a\n",
		// A flow list cannot be extended in place.
		"version: 1\ncommands: [{id: a, program: a, decision: allow, reason: a}]\n",
		// The id the rule would get is taken.
		"version: 1\ncommands:\n  - id: " + commandRule("mytool", []string{"--x"}, "").ID + "\n    program: mytool\n    args: [--y]\n    decision: allow\n    reason: taken\n",
	} {
		os.WriteFile(user, []byte(broken), 0o600)
		if err := SaveAlways(user, req); err == nil {
			t.Errorf("saved into\n%s", broken)
		}
		if data, _ := os.ReadFile(user); string(data) != broken {
			t.Errorf("the file changed:\n%s", data)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left beside the policy: %v", entries)
	}
}

func TestSaveAlwaysNetwork(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "policy.yaml")
	os.WriteFile(user, []byte("version: 1\n"), 0o600)
	req := &Request{Kind: KindNetwork, Host: "api.example.com", Port: 443, Channel: HowWebhook}
	if err := SaveAlways(user, req); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(policy.Options{UserFile: user})
	if err != nil || len(p.Network.Allow) != 1 || p.Network.Allow[0] != "api.example.com" {
		t.Fatalf("%v %+v", err, p.Network)
	}
	for _, bad := range []string{"*.example.com", "", "a b"} {
		if err := SaveAlways(user, &Request{Kind: KindNetwork, Host: bad}); err == nil {
			t.Errorf("host %q saved", bad)
		}
	}
}
