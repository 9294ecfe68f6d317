package linux

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A workspace without a .git gets no placeholder for it (see
// planProtected), so a command may create a repository. Its hooks and its
// config are what a later git run on the host would execute, so once the
// run is over (every process in it dead) the new repository is read, and
// if it carries anything that runs commands it is moved aside, not
// deleted, and the run reports it.

// gitCommandKeys are config keys, in lower case, whose value git runs as a
// command or that point git at commands to run. A key matching a prefix
// ending in "." counts for every subsection (filter.x.clean and so on).
var gitCommandKeys = []string{
	"core.fsmonitor", "core.hookspath", "core.sshcommand", "core.pager", "core.editor",
	"core.askpass", "core.gitproxy", "core.alternaterefscommand", "sequence.editor",
	"gpg.program", "gpg.ssh.program", "gpg.x509.program", "credential.helper",
	"uploadpack.packobjectshook", "receive.procreceiverefs", "include.path",
	"includeif.", "filter.", "diff.", "merge.", "alias.", "credential.",
	"remote.", "url.", "protocol.", "safe.directory", "http.proxy", "pager.",
	"difftool.", "mergetool.", "interactive.difffilter", "submodule.",
}

// checkNewRepo inspects the repository at dir, created during the run.
// It returns what it found and did, or "" when the repository is inert.
func checkNewRepo(dir string) string {
	st, err := os.Lstat(dir)
	if err != nil {
		return ""
	}
	var found []string
	if !st.IsDir() {
		found = append(found, ".git is a file (it can point git at another directory)")
	} else {
		found = append(found, riskyHooks(filepath.Join(dir, "hooks"))...)
		found = append(found, riskyConfig(filepath.Join(dir, "config"))...)
	}
	if len(found) == 0 {
		return ""
	}
	aside := fmt.Sprintf("%s.quarantined-%d", dir, time.Now().Unix())
	if err := os.Rename(dir, aside); err != nil {
		return fmt.Sprintf("a repository created in the run sets %s, and moving it aside failed: %v; do not run git in %s before checking it",
			strings.Join(found, ", "), err, filepath.Dir(dir))
	}
	return fmt.Sprintf("a repository created in the run sets %s; it was moved to %s", strings.Join(found, ", "), aside)
}

// riskyHooks lists the hooks that git would run: every file but the
// samples git init copies from its templates.
func riskyHooks(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sample") {
			out = append(out, "hook "+e.Name())
		}
	}
	return out
}

// riskyConfig lists the config keys that make git run commands.
func riskyConfig(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return append(out, "an unparsable config")
			}
			// [filter "x"] → filter.x; [core] → core.
			name := strings.TrimSpace(line[1:end])
			if sec, sub, ok := strings.Cut(name, " "); ok {
				name = sec + "." + strings.Trim(strings.TrimSpace(sub), `"`)
			}
			section = strings.ToLower(name)
			rest := strings.TrimSpace(line[end+1:])
			if rest == "" {
				continue
			}
			line = rest
		}
		key, _, _ := strings.Cut(line, "=")
		full := section + "." + strings.ToLower(strings.TrimSpace(key))
		for _, k := range gitCommandKeys {
			if full == k || (strings.HasSuffix(k, ".") && strings.HasPrefix(full, k)) {
				out = append(out, full)
				break
			}
		}
	}
	return out
}
