package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// layered writes a user and a project policy and loads them.
func layered(t *testing.T, user, project string) (*Policy, error) {
	t.Helper()
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	if user != "" {
		os.MkdirAll(filepath.Join(cfg, "cordon"), 0o755)
		if err := os.WriteFile(filepath.Join(cfg, "cordon", "policy.yaml"), []byte(user), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws := t.TempDir()
	if project != "" {
		if err := os.WriteFile(filepath.Join(ws, ProjectFile), []byte(project), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Load(Options{Workspace: ws})
}

func verdict(t *testing.T, p *Policy, cmd string) (Verdict, string) {
	t.Helper()
	req := testReq
	req.Command = cmd
	d := p.Decide(req)
	return d.Verdict, d.Rule
}

func TestLayers(t *testing.T) {
	user := `version: 1
commands:
  - id: no-docker
    program: docker
    decision: deny
    reason: no containers on this machine
  - id: network-install
    program: npm
    args: [install]
    decision: allow
    reason: the user trusts the registry mirror
limits:
  memory: 2G
  pids: 500
`
	tests := []struct {
		name    string
		project string
		cmd     string
		want    Verdict
		rule    string
		err     string
	}{
		{"user denies", "", "docker ps", Deny, "no-docker", ""},
		{"user allows more", "", "npm install", Allow, "network-install", ""},
		{"project cannot allow what the user denies", `version: 1
commands:
  - {id: docker-ok, program: docker, decision: allow, reason: we need it}
`, "docker ps", Deny, "no-docker", ""},
		{"project cannot allow what the default denies", `version: 1
commands:
  - {id: ok, program: rm, decision: allow, reason: trust me}
`, "rm -rf /", Deny, "delete-outside-workspace", ""},
		{"project cannot allow what the default asks", `version: 1
commands:
  - {id: push, program: git, args: [push], decision: allow, reason: trust me}
`, "git push", Ask, "git-network", ""},
		{"project tightens", `version: 1
commands:
  - {id: no-make, program: make, decision: deny, reason: use the build script}
`, "make all", Deny, "no-make", ""},
		{"project replaces a rule", `version: 1
commands:
  - {id: no-docker, program: docker, decision: allow, reason: mine}
`, "", 0, "", `.cordon.yaml:3:5: rule "no-docker" is already defined by `},
		{"project raises a limit", "version: 1\nlimits:\n  memory: 8G\n", "", 0, "",
			".cordon.yaml:3:11: limits.memory: 8G is more than the 2G allowed by the user or default policy; a project policy can only lower limits"},
		{"project raises pids above the user's", "version: 1\nlimits:\n  pids: 501\n", "", 0, "",
			".cordon.yaml:3:9: limits.pids: 501 is more than the 500 allowed by the user or default policy; a project policy can only lower limits"},
		{"project makes a path writable", "version: 1\nfilesystem:\n  writable: [/var/cache/x]\n", "", 0, "",
			".cordon.yaml:3:14: filesystem.writable: a project policy cannot make /var/cache/x writable"},
		{"project turns the network on", "version: 1\nnetwork:\n  allow: [example.com]\n", "", 0, "",
			".cordon.yaml:3:3: network: a project policy cannot turn the network on"},
		{"project passes a variable", "version: 1\nenv:\n  allow: [AWS_SECRET_ACCESS_KEY]\n", "", 0, "",
			".cordon.yaml:3:11: env.allow: a project policy cannot pass AWS_SECRET_ACCESS_KEY"},
		{"project widens the roots", "version: 1\nfilesystem:\n  read_only_roots: [/usr, /etc]\n", "", 0, "", ""},
		{"project stops redaction", "version: 1\noutput:\n  secrets: flag\n", "", 0, "",
			".cordon.yaml:3:12: output.secrets: flag is weaker than the redact set by the user or default policy"},
		{"project raises the output limit", "version: 1\noutput:\n  limit: 2G\n", "", 0, "",
			".cordon.yaml:3:10: output.limit: 2G is more than the 1M allowed"},
		{"project lets injection through", "version: 1\noutput:\n  injection: withhold\n  withhold_at: high\n", "", 0, "", ""},
		{"project keeps background processes", "version: 1\nsession:\n  keep_background: true\n", "", 0, "",
			".cordon.yaml:3:20: session.keep_background: a project policy cannot let commands keep processes running"},
		{"project bad value", "version: 1\noutput:\n  injection: block\n", "", 0, "",
			".cordon.yaml:3:14: output.injection: expected one of flag, strip, withhold, found \"block\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := layered(t, user, tt.project)
			if tt.err != "" || err != nil {
				if err == nil || tt.err == "" || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if tt.cmd == "" {
				return
			}
			if v, rule := verdict(t, p, tt.cmd); v != tt.want || rule != tt.rule {
				t.Errorf("%s: %s by %s, want %s by %s", tt.cmd, v, rule, tt.want, tt.rule)
			}
		})
	}
}

// Disk settings: a project may lower the disk limit and raise the
// reserve, never the other way; with no user setting, the defaults (no
// limit; a reserve of at most sandbox.DefaultDiskReserve) are what it is
// held to.
func TestDiskLayers(t *testing.T) {
	const user = "version: 1\nlimits:\n  disk: 20G\n  disk_reserve: 4G\n"
	for _, tt := range []struct {
		name, user, project string
		disk, reserve       int64
		err                 string
	}{
		{"user only", user, "", 20 << 30, 4 << 30, ""},
		{"project tightens", user, "version: 1\nlimits:\n  disk: 5G\n  disk_reserve: 8G\n", 5 << 30, 8 << 30, ""},
		{"project raises the limit", user, "version: 1\nlimits:\n  disk: 30G\n", 0, 0,
			".cordon.yaml:3:9: limits.disk: 30G is more than the 20G allowed by the user or default policy; a project policy can only lower limits"},
		{"project lowers the reserve", user, "version: 1\nlimits:\n  disk_reserve: 1G\n", 0, 0,
			".cordon.yaml:3:17: limits.disk_reserve: 1G is less than the 4G reserved by the user or default policy; a project policy can only raise the reserve"},
		{"project sets a limit over no limit", "", "version: 1\nlimits:\n  disk: 100G\n", 100 << 30, 0, ""},
		{"project lowers the default reserve", "", "version: 1\nlimits:\n  disk_reserve: 1G\n", 0, 0,
			".cordon.yaml:3:17: limits.disk_reserve: 1G is less than the 2G reserved by the user or default policy"},
		{"user lowers the default reserve", "version: 1\nlimits:\n  disk_reserve: 512M\n", "", 0, 512 << 20, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := layered(t, tt.user, tt.project)
			if tt.err != "" || err != nil {
				if err == nil || tt.err == "" || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if p.Limits.Disk != tt.disk || p.Limits.DiskReserve != tt.reserve {
				t.Errorf("disk %d, reserve %d; want %d, %d", p.Limits.Disk, p.Limits.DiskReserve, tt.disk, tt.reserve)
			}
			spec := &sandbox.Spec{}
			p.Apply(spec, "/home/u", nil)
			if spec.Limits.Disk != tt.disk || spec.Limits.DiskReserve != tt.reserve {
				t.Errorf("applied: disk %d, reserve %d; want %d, %d", spec.Limits.Disk, spec.Limits.DiskReserve, tt.disk, tt.reserve)
			}
		})
	}
}

// Output settings: the user may loosen them, a project only tighten.
func TestOutputLayers(t *testing.T) {
	p, err := layered(t, "version: 1\noutput:\n  secrets: flag\n  limit: 4M\n", "version: 1\noutput:\n  injection: withhold\n  withhold_at: medium\n  limit: 64K\n")
	if err != nil {
		t.Fatal(err)
	}
	want := Output{Limit: 64 << 10, Secrets: "flag", Injection: "withhold", WithholdAt: "medium"}
	if got := p.Output.Effective(); got != want {
		t.Fatalf("output %+v, want %+v", got, want)
	}
	p, err = layered(t, "", "version: 1\noutput:\n  injection: strip\n")
	if err != nil {
		t.Fatal(err)
	}
	want = Output{Limit: DefaultOutputLimit, Secrets: "redact", Injection: "strip", WithholdAt: "high"}
	if got := p.Output.Effective(); got != want {
		t.Fatalf("output %+v, want %+v", got, want)
	}
}

// The user policy may let session commands keep background processes; a
// project may turn it off again.
func TestSessionLayers(t *testing.T) {
	p, err := layered(t, "version: 1\nsession:\n  keep_background: true\n", "")
	if err != nil || !p.Session.KeepBackground {
		t.Fatalf("user on: %v %+v", err, p.Session)
	}
	p, err = layered(t, "version: 1\nsession:\n  keep_background: true\n", "version: 1\nsession:\n  keep_background: false\n")
	if err != nil || p.Session.KeepBackground {
		t.Fatalf("project off: %v %+v", err, p.Session)
	}
	if p, err := layered(t, "", ""); err != nil || p.Session.KeepBackground {
		t.Fatalf("default: %v %+v", err, p.Session)
	}
}

func TestLayersTighten(t *testing.T) {
	p, err := layered(t, "version: 1\nlimits:\n  memory: 2G\nfilesystem:\n  writable: [/var/cache/tool]\n",
		"version: 1\nlimits:\n  memory: 1G\n  timeout: 1m\nfilesystem:\n  masked: [/opt/secrets]\n  protected: [deploy]\n  writable: [/var/cache/tool/sub]\nnetwork:\n  mode: none\nrequire: [seccomp]\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Limits.Memory != 1<<30 || p.Limits.Timeout.Minutes() != 1 {
		t.Errorf("limits %+v", p.Limits)
	}
	if len(p.Filesystem.Masked) != 1 || len(p.Filesystem.Protected) != 1 || len(p.Require) != 1 {
		t.Errorf("%+v %v", p.Filesystem, p.Require)
	}
	if len(p.Files) != 3 || p.Files[2].Layer != LayerProject {
		t.Errorf("files %v", p.Files)
	}
}

// TestUserReplacesDefault checks that the user layer may loosen the
// default policy by replacing a rule of the same id.
func TestUserReplacesDefault(t *testing.T) {
	p, err := layered(t, "version: 1\ncommands:\n  - {id: npx, program: npx, decision: allow, reason: the user runs npx freely}\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if v, rule := verdict(t, p, "npx tsc"); v != Allow || rule != "npx" {
		t.Errorf("npx: %s by %s", v, rule)
	}
	if v, _ := verdict(t, p, "rm -rf /"); v != Deny {
		t.Errorf("rm -rf /: %s", v)
	}
}

// TestBrokenUserPolicy checks that a broken user file fails the load.
func TestBrokenUserPolicy(t *testing.T) {
	_, err := layered(t, "version: 1\ncommands: [{id: x}]\n", "")
	if err == nil || !strings.Contains(err.Error(), "policy.yaml:2:12: commands rule x: missing decision") {
		t.Fatalf("%v", err)
	}
}

// A project may make an allowed host ask, never turn a refused one into a
// question; the user may ask about anything.
func TestNetworkAsk(t *testing.T) {
	user, err := Parse("user.yaml", []byte("version: 1\nnetwork:\n  allow: [registry.npmjs.org, \"*.pypi.org\"]\n  ask: [api.example.com]\n"), LayerUser)
	if err != nil {
		t.Fatal(err)
	}
	base, err := Merge(Default(), user)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := Parse("p.yaml", []byte("version: 1\nnetwork:\n  ask: [registry.npmjs.org, files.pypi.org]\n"), LayerProject)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Merge(base, ok)
	if err != nil {
		t.Fatalf("a project asking about allowed hosts: %v", err)
	}
	r := m.EgressRules()
	if strings.Join(r.Ask, ",") != "api.example.com,registry.npmjs.org,files.pypi.org" || len(r.Allow) != 2 {
		t.Errorf("merged rules: %+v", r)
	}
	bad, err := Parse("p.yaml", []byte("version: 1\nnetwork:\n  ask: [evil.example]\n"), LayerProject)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(base, bad); err == nil || !strings.Contains(err.Error(), "network.ask: evil.example is not allowed") {
		t.Errorf("a project asking about a host nothing allows: %v", err)
	}
}
