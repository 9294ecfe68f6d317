package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole error text, one line per mistake
	}{
		{"empty", ``, `p.yaml:1:1: empty file; expected a mapping starting with version: 1`},
		{"null document", "~\n", `p.yaml:1:1: empty policy: expected a mapping starting with version: 1`},
		{"not a mapping", "- a\n", `p.yaml:1:1: policy: expected a mapping with version: 1, found a list`},
		{"syntax", "version: 1\ncommands: [\n",
			"p.yaml:2:1: YAML syntax: did not find expected node content"},
		{"tab indentation", "version: 1\n\tcommands: []\n",
			"p.yaml:2:1: YAML syntax: found a tab character that violates indentation"},
		{"two documents", "version: 1\n---\nversion: 1\n",
			"p.yaml:2:1: a second YAML document; a policy file holds one"},
		{"missing version", "commands: []\n", `p.yaml:1:1: policy: missing version: 1`},
		{"wrong version", "version: 2\n", `p.yaml:1:10: version: expected 1, found a number`},
		{"version as text", "version: \"1\"\n", `p.yaml:1:10: version: expected 1, found "1"`},
		{"unknown key", "version: 1\ncomands: []\n", `p.yaml:2:1: policy: unknown key "comands" (expected one of version, commands, filesystem, network, limits, output, session, env, require)`},
		{"duplicate key", "version: 1\nversion: 1\n", `p.yaml:2:1: policy: key "version" given twice`},
		{"commands not a list", "version: 1\ncommands: {}\n", `p.yaml:2:11: commands: expected a list of rules, found a mapping`},
		{"rule not a mapping", "version: 1\ncommands:\n  - ls\n", `p.yaml:3:5: commands rule: expected a mapping, found "ls"`},
		{"rule unknown key", "version: 1\ncommands:\n  - id: a\n    programme: ls\n    decision: allow\n    reason: r\n",
			"p.yaml:4:5: commands rule: unknown key \"programme\" (expected one of " + strings.Join(ruleKeys, ", ") + ")\n" +
				"p.yaml:3:5: commands rule a: nothing to match; give program, args, path, write, ... (see docs/policy.md)"},
		{"rule missing fields", "version: 1\ncommands:\n  - program: ls\n",
			"p.yaml:3:5: commands rule: missing id (a name for the rule, such as no-force-push)\n" +
				"p.yaml:3:5: commands rule : missing decision (allow, ask or deny)\n" +
				"p.yaml:3:5: commands rule : missing reason (a sentence saying why)"},
		{"bad decision", "version: 1\ncommands:\n  - {id: a, program: ls, decision: maybe, reason: r}\n",
			"p.yaml:3:36: commands.decision: unknown decision \"maybe\" (expected allow, ask or deny)"},
		{"boolean decision", "version: 1\ncommands:\n  - {id: a, program: ls, decision: yes, reason: r}\n", ""},
		{"bad id", "version: 1\ncommands:\n  - {id: No Spaces, program: ls, decision: allow, reason: r}\n",
			"p.yaml:3:10: commands.id: \"No Spaces\" is not a rule id (expected lower-case letters, digits, '.', '_' or '-', at most 64)"},
		{"duplicate id", "version: 1\ncommands:\n  - {id: a, program: ls, decision: allow, reason: r}\n  - {id: a, program: cat, decision: allow, reason: r}\n",
			"p.yaml:4:10: commands.id: rule \"a\" is defined twice in this file"},
		{"empty reason", "version: 1\ncommands:\n  - {id: a, program: ls, decision: allow, reason: ''}\n",
			"p.yaml:3:51: commands.reason: expected a sentence saying why, found an empty string"},
		{"bad glob", "version: 1\ncommands:\n  - {id: a, program: 'l[s', decision: allow, reason: r}\n",
			"p.yaml:3:22: commands.program: \"l[s\" is not a valid glob pattern"},
		{"bad regexp", "version: 1\ncommands:\n  - {id: a, program: ls, args_match: '(', decision: allow, reason: r}\n",
			"p.yaml:3:38: commands.args_match: expected a regular expression (Go RE2 syntax): error parsing regexp: missing closing ): `(`"},
		{"bad path class", "version: 1\ncommands:\n  - {id: a, path: '@home', decision: deny, reason: r}\n",
			"p.yaml:3:19: commands.path: \"@home\": unknown path class (expected @outside-workspace, @workspace or @other-home)"},
		{"dotdot path", "version: 1\ncommands:\n  - {id: a, write: '../x', decision: deny, reason: r}\n",
			"p.yaml:3:20: commands.write: \"../x\": a path pattern cannot contain \"..\""},
		{"dynamic not bool", "version: 1\ncommands:\n  - {id: a, program: ls, dynamic: 1, decision: ask, reason: r}\n",
			"p.yaml:3:35: commands.dynamic: expected true or false, found a number"},
		{"empty args", "version: 1\ncommands:\n  - {id: a, program: ls, args: [], decision: ask, reason: r}\n",
			"p.yaml:3:32: commands.args: expected at least one pattern, found an empty list"},
		{"alias", "version: 1\nx: &a 1\n", `p.yaml:2:1: policy: unknown key "x" (expected one of version, commands, filesystem, network, limits, output, session, env, require)`},
		{"alias value", "version: 1\nlimits: &l {pids: 5}\nenv: *l\n", `p.yaml:3:6: policy.env: aliases are not supported; write the value out`},
		{"relative mask", "version: 1\nfilesystem:\n  masked: [secrets]\n", `p.yaml:3:12: filesystem.masked: "secrets": expected an absolute path or one starting with ~/`},
		{"absolute protected", "version: 1\nfilesystem:\n  protected: [/etc]\n", `p.yaml:3:15: filesystem.protected: "/etc": expected a path relative to the workspace, without ..`},
		{"writable root", "version: 1\nfilesystem:\n  writable: [/]\n", `p.yaml:3:14: filesystem.writable: "/": the root or the home directory cannot be writable`},
		{"filesystem unknown", "version: 1\nfilesystem:\n  hidden: [/x]\n", `p.yaml:3:3: filesystem: unknown key "hidden" (expected one of read_only_roots, writable, masked, protected)`},
		{"network mode", "version: 1\nnetwork:\n  mode: host\n", `p.yaml:3:9: network.mode: expected none or allowlist, found "host"`},
		{"network domain", "version: 1\nnetwork:\n  allow: [\"http://x.com\"]\n", `p.yaml:3:11: network.allow: "http://x.com": expected a domain name such as example.com or *.example.com`},
		{"network none with allow", "version: 1\nnetwork:\n  mode: none\n  allow: [x.com]\n", `p.yaml:3:9: network: mode none allows no domains; remove allow and ask or set mode: allowlist`},
		{"bad size", "version: 1\nlimits:\n  memory: lots\n", `p.yaml:3:11: limits.memory: expected a positive size such as 512M or 4G`},
		{"negative pids", "version: 1\nlimits:\n  pids: -1\n", `p.yaml:3:9: limits.pids: expected a positive whole number up to 4194304, found -1`},
		{"pids text", "version: 1\nlimits:\n  pids: many\n", `p.yaml:3:9: limits.pids: expected a positive whole number, found "many"`},
		{"bad duration", "version: 1\nlimits:\n  timeout: 10\n", `p.yaml:3:12: limits.timeout: expected a positive duration such as 90s, 10m or 1h, found "10"`},
		{"limits unknown", "version: 1\nlimits:\n  cpu: 1\n", `p.yaml:3:3: limits: unknown key "cpu" (expected one of memory, pids, cpu_time, timeout, output, file_size, open_files, disk, disk_reserve)`},
		{"bad disk", "version: 1\nlimits:\n  disk: 10 GB\n", `p.yaml:3:9: limits.disk: expected a positive size such as 512M or 4G`},
		{"zero disk reserve", "version: 1\nlimits:\n  disk_reserve: 0\n", `p.yaml:3:17: limits.disk_reserve: expected a positive size such as 512M or 4G`},
		{"env name", "version: 1\nenv:\n  allow: [\"A-B\"]\n", `p.yaml:3:11: env.allow: "A-B": expected a variable name, or a prefix ending in *`},
		{"env set not map", "version: 1\nenv:\n  set: [A]\n", `p.yaml:3:8: env.set: expected a mapping of NAME: value, found a list`},
		{"env set null", "version: 1\nenv:\n  set: {A: }\n",
			"p.yaml:3:12: env.set.A: expected a string, found nothing"},
		{"require", "version: 1\nrequire: [landlock, magic]\n", `p.yaml:2:21: require: unknown protection "magic" (expected one of userns, landlock, landlock-net, landlock-scope, seccomp, no_new_privs, cgroup)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.src), LayerProject)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("parsed: %+v", p)
				}
				t.Logf("%v", err)
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if os.Getenv("UPDATE") != "" && err.Error() != tt.want {
				t.Logf("UPDATE\t%s\t%q", tt.name, err.Error())
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			if p != nil {
				t.Error("a policy came back with the error")
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	src := `version: 1
commands:
  - id: no-force-push
    program: git
    args: [push]
    any_arg: ["--force", "-f"]
    decision: deny
    reason: force pushes rewrite shared history
  - id: deploy
    program: ./deploy.sh
    decision: ask
    reason: deploys
filesystem:
  masked: [~/.config/app]
  protected: [deploy]
network:
  allow: [example.com, "*.golang.org"]
limits:
  memory: 512M
  pids: 100
  timeout: 2m
  output: 1G
env:
  allow: [FOO, "BAR_*"]
  set: {GOFLAGS: -mod=vendor}
require: [seccomp]
`
	p, err := Parse("p.yaml", []byte(src), LayerUser)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Commands) != 2 || p.Commands[0].ID != "no-force-push" || p.Commands[0].Decision != Deny {
		t.Errorf("rules: %+v", p.Commands)
	}
	if s := p.Commands[1].Source; s.Line != 9 || s.Col != 5 || s.Layer != LayerUser {
		t.Errorf("source %v", s)
	}
	if p.Limits.Memory != 512<<20 || p.Limits.Pids != 100 || p.Limits.Timeout != 2*time.Minute || p.Limits.Output != 1<<30 {
		t.Errorf("limits %+v", p.Limits)
	}
	if p.Network.Mode != "allowlist" || p.Env.Set["GOFLAGS"] != "-mod=vendor" || len(p.Require) != 1 {
		t.Errorf("%+v %+v %v", p.Network, p.Env, p.Require)
	}
	d := p.Decide(Request{Command: "git push --force origin main", Workspace: "/w"})
	if d.Verdict != Deny || d.Rule != "no-force-push" {
		t.Errorf("%+v", d)
	}
}

// TestDefaultGenerated checks that default_gen.go was generated from the
// default.yaml that is embedded; run go generate ./policy after editing it.
func TestDefaultGenerated(t *testing.T) {
	if got := fmt.Sprintf("%x", sha256.Sum256(defaultYAML)); got != defaultSum {
		t.Fatalf("default_gen.go is stale (default.yaml is %s, generated from %s); run go generate ./policy", got, defaultSum)
	}
	parsed, err := Parse(DefaultFile, defaultYAML, LayerDefault)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(parsed.Commands)
	b, _ := json.Marshal(Default().Commands)
	if !bytes.Equal(a, b) {
		t.Fatal("default_gen.go differs from default.yaml; run go generate ./policy")
	}
}

func TestDefaultParses(t *testing.T) {
	p := mustParseDefault()
	if len(p.Commands) < 50 {
		t.Fatalf("%d rules", len(p.Commands))
	}
	for _, r := range p.Commands {
		if r.Reason == "" || r.ID == "" {
			t.Errorf("rule at %v without id or reason", r.Source)
		}
	}
}

func TestProjectFile(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	ws := t.TempDir()
	name := filepath.Join(ws, ProjectFile)

	// No file, and the sandbox's empty placeholder directory, both mean
	// no project policy.
	if _, err := Load(Options{Workspace: ws}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(name, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{Workspace: ws}); err != nil {
		t.Fatalf("empty placeholder: %v", err)
	}
	// A directory with something in it is not a policy.
	if err := os.WriteFile(filepath.Join(name, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{Workspace: ws}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("directory with content: %v", err)
	}
	os.RemoveAll(name)
	// A broken file is an error, never a fallback.
	os.WriteFile(name, []byte("version: 1\ncommands: 3\n"), 0o644)
	_, err := Load(Options{Workspace: ws})
	if err == nil || err.Error() != name+":2:11: commands: expected a list of rules, found a number" {
		t.Fatalf("broken file: %v", err)
	}
	// A fifo or other special file is an error.
	os.Remove(name)
	if err := os.Symlink("/dev/null", name); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Options{Workspace: ws}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("device: %v", err)
	}
}
