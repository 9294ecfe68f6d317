package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cordon-sh/cordon/sandbox"
)

// PathRequest is a file an agent's own tool (not a shell command) would
// read or write: Claude Code's Read, Edit and Write, an MCP client's file
// tools.
type PathRequest struct {
	// Path is the file; a relative path is taken from Dir.
	Path string
	// Write says the file would be created or changed, not only read.
	Write bool
	// Recursive says a directory would be read with everything below it
	// (a search of its contents), so that a credential store below it
	// counts too.
	Recursive bool
	// Workspace is the absolute path of the project directory.
	Workspace string
	// Dir is the directory relative paths start from; empty means the
	// workspace.
	Dir string
	// Home is the caller's home directory, for "~" and for the masked
	// credential stores.
	Home string
}

// Names of the rules DecidePath applies by itself, besides the command
// rules that match reads and writes (see DecidePath).
const (
	RuleBadPath          = "bad-path"          // the path cannot be judged: deny
	RuleMasked           = "masked"            // a credential store the sandbox hides: deny
	RuleMaskedBelow      = "masked-below"      // a recursive read would reach one: ask
	RuleProtected        = "protected"         // a workspace path kept read-only: deny writes
	RuleOutsideWorkspace = "outside-workspace" // a write outside the workspace: ask
	RulePathAllowed      = "path"              // nothing above applies: allow
)

// DecidePath judges a read or a write of one file by an agent's own tool,
// with the same lists the sandbox enforces on commands, so that a file a
// sandboxed command cannot reach is not reached by the agent's file tools
// either:
//
//   - a path in a masked credential store (sandbox.DefaultMasked and the
//     policy's filesystem.masked) is denied, read or write;
//   - a write to a protected workspace path (sandbox.DefaultProtected and
//     the policy's filesystem.protected: .git/hooks, .git/config,
//     .cordon.yaml, .claude, .mcp.json …) is denied: these grant
//     permissions or run code later, and cordon's own hook is configured
//     there;
//   - a write outside the workspace and the policy's writable paths gets
//     Ask: the agent's host may edit such files when its user says so, so
//     the question goes to that user rather than being refused outright;
//   - the command rules that match redirections (read and write patterns,
//     such as secrets-file-read or write-system-redirect) apply as they
//     would to "cat < PATH" and ": > PATH".
//
// The path is judged both as written (cleaned of "." and "..") and with
// every symbolic link resolved, for the part of it that exists: a link in
// the workspace that points at ~/.ssh is judged as ~/.ssh. The strictest
// verdict wins. DecidePath reads the file system (to resolve links) but
// never changes it; it may be called from several goroutines at once.
func (p *Policy) DecidePath(req PathRequest) *Decision {
	if req.Path == "" || strings.ContainsRune(req.Path, 0) {
		return &Decision{Verdict: Deny, Rule: RuleBadPath, Reason: "the path is empty or holds a NUL byte"}
	}
	home := req.Home
	path := req.Path
	if path == "~" || strings.HasPrefix(path, "~/") {
		if home == "" {
			return &Decision{Verdict: Deny, Rule: RuleBadPath, Reason: fmt.Sprintf("%s: the home directory is not known", path)}
		}
		path = filepath.Join(home, path[1:])
	}
	if !filepath.IsAbs(path) {
		base := req.Dir
		if base == "" || !filepath.IsAbs(base) {
			if req.Workspace == "" || !filepath.IsAbs(req.Workspace) {
				return &Decision{Verdict: Deny, Rule: RuleBadPath, Reason: fmt.Sprintf("%s: a relative path without an absolute workspace to resolve it in", path)}
			}
			base = filepath.Join(req.Workspace, base)
		}
		path = filepath.Join(base, path)
	}
	lexical := filepath.Clean(path)
	resolved := resolveLinks(lexical)

	ws := filepath.Clean(req.Workspace)
	wsResolved := resolveLinks(ws)
	j := &pathJudge{p: p, req: req, home: home, targets: map[string]string{}}
	j.masked = p.maskedPaths(home)
	d := j.judge(lexical, ws)
	if resolved != lexical || wsResolved != ws {
		if r := j.judge(resolved, wsResolved); r.Verdict > d.Verdict {
			if resolved != lexical {
				r.Reason = fmt.Sprintf("%s (%s resolves to %s)", r.Reason, lexical, resolved)
			}
			d = r
		}
	}
	return d
}

// pathJudge holds what one DecidePath call compares against.
type pathJudge struct {
	p      *Policy
	req    PathRequest
	home   string
	masked []maskedPath
	// targets are the protected paths with their links resolved, by
	// workspace-relative path; both spellings of the workspace resolve
	// the same.
	targets map[string]string
}

type maskedPath struct {
	path   string
	policy bool // from the policy file rather than cordon's defaults
}

// maskedPaths returns the credential stores hidden from commands: cordon's
// defaults for home and those the policy adds.
func (p *Policy) maskedPaths(home string) []maskedPath {
	var out []maskedPath
	for _, m := range sandbox.DefaultMasked(home) {
		out = append(out, maskedPath{path: filepath.Clean(m)})
	}
	for _, m := range expandHome(p.Filesystem.Masked, home) {
		out = append(out, maskedPath{path: m, policy: true})
	}
	return out
}

// expandHome makes "~/x" absolute under home and cleans every path; a
// "~" path is dropped when home is unknown.
func expandHome(list []string, home string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s == "~" || strings.HasPrefix(s, "~/") {
			if home == "" {
				continue
			}
			s = filepath.Join(home, s[1:])
		}
		out = append(out, filepath.Clean(s))
	}
	return out
}

// judge decides for one spelling of the path, absolute and clean, against
// the workspace spelled the same way.
func (j *pathJudge) judge(path, ws string) *Decision {
	for _, m := range j.masked {
		if within(path, m.path) {
			return &Decision{Verdict: Deny, Rule: RuleMasked, Reason: fmt.Sprintf("%s is in %s, a credential store hidden from the agent%s", path, m.path, j.fromPolicy(m.policy, "masked"))}
		}
	}
	if j.req.Recursive && !j.req.Write {
		for _, m := range j.masked {
			if within(m.path, path) && m.path != path {
				return &Decision{Verdict: Ask, Rule: RuleMaskedBelow, Reason: fmt.Sprintf("reading all of %s reaches %s, a credential store hidden from the agent", path, m.path)}
			}
		}
	}
	inWS := ws != "" && ws != "." && filepath.IsAbs(ws) && within(path, ws)
	var d *Decision
	if j.req.Write {
		if inWS {
			rel, _ := filepath.Rel(ws, path)
			if rel == ".git" {
				return &Decision{Verdict: Deny, Rule: RuleProtected, Reason: fmt.Sprintf("%s is protected: it tells git where its config and hooks are", path)}
			}
			for _, pr := range j.protected() {
				// Also where a link on the way leads, as the sandbox holds
				// it, whether or not the rest exists yet.
				target, ok := j.targets[pr.path]
				if !ok {
					target = filepath.Join(ws, pr.path)
					if linkOnTheWay(ws, pr.path) {
						target = resolveLinks(target)
					}
					j.targets[pr.path] = target
				}
				if within(rel, pr.path) || within(path, target) {
					return &Decision{Verdict: Deny, Rule: RuleProtected, Reason: fmt.Sprintf("%s is protected: it grants permissions or runs code outside the sandbox later, so only the user changes it%s", filepath.Join(ws, pr.path), j.fromPolicy(pr.policy, "protected"))}
				}
			}
		} else if !j.writable(path) {
			d = &Decision{Verdict: Ask, Rule: RuleOutsideWorkspace, Reason: fmt.Sprintf("writes %s, outside the workspace %s", path, ws)}
		}
	}
	if r := j.commandRules(path, ws); d == nil || r.Verdict > d.Verdict {
		d = r
	}
	return d
}

// protected returns the workspace paths kept read-only, relative to the
// workspace.
func (j *pathJudge) protected() []maskedPath {
	var out []maskedPath
	for _, s := range sandbox.DefaultProtected {
		out = append(out, maskedPath{path: filepath.Clean(s)})
	}
	for _, s := range j.p.Filesystem.Protected {
		out = append(out, maskedPath{path: filepath.Clean(s), policy: true})
	}
	return out
}

// writable reports whether path is under one of the policy's writable
// host paths.
func (j *pathJudge) writable(path string) bool {
	for _, w := range expandHome(j.p.Filesystem.Writable, j.home) {
		if within(path, w) {
			return true
		}
	}
	return false
}

func (j *pathJudge) fromPolicy(policy bool, key string) string {
	if !policy {
		return ""
	}
	if s, ok := j.p.at["filesystem."+key]; ok {
		return fmt.Sprintf(" (filesystem.%s, %s)", key, s)
	}
	return fmt.Sprintf(" (filesystem.%s in the policy)", key)
}

// commandRules judges the access as the redirection a shell command would
// use for it, so that the rules on reads and writes (the default ones and
// the user's) apply to the agent's file tools too. Only the rules that
// matched count: the command around the redirection is a stand-in.
func (j *pathJudge) commandRules(path, ws string) *Decision {
	text := "cat < " + quote(path)
	if j.req.Write {
		text = ": > " + quote(path)
	}
	cd := j.p.Decide(Request{Command: text, Workspace: ws, Home: j.home})
	d := &Decision{Verdict: Allow, Rule: RulePathAllowed, Reason: "no rule restricts this path"}
	if j.req.Write {
		d.Reason = "a write inside the workspace that no rule restricts"
	}
	for _, c := range cd.Commands {
		for _, m := range c.Matched {
			if m.Verdict > d.Verdict {
				d = &Decision{Verdict: m.Verdict, Rule: m.Rule, Reason: m.Reason}
			}
		}
	}
	if cd.Rule == RuleParseError {
		// quote makes any path one word; a parse error means a bug here,
		// and a bug must not let a path through.
		return &Decision{Verdict: Deny, Rule: RuleBadPath, Reason: cd.Reason}
	}
	return d
}

// quote makes s one single-quoted shell word.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// within reports whether path is dir or below it. Both are clean; dir may
// be relative, and then so is path.
func within(path, dir string) bool {
	if path == dir || dir == "/" && strings.HasPrefix(path, "/") {
		return true
	}
	return strings.HasPrefix(path, dir) && len(path) > len(dir) && path[len(dir)] == '/'
}

// linkOnTheWay reports whether a component of rel below ws, up to the
// first one missing, is a symbolic link: one Lstat a component, where
// resolveLinks costs several for a path that does not exist.
func linkOnTheWay(ws, rel string) bool {
	cur := ws
	for c := range strings.SplitSeq(rel, "/") {
		cur = filepath.Join(cur, c)
		st, err := os.Lstat(cur)
		if err != nil {
			return false
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// ResolveLinks is resolveLinks, for the file tools' view of the sandbox.
func ResolveLinks(path string) string { return resolveLinks(path) }

// resolveLinks returns path with every symbolic link resolved, as far as
// the path exists: the part that does not exist yet (a file about to be
// written) is appended to the resolved existing part. A dangling link at
// the end is followed to its target, where a write would create the file.
func resolveLinks(path string) string {
	if path == "" || !filepath.IsAbs(path) {
		return path
	}
	var rest []string
	cur := path
	for range 256 {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			for i := len(rest) - 1; i >= 0; i-- {
				r = filepath.Join(r, rest[i])
			}
			return r
		}
		// A dangling link: follow it by hand, once per round.
		if target, err := os.Readlink(cur); err == nil {
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(cur), target)
			}
			cur = filepath.Clean(target)
			continue
		} else if !errors.Is(err, fs.ErrNotExist) && !isNotLink(err) {
			return path
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return path
		}
		rest = append(rest, filepath.Base(cur))
		cur = parent
	}
	return path
}

// isNotLink reports the error Readlink gives for a file that exists but is
// not a link.
func isNotLink(err error) bool { return errors.Is(err, syscall.EINVAL) }
