package policy

import (
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
)

//go:generate go run ./internal/gendefault

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile is the name the embedded default policy goes by in errors
// and sources.
const DefaultFile = "(default policy)"

// DefaultYAML returns the text of the embedded default policy.
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }

// compiledDefault holds the default rules, compiled and indexed once per
// process. Rules are not changed after compile, so every Default shares
// them.
var compiledDefault = sync.OnceValue(func() defaultSet {
	rules := defaultRules()
	if fmt.Sprintf("%x", sha256.Sum256(defaultYAML)) != defaultSum {
		// default.yaml was edited without go generate: parse it, slower
		// but right. TestDefaultGenerated fails in that state.
		rules = mustParseDefault().Commands
	} else {
		for _, r := range rules {
			r.compile()
		}
	}
	return defaultSet{rules: rules, idx: buildIndex(rules)}
})

type defaultSet struct {
	rules []*Rule
	idx   *ruleIndex
}

func mustParseDefault() *Policy {
	p, err := Parse(DefaultFile, defaultYAML, LayerDefault)
	if err != nil {
		// The embedded file is tested; a broken one is a build mistake.
		panic("policy: embedded default: " + err.Error())
	}
	return p
}

func boolPtr(b bool) *bool { return &b }

// Default returns the embedded default policy. It comes from
// default.yaml, turned into Go values by go generate so that starting
// cordon does not parse YAML.
func Default() *Policy {
	d := compiledDefault()
	return &Policy{
		Version:  1,
		Commands: slices.Clone(d.rules),
		Files:    []Source{{Layer: LayerDefault, File: DefaultFile, Line: 1, Col: 1}},
		at:       map[string]Source{},
		idx:      d.idx,
	}
}

// ProjectFile is the name of the project policy in a workspace.
const ProjectFile = ".cordon.yaml"

// UserFile returns the path of the user's policy:
// $XDG_CONFIG_HOME/cordon/policy.yaml, or ~/.config/cordon/policy.yaml.
func UserFile() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "cordon", "policy.yaml"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("user policy: %w", err)
	}
	return filepath.Join(home, ".config", "cordon", "policy.yaml"), nil
}

// Options says which files Load merges.
type Options struct {
	// Workspace holds the project policy, Workspace/.cordon.yaml.
	Workspace string
	// File, when set, is read as the project policy instead of the
	// workspace's (the --policy flag). It is held to the same rule: it may
	// tighten the default and user policies, not loosen them.
	File string
	// UserFile overrides the path of the user policy; empty means
	// UserFile(). NoUser skips the user policy.
	UserFile string
	NoUser   bool
}

// Load returns the effective policy: the embedded default, then the
// user's policy, then the project's, each merged over the ones before.
// A file that is missing is skipped; a file that is broken is an error,
// never a reason to fall back to something looser.
func Load(o Options) (*Policy, error) {
	p := Default()
	if !o.NoUser {
		name := o.UserFile
		if name == "" {
			var err error
			if name, err = UserFile(); err != nil {
				return nil, err
			}
		}
		u, err := parseOptional(name, LayerUser, false)
		if err != nil {
			return nil, err
		}
		if u != nil {
			if p, err = Merge(p, u); err != nil {
				return nil, err
			}
		}
	}
	var proj *Policy
	var err error
	switch {
	case o.File != "":
		proj, err = ParseFile(o.File, LayerProject)
	case o.Workspace != "":
		proj, err = parseOptional(filepath.Join(o.Workspace, ProjectFile), LayerProject, true)
	}
	if err != nil {
		return nil, err
	}
	if proj != nil {
		if p, err = Merge(p, proj); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// parseOptional parses name when it exists. In a workspace, an empty
// directory stands for a missing .cordon.yaml: the sandbox holds the path
// read-only with such a placeholder during a run.
func parseOptional(name string, layer Layer, placeholder bool) (*Policy, error) {
	st, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s policy: %w", layer, err)
	}
	if st.IsDir() && placeholder {
		entries, err := os.ReadDir(name)
		if err == nil && len(entries) == 0 {
			return nil, nil
		}
		return nil, &Error{File: name, Msg: "is a directory that is not empty; expected a policy file"}
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: name, Msg: "not a regular file; expected a policy file"}
	}
	return ParseFile(name, layer)
}

// Merge returns base with over laid on top. A user layer may change
// anything: its rules replace the base's rules of the same id, and its
// settings replace or extend the base's. A project layer may only make
// the result stricter: its rules are added (reusing an id is an error),
// and its filesystem, network, limits and environment settings may hide,
// protect, lower and narrow, but an attempt to loosen is an error that
// names the setting's position.
func Merge(base, over *Policy) (*Policy, error) {
	m := &Policy{
		Version:    1,
		Commands:   slices.Clone(base.Commands),
		Filesystem: cloneFS(base.Filesystem),
		Network:    Network{Mode: base.Network.Mode, Allow: slices.Clone(base.Network.Allow), Deny: slices.Clone(base.Network.Deny), Ask: slices.Clone(base.Network.Ask)},
		Limits:     base.Limits,
		Output:     base.Output,
		Session:    base.Session,
		Env:        Env{Allow: slices.Clone(base.Env.Allow)},
		Require:    slices.Clone(base.Require),
		Files:      append(slices.Clone(base.Files), over.Files...),
		at:         map[string]Source{},
	}
	for k, v := range base.at {
		m.at[k] = v
	}
	if base.Env.Set != nil {
		m.Env.Set = map[string]string{}
		for k, v := range base.Env.Set {
			m.Env.Set[k] = v
		}
	}
	layer := LayerUser
	if len(over.Files) > 0 {
		layer = over.Files[0].Layer
	}
	strict := layer >= LayerProject
	var errs ErrorList
	fail := func(key string, format string, a ...any) {
		// Point at the setting, or at the nearest enclosing one that
		// was written.
		s, ok := over.at[key]
		for k := key; !ok && strings.Contains(k, "."); {
			k = k[:strings.LastIndex(k, ".")]
			s, ok = over.at[k]
		}
		if !ok && len(over.Files) > 0 {
			s = over.Files[0]
		}
		errs = append(errs, &Error{File: s.File, Line: s.Line, Col: s.Col, Msg: fmt.Sprintf(format, a...)})
	}
	for _, r := range over.Commands {
		i := slices.IndexFunc(m.Commands, func(b *Rule) bool { return b.ID == r.ID })
		switch {
		case i < 0:
			m.Commands = append(m.Commands, r)
		case strict:
			errs = append(errs, &Error{File: r.Source.File, Line: r.Source.Line, Col: r.Source.Col,
				Msg: fmt.Sprintf("rule %q is already defined by %s; a project policy can add rules, not replace them (choose another id)", r.ID, m.Commands[i].Source)})
		default:
			m.Commands[i] = r
		}
	}

	fsO := over.Filesystem
	if len(fsO.ReadOnlyRoots) > 0 {
		if strict {
			roots := m.Filesystem.ReadOnlyRoots
			if len(roots) == 0 {
				roots = []string{"/"}
			}
			for i, r := range fsO.ReadOnlyRoots {
				if !underAny(r, roots) {
					fail("filesystem.read_only_roots."+strconv.Itoa(i), "filesystem.read_only_roots: %s is not inside %s; a project policy can only narrow the read-only roots", r, strings.Join(roots, ", "))
				}
			}
		}
		m.Filesystem.ReadOnlyRoots = slices.Clone(fsO.ReadOnlyRoots)
	}
	for i, w := range fsO.Writable {
		if strict && !underAny(w, base.Filesystem.Writable) {
			fail("filesystem.writable."+strconv.Itoa(i), "filesystem.writable: a project policy cannot make %s writable; put it in the user policy (%s)", w, userFileHint())
		}
	}
	m.Filesystem.Writable = appendNew(m.Filesystem.Writable, fsO.Writable...)
	m.Filesystem.Masked = appendNew(m.Filesystem.Masked, fsO.Masked...)
	m.Filesystem.Protected = appendNew(m.Filesystem.Protected, fsO.Protected...)

	nw := over.Network
	if strict {
		if nw.Mode == "allowlist" && m.Network.Mode != "allowlist" {
			fail("network.mode", "network: a project policy cannot turn the network on; the user or default policy has mode none")
		}
		for i, a := range nw.Allow {
			if m.Network.Mode == "allowlist" && !domainCovered(a, m.Network.Allow) {
				fail("network.allow."+strconv.Itoa(i), "network.allow: %s is not allowed by the user or default policy; a project policy can only narrow the allow list", a)
			}
		}
		switch {
		case nw.Mode == "none":
			m.Network.Mode, m.Network.Allow = "none", nil
		case len(nw.Allow) > 0 && m.Network.Mode == "allowlist":
			m.Network.Allow = slices.Clone(nw.Allow)
		}
	} else {
		if nw.Mode != "" {
			m.Network.Mode = nw.Mode
			m.Network.Allow = nil
		}
		if len(nw.Allow) > 0 {
			m.Network.Allow = slices.Clone(nw.Allow)
		}
	}
	if strict {
		// Asking about a host no layer below allows would loosen a
		// refusal into a question.
		for i, a := range nw.Ask {
			if !domainCovered(a, m.Network.Allow) && !domainCovered(a, m.Network.Ask) {
				fail("network.ask."+strconv.Itoa(i), "network.ask: %s is not allowed by the user or default policy; a project policy can only make allowed hosts ask", a)
			}
		}
	}
	m.Network.Ask = appendNew(m.Network.Ask, nw.Ask...)
	m.Network.Deny = appendNew(m.Network.Deny, nw.Deny...)

	eff := m.Limits.effective()
	l := over.Limits
	lower := func(key string, over, have int64, show func(int64) string) int64 {
		if over == 0 {
			return 0
		}
		if strict && over > have {
			fail("limits."+key, "limits.%s: %s is more than the %s allowed by the user or default policy; a project policy can only lower limits", key, show(over), show(have))
		}
		return over
	}
	size := func(n int64) string { return FormatSize(n) }
	count := func(n int64) string { return strconv.FormatInt(n, 10) }
	dur := func(n int64) string { return time.Duration(n).String() }
	if v := lower("memory", l.Memory, eff.Memory, size); v != 0 {
		m.Limits.Memory = v
	}
	if v := lower("pids", int64(l.Pids), int64(eff.Pids), count); v != 0 {
		m.Limits.Pids = int(v)
	}
	if v := lower("cpu_time", int64(l.CPUTime), int64(eff.CPUTime), dur); v != 0 {
		m.Limits.CPUTime = time.Duration(v)
	}
	if v := lower("timeout", int64(l.Timeout), int64(eff.Timeout), dur); v != 0 {
		m.Limits.Timeout = time.Duration(v)
	}
	if v := lower("output", l.Output, eff.Output, size); v != 0 {
		m.Limits.Output = v
	}
	if v := lower("file_size", l.FileSize, eff.FileSize, size); v != 0 {
		m.Limits.FileSize = v
	}
	if v := lower("open_files", int64(l.OpenFiles), int64(eff.OpenFiles), count); v != 0 {
		m.Limits.OpenFiles = int(v)
	}
	if l.Disk != 0 {
		// No disk limit below (eff.Disk < 0) is higher than any.
		if strict && eff.Disk >= 0 && l.Disk > eff.Disk {
			fail("limits.disk", "limits.disk: %s is more than the %s allowed by the user or default policy; a project policy can only lower limits", size(l.Disk), size(eff.Disk))
		}
		m.Limits.Disk = l.Disk
	}
	if l.DiskReserve != 0 {
		// A reserve is strict when large: a project may only raise it.
		// The default reserve is at most sandbox.DefaultDiskReserve.
		have := eff.DiskReserve
		if have == 0 {
			have = sandbox.DefaultDiskReserve
		}
		if strict && l.DiskReserve < have {
			fail("limits.disk_reserve", "limits.disk_reserve: %s is less than the %s reserved by the user or default policy; a project policy can only raise the reserve", size(l.DiskReserve), size(have))
		}
		m.Limits.DiskReserve = l.DiskReserve
	}

	effOut, o := m.Output.Effective(), over.Output
	if o.Limit != 0 {
		if strict && o.Limit > effOut.Limit {
			fail("output.limit", "output.limit: %s is more than the %s allowed by the user or default policy; a project policy can only lower it", FormatSize(o.Limit), FormatSize(effOut.Limit))
		}
		m.Output.Limit = o.Limit
	}
	for _, set := range []struct {
		key       string
		have, new string
		dst       *string
	}{
		{"secrets", effOut.Secrets, o.Secrets, &m.Output.Secrets},
		{"injection", effOut.Injection, o.Injection, &m.Output.Injection},
		{"withhold_at", effOut.WithholdAt, o.WithholdAt, &m.Output.WithholdAt},
	} {
		if set.new == "" {
			continue
		}
		order := strictness[set.key]
		if strict && slices.Index(order, set.new) < slices.Index(order, set.have) {
			fail("output."+set.key, "output.%s: %s is weaker than the %s set by the user or default policy; a project policy can only make it stricter", set.key, set.new, set.have)
		}
		*set.dst = set.new
	}

	if over.Session.KeepBackground || over.at["session.keep_background"] != (Source{}) {
		if strict && over.Session.KeepBackground && !m.Session.KeepBackground {
			fail("session.keep_background", "session.keep_background: a project policy cannot let commands keep processes running; put it in the user policy (%s)", userFileHint())
		}
		m.Session.KeepBackground = over.Session.KeepBackground
	}

	for i, a := range over.Env.Allow {
		if strict && !envCovered(a, append(slices.Clone(sandbox.DefaultEnvAllow), base.Env.Allow...)) {
			fail("env.allow."+strconv.Itoa(i), "env.allow: a project policy cannot pass %s from the caller's environment, which may hold secrets; put it in the user policy (%s)", a, userFileHint())
		}
	}
	m.Env.Allow = appendNew(m.Env.Allow, over.Env.Allow...)
	if len(over.Env.Set) > 0 && m.Env.Set == nil {
		m.Env.Set = map[string]string{}
	}
	for k, v := range over.Env.Set {
		m.Env.Set[k] = v
	}
	for _, r := range over.Require {
		if !slices.Contains(m.Require, r) {
			m.Require = append(m.Require, r)
		}
	}
	for k, v := range over.at {
		m.at[k] = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	m.idx = buildIndex(m.Commands)
	return m, nil
}

func userFileHint() string {
	if f, err := UserFile(); err == nil {
		return f
	}
	return "~/.config/cordon/policy.yaml"
}

func cloneFS(f Filesystem) Filesystem {
	return Filesystem{
		ReadOnlyRoots: slices.Clone(f.ReadOnlyRoots),
		Writable:      slices.Clone(f.Writable),
		Masked:        slices.Clone(f.Masked),
		Protected:     slices.Clone(f.Protected),
	}
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// underAny reports whether p is one of roots or below one.
func underAny(p string, roots []string) bool {
	p = filepath.Clean(p)
	for _, r := range roots {
		r = filepath.Clean(r)
		if p == r || r == "/" || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// domainCovered reports whether d is allowed by the list: the same name,
// or a name below a "*." entry.
func domainCovered(d string, list []string) bool {
	for _, a := range list {
		if a == d {
			return true
		}
		if suf, ok := strings.CutPrefix(a, "*."); ok && (strings.HasSuffix(d, "."+suf)) {
			return true
		}
	}
	return false
}

// envCovered reports whether the allow entry a passes nothing that list
// does not pass already.
func envCovered(a string, list []string) bool {
	for _, l := range list {
		if l == a {
			return true
		}
		if p, ok := strings.CutSuffix(l, "*"); ok && strings.HasPrefix(strings.TrimSuffix(a, "*"), p) {
			return true
		}
	}
	return false
}

// effective returns the limits with sandbox.DefaultLimits filled in.
func (l Limits) effective() Limits {
	d := sandbox.Limits{Memory: l.Memory, Processes: l.Pids, CPUTime: l.CPUTime, Timeout: l.Timeout,
		OutputBytes: l.Output, FileSize: l.FileSize, OpenFiles: l.OpenFiles,
		Disk: l.Disk, DiskReserve: l.DiskReserve}.WithDefaults()
	return Limits{Memory: d.Memory, Pids: d.Processes, CPUTime: d.CPUTime, Timeout: d.Timeout,
		Output: d.OutputBytes, FileSize: d.FileSize, OpenFiles: d.OpenFiles,
		Disk: d.Disk, DiskReserve: d.DiskReserve}
}

// FormatSize writes n bytes as ParseSize reads them.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.n && n%u.n == 0 {
			return fmt.Sprintf("%d%s", n/u.n, u.s)
		}
	}
	return strconv.FormatInt(n, 10)
}
