package verify

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// A pathRule flags changes to files that something runs, or reads as
// instructions, later and outside the sandbox. The severities follow one
// line: high where the code runs without anyone choosing to run it
// (CI on push, git hooks and config on the next git command, npm
// lifecycle scripts on install, shell start-up files, tasks an editor
// runs on opening, agent hooks and MCP servers); medium where it runs
// when someone runs a tool that is not usually read first (pre-commit,
// editor launch settings, build-system hooks) or where the file is
// instructions, not code (CLAUDE.md); low where the file is code that
// an agent edits in ordinary work and a reviewer reads as code
// (Makefile, build.rs, setup.py).
type pathRule struct {
	rule     string
	severity Severity
	what     string
}

// baseRules match a file's name at any depth: nested projects have
// their own CI, manifests and settings.
var baseRules = map[string]pathRule{
	".gitlab-ci.yml":          {"ci-workflow", SeverityHigh, "GitLab CI pipeline"},
	"Jenkinsfile":             {"ci-workflow", SeverityHigh, "Jenkins pipeline"},
	"azure-pipelines.yml":     {"ci-workflow", SeverityHigh, "Azure Pipelines definition"},
	".travis.yml":             {"ci-workflow", SeverityHigh, "Travis CI definition"},
	"bitbucket-pipelines.yml": {"ci-workflow", SeverityHigh, "Bitbucket Pipelines definition"},
	".drone.yml":              {"ci-workflow", SeverityHigh, "Drone CI definition"},

	".gitmodules":    {"git-config", SeverityMedium, "submodule list (URLs git fetches)"},
	".gitattributes": {"git-config", SeverityMedium, "git attributes (filter and diff drivers)"},

	".npmrc":                  {"package-scripts", SeverityHigh, "npm configuration (registry, script shell, node options)"},
	".yarnrc":                 {"package-scripts", SeverityHigh, "yarn configuration"},
	".yarnrc.yml":             {"package-scripts", SeverityHigh, "yarn configuration (yarnPath runs on every yarn command)"},
	".pnpmfile.cjs":           {"package-scripts", SeverityHigh, "pnpm hooks (run on install)"},
	".pre-commit-config.yaml": {"package-scripts", SeverityMedium, "pre-commit hooks (run on git commit)"},
	"setup.py":                {"package-scripts", SeverityLow, "setup.py (runs on pip install)"},
	"Makefile":                {"package-scripts", SeverityLow, "Makefile"},
	"makefile":                {"package-scripts", SeverityLow, "Makefile"},
	"GNUmakefile":             {"package-scripts", SeverityLow, "Makefile"},
	"build.rs":                {"package-scripts", SeverityLow, "Cargo build script (runs on cargo build)"},

	".bashrc":       {"shell-rc", SeverityHigh, "shell start-up file"},
	".bash_profile": {"shell-rc", SeverityHigh, "shell start-up file"},
	".bash_login":   {"shell-rc", SeverityHigh, "shell start-up file"},
	".bash_logout":  {"shell-rc", SeverityHigh, "shell start-up file"},
	".profile":      {"shell-rc", SeverityHigh, "shell start-up file"},
	".zshrc":        {"shell-rc", SeverityHigh, "shell start-up file"},
	".zshenv":       {"shell-rc", SeverityHigh, "shell start-up file"},
	".zprofile":     {"shell-rc", SeverityHigh, "shell start-up file"},
	".zlogin":       {"shell-rc", SeverityHigh, "shell start-up file"},
	".envrc":        {"shell-rc", SeverityHigh, "direnv file (runs on cd)"},

	".mcp.json":       {"agent-config", SeverityHigh, "MCP server list (commands an agent starts)"},
	".aider.conf.yml": {"agent-config", SeverityHigh, "aider configuration (lint and test commands)"},
	"CLAUDE.md":       {"agent-config", SeverityMedium, "agent instructions"},
	"CLAUDE.local.md": {"agent-config", SeverityMedium, "agent instructions"},
	"AGENTS.md":       {"agent-config", SeverityMedium, "agent instructions"},
	"GEMINI.md":       {"agent-config", SeverityMedium, "agent instructions"},
	".cursorrules":    {"agent-config", SeverityMedium, "agent instructions"},
	".windsurfrules":  {"agent-config", SeverityMedium, "agent instructions"},
}

// dirRules match every file under a directory of that name, at any
// depth; the longer key is tried first.
var dirRules = map[string]pathRule{
	".github/workflows": {"ci-workflow", SeverityHigh, "GitHub Actions workflow"},
	".github/actions":   {"ci-workflow", SeverityHigh, "GitHub Actions action"},
	".circleci":         {"ci-workflow", SeverityHigh, "CircleCI configuration"},
	".buildkite":        {"ci-workflow", SeverityHigh, "Buildkite pipeline"},
	".gitlab/ci":        {"ci-workflow", SeverityHigh, "GitLab CI include"},
	".husky":            {"git-hooks", SeverityHigh, "husky git hook"},
	".cargo":            {"package-scripts", SeverityHigh, "Cargo configuration (runner, rustc wrapper)"},
	".devcontainer":     {"editor-tasks", SeverityHigh, "dev container definition (initializeCommand runs on the host)"},
	".idea":             {"editor-tasks", SeverityMedium, "JetBrains project settings (run configurations, tools)"},
	".claude":           {"agent-config", SeverityHigh, "agent settings (hooks, commands, MCP servers)"},
	".cursor":           {"agent-config", SeverityHigh, "agent settings"},
	".codex":            {"agent-config", SeverityHigh, "agent settings"},
	".gemini":           {"agent-config", SeverityHigh, "agent settings"},
	".windsurf":         {"agent-config", SeverityHigh, "agent settings"},
}

// fileRules match a path ending in that sequence of elements.
var fileRules = map[string]pathRule{
	".vscode/tasks.json":              {"editor-tasks", SeverityHigh, "VS Code tasks (can run on folder open)"},
	".vscode/mcp.json":                {"agent-config", SeverityHigh, "MCP server list (commands an agent starts)"},
	".vscode/settings.json":           {"editor-tasks", SeverityMedium, "VS Code settings (interpreters, terminal profiles)"},
	".vscode/launch.json":             {"editor-tasks", SeverityMedium, "VS Code launch configurations"},
	".github/copilot-instructions.md": {"agent-config", SeverityMedium, "agent instructions"},
}

// dirRuleKeys is dirRules' keys, longest first.
var dirRuleKeys = func() []string {
	k := slices.Collect(maps.Keys(dirRules))
	slices.SortFunc(k, func(a, b string) int { return len(b) - len(a) })
	return k
}()

// gitPlace says where a path lies with respect to git's own directory.
type gitPlace int

const (
	notGit      gitPlace = iota
	gitListed            // in .git, and something git runs or obeys
	gitInternal          // objects, refs, logs, index: counted, not listed
)

// gitRule places a path that has a ".git" element and says what rule,
// if any, it falls under. A commit writes dozens of objects and logs;
// none of them can make git run anything, so they are only counted.
// What can — hooks, config, attributes, a .git file pointing elsewhere —
// is listed and flagged.
func gitRule(rel string) (gitPlace, *pathRule) {
	i := gitElem(rel)
	if i < 0 {
		return notGit, nil
	}
	in := ""
	if i+4 < len(rel) {
		in = rel[i+5:]
	}
	// Submodules keep whole git directories under modules/<name>/.
	for strings.HasPrefix(in, "modules/") {
		j := strings.Index(in, "/hooks/")
		k := strings.LastIndex(in, "/")
		switch {
		case j >= 0:
			in = in[j+1:]
		case in[k+1:] == "config", in[k+1:] == "config.worktree", in[k+1:] == "commondir":
			in = in[k+1:]
		default:
			return gitInternal, nil
		}
	}
	switch {
	case in == "":
		return gitListed, &pathRule{"git-config", SeverityHigh, "git directory or gitdir file"}
	case strings.HasPrefix(in, "hooks/"):
		if strings.HasSuffix(in, ".sample") {
			return gitListed, nil
		}
		return gitListed, &pathRule{"git-hooks", SeverityHigh, "git hook (runs on git commands)"}
	case in == "config", in == "config.worktree", in == "commondir",
		strings.HasPrefix(in, "worktrees/") && (strings.HasSuffix(in, "/config.worktree") || strings.HasSuffix(in, "/commondir")):
		return gitListed, &pathRule{"git-config", SeverityHigh, "git configuration (fsmonitor, hooksPath, filters run commands)"}
	case in == "info/attributes":
		return gitListed, &pathRule{"git-config", SeverityMedium, "git attributes (filter and diff drivers)"}
	case strings.HasPrefix(in, "info/"), in == "hooks":
		return gitListed, nil
	}
	return gitInternal, nil
}

// GitControl says whether rel (relative to the workspace, with /) is a
// path through which a later git command on the host would run code or
// read configuration, in the repository at the workspace's root or in any
// nested one or submodule: "hook" (hooks/ or a hook in it, samples
// aside), "config" (config, config.worktree), "commondir", or "gitdir"
// (the .git directory or file itself). Otherwise it returns "".
func GitControl(rel string) string {
	i := gitElem(rel)
	if i < 0 {
		return ""
	}
	if i+4 == len(rel) {
		return "gitdir"
	}
	in := rel[i+5:]
	if in == "hooks" || strings.HasPrefix(in, "modules/") && strings.HasSuffix(in, "/hooks") {
		return "hook" // the directory itself, replaced by a symlink, say
	}
	place, rule := gitRule(rel)
	switch {
	case place != gitListed || rule == nil || rule.severity != SeverityHigh:
		return ""
	case rule.rule == "git-hooks":
		return "hook"
	case path.Base(rel) == "commondir":
		return "commondir"
	}
	return "config"
}

// bareControl is GitControl for a path outside any .git directory: when
// rel is a hook, hooks/, config, config.worktree or commondir of a
// directory that holds a git directory's HEAD and objects/ (a bare
// repository), it says which; otherwise "".
func bareControl(root, rel string) string {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	var repo, ctl string
	switch {
	case path.Base(dir) == "hooks" && dir != "" && !strings.HasSuffix(base, ".sample"):
		repo, ctl = path.Dir(dir), "hook"
	case base == "hooks":
		repo, ctl = dir, "hook"
	case base == "config" || base == "config.worktree":
		repo, ctl = dir, "config"
	case base == "commondir":
		repo, ctl = dir, "commondir"
	default:
		return ""
	}
	if repo == "" {
		repo = "."
	}
	// git takes a HEAD that is a symlink into refs/, and an objects that
	// is a symlink to a directory: either counts.
	d := filepath.Join(root, filepath.FromSlash(repo))
	head, err1 := os.Lstat(filepath.Join(d, "HEAD"))
	objects, err2 := os.Stat(filepath.Join(d, "objects"))
	if err1 != nil || err2 != nil || !(head.Mode().IsRegular() || head.Mode()&fs.ModeSymlink != 0) || !objects.IsDir() {
		return ""
	}
	return ctl
}

// gitKeptName is the cheap test before keepGit, which the snapshot would
// otherwise run on every path of the tree: only these names are kept.
func gitKeptName(name []byte) bool {
	switch string(name) {
	case "config", "config.worktree", "commondir":
		return true
	}
	return false
}

// keepGit says whether the snapshot keeps rel's content: a git config or
// commondir, so that a change to it can be compared and undone.
func keepGit(rel string) bool {
	switch GitControl(rel) {
	case "config", "commondir":
		return true
	}
	return false
}

// gitElem returns the offset of the first ".git" element of rel, or -1.
func gitElem(rel string) int {
	for i := 0; ; {
		j := strings.Index(rel[i:], ".git")
		if j < 0 {
			return -1
		}
		j += i
		if (j == 0 || rel[j-1] == '/') && (j+4 == len(rel) || rel[j+4] == '/') {
			return j
		}
		i = j + 4
	}
}

// pathRuleFor returns the rule a path outside .git falls under, or nil.
func pathRuleFor(rel string) *pathRule {
	base := path.Base(rel)
	if r, ok := baseRules[base]; ok {
		return &r
	}
	for suffix, r := range fileRules {
		if rel == suffix || strings.HasSuffix(rel, "/"+suffix) {
			return &r
		}
	}
	for _, d := range dirRuleKeys {
		if strings.HasPrefix(rel, d+"/") || strings.Contains(rel, "/"+d+"/") {
			r := dirRules[d]
			return &r
		}
	}
	return nil
}

// keepContent says whether the snapshot keeps a file's content, to
// compare it afterwards: manifests where only part of the file runs.
func keepContent(name string) bool {
	return name == "package.json" || name == "pyproject.toml"
}

// maxKept bounds the size of a kept manifest.
const maxKept = 256 << 10

// npm runs these on install, publish or pack without being asked to.
var lifecycleScripts = []string{"preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare",
	"postprepare", "prepack", "postpack", "prepublishOnly", "publish", "postpublish", "dependencies"}

// packageScripts compares the "scripts" of two package.json files (old
// is nil for a created file) and returns the finding, if any.
func packageScripts(old, new []byte) *pathRule {
	var o, n struct {
		Scripts map[string]any `json:"scripts"`
	}
	if old != nil {
		json.Unmarshal(old, &o)
	}
	if err := json.Unmarshal(new, &n); err != nil {
		return nil // npm cannot read it either
	}
	var life, other []string
	for k, v := range n.Scripts {
		ov, ok := o.Scripts[k]
		if ok && jsonEqual(ov, v) {
			continue
		}
		if slices.Contains(lifecycleScripts, k) {
			life = append(life, k)
		} else {
			other = append(other, k)
		}
	}
	slices.Sort(life)
	slices.Sort(other)
	if len(life) > 0 {
		return &pathRule{"package-scripts", SeverityHigh, "npm lifecycle scripts added or changed (run on install): " + strings.Join(life, ", ")}
	}
	if len(other) > 0 {
		return &pathRule{"package-scripts", SeverityMedium, "npm scripts added or changed: " + strings.Join(other, ", ")}
	}
	return nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// pyprojectBuild compares the parts of two pyproject.toml files that run
// code on install or build: [build-system] (an in-tree backend) and any
// table of build hooks.
func pyprojectBuild(old, new []byte) *pathRule {
	if pyBuildTables(old) == pyBuildTables(new) {
		return nil
	}
	return &pathRule{"package-scripts", SeverityMedium, "pyproject.toml build system or build hooks changed (run on pip install)"}
}

// pyBuildTables returns the text of the build-system and hook tables,
// whitespace-trimmed line by line. It is not a TOML parser: a table is a
// [header] line and what follows up to the next one.
func pyBuildTables(b []byte) string {
	var out strings.Builder
	in := false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			h := strings.Trim(line, "[] ")
			in = h == "build-system" || strings.Contains(h, "hooks")
		}
		if in && line != "" && !strings.HasPrefix(line, "#") {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// skipper matches paths against ChangeOptions.Skip.
type skipper struct {
	names []string // patterns for one element, at any depth
	paths []string // patterns for a path from the root
}

func newSkipper(globs []string) skipper {
	var s skipper
	for _, g := range globs {
		g = strings.Trim(g, "/")
		if g == "" {
			continue
		}
		if strings.Contains(g, "/") {
			s.paths = append(s.paths, g)
		} else {
			s.names = append(s.names, g)
		}
	}
	return s
}

// skipped says whether rel is, or lies under, a path the globs match.
func (s skipper) skipped(rel string) bool {
	if len(s.names) == 0 && len(s.paths) == 0 {
		return false
	}
	n := 0
	for i := 0; i <= len(rel); i++ {
		if i < len(rel) && rel[i] != '/' {
			continue
		}
		n++
		elem := rel[strings.LastIndexByte(rel[:i], '/')+1 : i]
		for _, g := range s.names {
			if ok, _ := path.Match(g, elem); ok {
				return true
			}
		}
		for _, g := range s.paths {
			if strings.Count(g, "/")+1 == n {
				if ok, _ := path.Match(g, rel[:i]); ok {
					return true
				}
			}
		}
	}
	return false
}

// symlinkRule flags a symlink standing where a rule's directory would
// be (".github", ".claude", ".vscode"): what it points to is read as that
// directory, under a path no rule would match.
func symlinkRule(rel string) *pathRule {
	base := path.Base(rel)
	var found *pathRule
	for _, rules := range []map[string]pathRule{dirRules, fileRules} {
		for k, r := range rules {
			first, _, _ := strings.Cut(k, "/")
			if first != base {
				continue
			}
			// The most severe of the rules under it, the first by name
			// among equals, so that the report does not vary.
			if found == nil || r.severity.Rank() > found.severity.Rank() ||
				r.severity == found.severity && r.rule < found.rule {
				found = &pathRule{r.rule, r.severity, "symlink in place of " + first}
			}
		}
	}
	return found
}
