package gitrisk

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		config string
		want   string // comma-joined entries
	}{
		{"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n", ""},
		{"[core]\n\tfsmonitor = touch /tmp/x\n", "core.fsmonitor=touch /tmp/x"},
		{"[Core]\n\tHooksPath = /tmp/h\n", "core.hookspath=/tmp/h"},
		{"[core] sshCommand = sh -c id\n", "core.sshcommand=sh -c id"},
		{"[filter \"lfs\"]\n\tclean = sh -c id\n", "filter.lfs.clean=sh -c id"},
		{"[alias]\n\tst = !sh -c id\n", "alias.st=!sh -c id"},
		{"[include]\n\tpath = ../evil\n", "include.path=../evil"},
		{"[user]\n\tname = n\n\temail = e\n[branch \"main\"]\n\tremote = origin\n", ""},
		{"[core\n", "an unparsable config"},
		{"[alias]\n\tx = !sh \\\n -c id\n", "an unparsable config (a continued line)"},
		{"# " + strings.Repeat("x", 70000) + "\n[core]\n\tfsmonitor = x\n", "core.fsmonitor=x"},
		{"[core]\n\tbare = false\n[extensions]\n\tworktreeConfig = true\n", "extensions.worktreeconfig=true"},
		// What git clone and git submodule write runs nothing...
		{"[remote \"origin\"]\n\turl = https://example.com/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", ""},
		{"[submodule \"lib\"]\n\turl = ../lib.git\n\tactive = true\n", ""},
		// ...unless the URL is a command, or the section names one.
		{"[remote \"origin\"]\n\turl = ext::sh -c id\n", "remote.origin.url=ext::sh -c id"},
		{"[remote \"o\"]\n\tuploadpack = sh -c id\n", "remote.o.uploadpack=sh -c id"},
		{"[submodule \"lib\"]\n\tupdate = !sh -c id\n", "submodule.lib.update=!sh -c id"},
		{"[remote]\n\tpushDefault = x\n", "remote.pushdefault=x"},
	}
	for _, tt := range tests {
		if got := strings.Join(Config([]byte(tt.config)), ","); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.config, got, tt.want)
		}
	}
}

func TestAdded(t *testing.T) {
	before := []byte("[core]\n\tbare = false\n[alias]\n\tst = !git status\n")
	if got := Added(before, before); len(got) != 0 {
		t.Errorf("unchanged config: %v", got)
	}
	user := append(append([]byte{}, before...), "[user]\n\temail = a@b\n"...)
	if got := Added(before, user); len(got) != 0 {
		t.Errorf("git config user.email: %v", got)
	}
	evil := append(append([]byte{}, before...), "[core]\n\tfsmonitor = sh -c id\n"...)
	if got := strings.Join(Added(before, evil), ","); got != "core.fsmonitor=sh -c id" {
		t.Errorf("a new fsmonitor: %q", got)
	}
	if got := strings.Join(Added(nil, evil), ","); got != "alias.st=!git status,core.fsmonitor=sh -c id" {
		t.Errorf("a created config: %q", got)
	}
	broken := []byte("[core\n")
	if got := Added(broken, broken); len(got) != 1 {
		t.Errorf("an unparsable config counts as unchanged: %v", got)
	}
}
