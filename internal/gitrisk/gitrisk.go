// Package gitrisk tells which parts of a git configuration make git run
// a command, or read configuration or code from somewhere else: what a
// sandboxed command must not be able to leave behind in a repository that
// git will later use on the host.
package gitrisk

import (
	"bytes"
	"strings"
)

// MaxConfig is the largest config read; a larger one counts as risky.
const MaxConfig = 4 << 20

// commandKeys are config keys, in lower case, whose value git runs as a
// command, that point git at other config or code, or that change where
// it looks for them. A key ending in "." stands for its whole section.
var commandKeys = []string{
	"core.fsmonitor", "core.hookspath", "core.sshcommand", "core.pager", "core.editor",
	"core.askpass", "core.gitproxy", "core.alternaterefscommand", "core.worktree",
	"sequence.editor", "gpg.", "trailer.", "browser.", "man.", "sendemail.", "imap.",
	"web.browser", "instaweb.", "init.templatedir",
	"uploadpack.packobjectshook", "receive.procreceiverefs", "extensions.worktreeconfig",
	"include.", "includeif.", "filter.", "diff.", "merge.", "alias.", "credential.",
	"remote.", "url.", "protocol.", "safe.", "http.", "pager.", "difftool.",
	"mergetool.", "interactive.", "submodule.", "uploadpack.", "receive.", "ssh.",
}

// inertRemote are the keys of a [remote "x"] or [submodule "x"] section
// that git clone, git remote and git submodule write and that run
// nothing: which refs to fetch, and the URL, unless the URL names a
// transport that runs a command (ext::, fd::).
var inertRemote = map[string]bool{
	"url": true, "pushurl": true, "fetch": true, "push": true, "tagopt": true, "mirror": true,
	"prune": true, "prunetags": true, "skipdefaultupdate": true, "skipfetchall": true,
	"promisor": true, "partialclonefilter": true, "followremotehead": true,
	"path": true, "active": true, "branch": true, "shallow": true, "ignore": true,
	"fetchrecursesubmodules": true,
}

// Config lists the entries of a git config file (its content) that make
// git run a command or look elsewhere, as "section.key=value" (the section
// and key in lower case). It reads the whole text: an entry hidden behind a
// long line is still an entry. What it cannot parse is itself listed, so
// that an unreadable config counts as risky, never as clean.
func Config(data []byte) []string {
	if len(data) > MaxConfig {
		return []string{"an oversized config"}
	}
	var out []string
	section := ""
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // git skips a UTF-8 byte order mark
	for _, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if strings.HasSuffix(line, `\`) {
			// A value continued on the next line: not worth parsing.
			return append(out, "an unparsable config (a continued line)")
		}
		for line != "" {
			if line[0] == '#' || line[0] == ';' {
				break
			}
			if line[0] == '[' {
				end := strings.IndexByte(line, ']')
				if end < 0 {
					return append(out, "an unparsable config")
				}
				// [filter "x"] → filter.x; [core] → core. Any blank
				// separates the subsection, as git reads it.
				name := strings.TrimSpace(line[1:end])
				if k := strings.IndexAny(name, " \t\r\v\f"); k >= 0 {
					name = name[:k] + "." + strings.Trim(strings.TrimSpace(name[k+1:]), `"`)
				}
				section = strings.ToLower(name)
				line = strings.TrimSpace(line[end+1:])
				continue
			}
			key, value, _ := strings.Cut(line, "=")
			key = strings.ToLower(strings.TrimSpace(key))
			// git drops quotes anywhere in a value: "ext"::x is ext::x.
			value = strings.ReplaceAll(strings.TrimSpace(value), `"`, "")
			full := section + "." + key
			if risky(section, key, full, value) {
				out = append(out, full+"="+value)
			}
			break
		}
	}
	return out
}

func risky(section, key, full, value string) bool {
	matched := false
	for _, k := range commandKeys {
		if full == k || (strings.HasSuffix(k, ".") && strings.HasPrefix(full, k)) {
			matched = true
			break
		}
	}
	if !matched {
		return false
	}
	sec, sub, ok := strings.Cut(section, ".")
	if ok && sub != "" && (sec == "remote" || sec == "submodule") && inertRemote[key] {
		v := strings.ToLower(value)
		return strings.HasPrefix(v, "ext::") || strings.HasPrefix(v, "fd::")
	}
	return true
}

// Added returns the entries of now that were not in before: what a
// change to a config added that makes git run something.
func Added(before, now []byte) []string {
	had := map[string]bool{}
	if before != nil {
		for _, e := range Config(before) {
			had[e] = true
		}
	}
	var out []string
	for _, e := range Config(now) {
		// What could not be read is never taken as unchanged.
		if !had[e] || strings.HasPrefix(e, "an ") {
			out = append(out, e)
		}
	}
	return out
}
