package gitrisk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitReads asks the real git what value it reads for key in config: only
// reading, git config --get runs nothing.
func gitReads(t *testing.T, config, key string) (string, bool) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	f := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(f, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(git, "config", "--file", f, "--get", key)
	cmd.Env = []string{"HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(string(out), "\n"), true
}

// TestConfigReview2UnlistedCommandKeys holds keys that git's own
// documentation (git-config(1)) describes as a command git runs, none of
// which commandKeys lists: gpg.ssh.defaultKeyCommand (git commit with ssh
// signing; see guard's TestReview2GitSSHDefaultKeyCommandMissed),
// trailer.<t>.cmd (git commit --trailer), browser.<t>.cmd and
// man.<t>.cmd (git help), sendemail.smtpServer (a path to a sendmail-like
// program), sendemail.toCmd, imap.tunnel.
func TestConfigReview2UnlistedCommandKeys(t *testing.T) {
	for _, config := range []string{
		"[gpg \"ssh\"]\n\tdefaultKeyCommand = /nonexistent/review2\n",
		"[trailer \"sign\"]\n\tcmd = /nonexistent/review2\n",
		"[browser \"b\"]\n\tcmd = /nonexistent/review2\n",
		"[man \"m\"]\n\tcmd = /nonexistent/review2\n",
		"[sendemail]\n\tsmtpServer = /nonexistent/review2\n",
		"[sendemail]\n\ttoCmd = /nonexistent/review2\n",
		"[imap]\n\ttunnel = /nonexistent/review2\n",
	} {
		if got := Config([]byte(config)); len(got) == 0 {
			t.Errorf("Config(%q) found nothing, but git runs the value as a command", config)
		}
	}
}

// TestConfigReview2SpellingsGitObeys holds configs that git reads as a
// key that runs a command (checked against the real git first), spelled
// so that Config's line parser does not see it.
func TestConfigReview2SpellingsGitObeys(t *testing.T) {
	tests := []struct {
		name, config, key, want string
	}{
		// git skips a UTF-8 byte order mark at the start of a config;
		// Config takes the header line for a key and loses the section.
		{"byte order mark", "\xef\xbb\xbf[core]\n\tfsmonitor = /nonexistent/review2\n", "core.fsmonitor", "/nonexistent/review2"},
		// git accepts any white space between a section and its
		// subsection; Config only cuts at a space, so the section
		// becomes `filter\t"x"`, which matches no risky prefix.
		{"tab before subsection", "[filter\t\"x\"]\n\tclean = /nonexistent/review2\n", "filter.x.clean", "/nonexistent/review2"},
		{"carriage return before subsection", "[credential\r\"https://h\"]\n\thelper = !/nonexistent/review2\n", "credential.https://h.helper", "!/nonexistent/review2"},
		{"tab before remote subsection", "[remote\t\"o\"]\n\tuploadpack = /nonexistent/review2\n", "remote.o.uploadpack", "/nonexistent/review2"},
		// git removes quotes anywhere in a value; Config only trims
		// them at the ends, so the ext:: transport is not seen.
		{"quoted transport name", "[remote \"o\"]\n\turl = \"ext\"::/nonexistent/review2\n", "remote.o.url", "ext::/nonexistent/review2"},
		{"quoted colons", "[submodule \"s\"]\n\turl = ext\"::\"/nonexistent/review2\n", "submodule.s.url", "ext::/nonexistent/review2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := gitReads(t, tt.config, tt.key)
			if !ok || got != tt.want {
				t.Fatalf("git reads %s as %q (ok=%v), want %q: the case does not hold", tt.key, got, ok, tt.want)
			}
			if risky := Config([]byte(tt.config)); len(risky) == 0 {
				t.Errorf("Config(%q) found nothing, but git reads %s = %q", tt.config, tt.key, got)
			}
		})
	}
}
