package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cordon-sh/cordon/sandbox"
	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest policy file Parse reads. A policy is a page
// of YAML; anything this large is a mistake or an attack on the parser.
const MaxFileSize = 1 << 20

// Error is a mistake in a policy file, with where it is.
type Error struct {
	File      string
	Line, Col int // 0 when the position is unknown
	Msg       string
}

// Error returns "file:line:col: message".
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ErrorList is every mistake found in a policy file, in file order.
type ErrorList []*Error

// Error returns one line per mistake.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// maxErrors bounds the mistakes reported for one file; past it the file is
// clearly not a policy.
const maxErrors = 50

// decoder walks the YAML nodes of one file. It decodes strictly: every key
// is known, every value has the expected kind, and every mistake is
// recorded with its position rather than skipped.
type decoder struct {
	file  string
	layer Layer
	errs  ErrorList
	at    map[string]Source
}

// mark records where a setting was written, for messages about merging.
func (d *decoder) mark(name string, n *yaml.Node) {
	if d.at == nil {
		d.at = map[string]Source{}
	}
	d.at[strings.TrimPrefix(name, "policy.")] = d.source(n)
}

func (d *decoder) errorf(n *yaml.Node, format string, a ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	e := &Error{File: d.file, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) source(n *yaml.Node) Source {
	return Source{Layer: d.layer, File: d.file, Line: n.Line, Col: n.Column}
}

// Parse reads one policy file. name is used in error messages and
// sources; layer says which layer the file is. The error, if any, is an
// ErrorList whose entries carry file, line and column.
func Parse(name string, data []byte, layer Layer) (*Policy, error) {
	d := &decoder{file: name, layer: layer}
	if len(data) > MaxFileSize {
		d.errorf(nil, "file is larger than %d bytes", MaxFileSize)
		return nil, d.errs
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		d.yamlError(err)
		return nil, d.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "a second YAML document; a policy file holds one")
		return nil, d.errs
	}
	p := &Policy{}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.policy(root, p)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	p.Files = []Source{{Layer: layer, File: name, Line: 1, Col: 1}}
	p.at = d.at
	p.idx = buildIndex(p.Commands)
	return p, nil
}

// yamlLine matches the position yaml.v3 puts in its syntax errors.
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if errors.Is(err, io.EOF) {
		d.errs = append(d.errs, &Error{File: d.file, Line: 1, Col: 1, Msg: "empty file; expected a mapping starting with version: 1"})
		return
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errs = append(d.errs, &Error{File: d.file, Line: line, Col: 1, Msg: "YAML syntax: " + m[2]})
		return
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: 1, Col: 1, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

// kind names a node kind as a reader of the file would.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// fields walks a mapping, calling set for each key that is in known and
// reporting the others and duplicates.
func (d *decoder) fields(n *yaml.Node, what string, known []string, set func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, found %s", what, kind(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: expected a key, found %s", what, kind(k))
			continue
		}
		if !slices.Contains(known, k.Value) {
			d.errorf(k, "%s: unknown key %q (expected one of %s)", what, k.Value, strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: key %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		d.mark(what+"."+k.Value, v)
		if v.Kind == yaml.AliasNode || k.Kind == yaml.AliasNode {
			d.errorf(v, "%s.%s: aliases are not supported; write the value out", what, k.Value)
			continue
		}
		set(k.Value, k, v)
	}
}

// str decodes a scalar that reads as text. Numbers are accepted as text
// ("-1" in argument patterns); booleans and nulls are not, since they are
// almost always a mistake (an unquoted "yes" or an empty value).
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float") {
		d.errorf(n, "%s: expected a string, found %s", what, kind(n))
		return "", false
	}
	return n.Value, true
}

// strs decodes a list of strings; a single string is a list of one when
// one is true.
func (d *decoder) strs(n *yaml.Node, what string, one bool) []string {
	if one && n.Kind == yaml.ScalarNode {
		if s, ok := d.str(n, what); ok {
			return []string{s}
		}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		exp := "a list of strings"
		if one {
			exp = "a string or a list of strings"
		}
		d.errorf(n, "%s: expected %s, found %s", what, exp, kind(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		d.mark(what+"."+strconv.Itoa(i), e)
		if s, ok := d.str(e, what); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) policy(n *yaml.Node, p *Policy) {
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			d.errorf(n, "empty policy: expected a mapping starting with version: 1")
			return
		}
		d.errorf(n, "policy: expected a mapping with version: 1, found %s", kind(n))
		return
	}
	hasVersion := false
	d.fields(n, "policy", policyKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			hasVersion = true
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Value != "1" {
				d.errorf(v, "version: expected 1, found %s", kind(v))
				return
			}
			p.Version = 1
		case "commands":
			d.rules(v, p)
		case "filesystem":
			d.filesystem(v, &p.Filesystem)
		case "network":
			d.network(v, &p.Network)
		case "limits":
			d.limits(v, &p.Limits)
		case "output":
			d.output(v, &p.Output)
		case "session":
			d.fields(v, "session", []string{"keep_background"}, func(key string, k, v *yaml.Node) {
				if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
					d.errorf(v, "session.%s: expected true or false, found %s", key, kind(v))
					return
				}
				d.mark("session."+key, v)
				p.Session.KeepBackground = v.Value == "true"
			})
		case "env":
			d.env(v, &p.Env)
		case "require":
			for i, s := range d.strs(v, "require", false) {
				pr, err := sandbox.ParseProtection(s)
				if err != nil {
					d.errorf(v.Content[i], "require: %v", err)
					continue
				}
				p.Require = append(p.Require, pr)
			}
		}
	})
	if !hasVersion && n.Kind == yaml.MappingNode {
		d.errorf(n, "policy: missing version: 1")
	}
}

// policyKeys are the top-level keys of a policy file.
var policyKeys = []string{"version", "commands", "filesystem", "network", "limits", "output", "session", "env", "require"}

var ruleKeys = []string{"id", "decision", "reason", "program", "program_path", "args", "any_arg", "args_match", "path", "dest", "write", "read", "via", "code_exec", "dynamic", "assigns", "with_program"}

// ruleID is what a rule id may look like: it is printed in messages and
// used on command lines, so it stays a plain word.
var ruleID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`) })

func (d *decoder) rules(n *yaml.Node, p *Policy) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// "commands:" followed only by commented-out rules, as in the
		// file cordon policy init writes.
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "commands: expected a list of rules, found %s", kind(n))
		return
	}
	ids := map[string]bool{}
	for _, rn := range n.Content {
		r := &Rule{Source: d.source(rn)}
		hasID, hasDecision, hasReason, matchers := false, false, false, 0
		d.fields(rn, "commands rule", ruleKeys, func(key string, k, v *yaml.Node) {
			what := "commands." + key
			switch key {
			case "id":
				hasID = true
			case "decision":
				hasDecision = true
			case "reason":
				hasReason = true
			}
			switch key {
			case "id":
				s, ok := d.str(v, what)
				if !ok {
					return
				}
				if !ruleID().MatchString(s) {
					d.errorf(v, "%s: %q is not a rule id (expected lower-case letters, digits, '.', '_' or '-', at most 64)", what, s)
					return
				}
				if ids[s] {
					d.errorf(v, "%s: rule %q is defined twice in this file", what, s)
					return
				}
				ids[s] = true
				r.ID = s
			case "decision":
				s, ok := d.str(v, what)
				if !ok {
					return
				}
				vd, err := ParseVerdict(s)
				if err != nil {
					d.errorf(v, "%s: %v", what, err)
					return
				}
				r.Decision = vd
			case "reason":
				s, ok := d.str(v, what)
				if ok && strings.TrimSpace(s) == "" {
					d.errorf(v, "%s: expected a sentence saying why, found an empty string", what)
					return
				}
				r.Reason = s
			case "program":
				r.Program = d.globs(v, what, true)
				matchers++
			case "program_path":
				r.ProgramPath = d.paths(v, what)
				matchers++
			case "args":
				r.Args = d.globs(v, what, false)
				matchers++
			case "any_arg":
				r.AnyArg = d.globs(v, what, true)
				matchers++
			case "args_match":
				s, ok := d.str(v, what)
				if !ok {
					return
				}
				re, err := regexp.Compile(s)
				if err != nil {
					d.errorf(v, "%s: expected a regular expression (Go RE2 syntax): %v", what, err)
					return
				}
				r.ArgsMatch, r.argsRE = s, re
				matchers++
			case "path":
				r.Path = d.paths(v, what)
				matchers++
			case "dest":
				r.Dest = d.paths(v, what)
				matchers++
			case "write":
				r.Write = d.paths(v, what)
				matchers++
			case "read":
				r.Read = d.paths(v, what)
				matchers++
			case "via":
				r.Via = d.globs(v, what, true)
				matchers++
			case "code_exec":
				r.CodeExec = d.globs(v, what, true)
				matchers++
			case "dynamic":
				if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
					d.errorf(v, "%s: expected true or false, found %s", what, kind(v))
					return
				}
				b := v.Value == "true"
				r.Dynamic = &b
				matchers++
			case "assigns":
				r.Assigns = d.globs(v, what, true)
				matchers++
			case "with_program":
				r.WithProgram = d.globs(v, what, true)
				matchers++
			}
		})
		if rn.Kind != yaml.MappingNode {
			continue
		}
		if !hasID {
			d.errorf(rn, "commands rule: missing id (a name for the rule, such as no-force-push)")
		}
		if !hasDecision {
			d.errorf(rn, "commands rule %s: missing decision (allow, ask or deny)", r.ID)
		}
		if !hasReason {
			d.errorf(rn, "commands rule %s: missing reason (a sentence saying why)", r.ID)
		}
		if matchers == 0 {
			d.errorf(rn, "commands rule %s: nothing to match; give program, args, path, write, ... (see docs/policy.md)", r.ID)
		}
		r.compile()
		p.Commands = append(p.Commands, r)
	}
}

// globs decodes glob patterns and checks their syntax.
func (d *decoder) globs(n *yaml.Node, what string, one bool) []string {
	list := d.strs(n, what, one)
	for i, g := range list {
		if _, err := path.Match(g, ""); err != nil {
			at := n
			if n.Kind == yaml.SequenceNode {
				at = n.Content[i]
			}
			d.errorf(at, "%s: %q is not a valid glob pattern", what, g)
		}
	}
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(n, "%s: expected at least one pattern, found an empty list", what)
	}
	return list
}

// paths decodes path patterns and checks their syntax.
func (d *decoder) paths(n *yaml.Node, what string) []string {
	list := d.strs(n, what, true)
	for i, g := range list {
		at := n
		if n.Kind == yaml.SequenceNode {
			at = n.Content[i]
		}
		if err := checkPathPattern(g); err != nil {
			d.errorf(at, "%s: %q: %v", what, g, err)
		}
	}
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.errorf(n, "%s: expected at least one path pattern, found an empty list", what)
	}
	return list
}

// hostPaths decodes absolute host paths ("~/" allowed).
func (d *decoder) hostPaths(n *yaml.Node, what string, relative bool) []string {
	list := d.strs(n, what, false)
	for i, s := range list {
		ok := strings.HasPrefix(s, "/") || s == "~" || strings.HasPrefix(s, "~/")
		if relative {
			ok = s != "" && !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "~") && !slices.Contains(strings.Split(s, "/"), "..")
		}
		if !ok {
			exp := "an absolute path or one starting with ~/"
			if relative {
				exp = "a path relative to the workspace, without .."
			}
			d.errorf(n.Content[i], "%s: %q: expected %s", what, s, exp)
		}
	}
	return list
}

func (d *decoder) filesystem(n *yaml.Node, fs *Filesystem) {
	d.fields(n, "filesystem", []string{"read_only_roots", "writable", "masked", "protected"}, func(key string, k, v *yaml.Node) {
		what := "filesystem." + key
		switch key {
		case "read_only_roots":
			fs.ReadOnlyRoots = d.hostPaths(v, what, false)
		case "writable":
			fs.Writable = d.hostPaths(v, what, false)
			for i, w := range fs.Writable {
				if w == "/" || w == "~" || w == "~/" {
					d.errorf(v.Content[i], "%s: %q: the root or the home directory cannot be writable", what, w)
				}
			}
		case "masked":
			fs.Masked = d.hostPaths(v, what, false)
		case "protected":
			fs.Protected = d.hostPaths(v, what, true)
		}
	})
}

// domain is a host name or a "*." wildcard of one.
var domain = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?$`)
})

func (d *decoder) network(n *yaml.Node, nw *Network) {
	var modeNode *yaml.Node
	d.fields(n, "network", []string{"mode", "allow", "deny", "ask"}, func(key string, k, v *yaml.Node) {
		what := "network." + key
		switch key {
		case "mode":
			s, ok := d.str(v, what)
			if ok && s != "none" && s != "allowlist" {
				d.errorf(v, "%s: expected none or allowlist, found %q", what, s)
				return
			}
			nw.Mode, modeNode = s, v
		case "allow", "deny", "ask":
			list := d.strs(v, what, false)
			for i, s := range list {
				if !domain().MatchString(s) || len(s) > 253 {
					d.errorf(v.Content[i], "%s: %q: expected a domain name such as example.com or *.example.com", what, s)
				}
			}
			switch key {
			case "allow":
				nw.Allow = list
			case "deny":
				nw.Deny = list
			default:
				nw.Ask = list
			}
		}
	})
	if nw.Mode == "none" && len(nw.Allow)+len(nw.Ask) > 0 {
		d.errorf(modeNode, "network: mode none allows no domains; remove allow and ask or set mode: allowlist")
	}
	if nw.Mode == "" && len(nw.Allow)+len(nw.Ask) > 0 {
		nw.Mode = "allowlist"
	}
}

func (d *decoder) limits(n *yaml.Node, l *Limits) {
	d.fields(n, "limits", []string{"memory", "pids", "cpu_time", "timeout", "output", "file_size", "open_files", "disk", "disk_reserve"}, func(key string, k, v *yaml.Node) {
		what := "limits." + key
		switch key {
		case "memory", "output", "file_size", "disk", "disk_reserve":
			s, ok := d.str(v, what)
			if !ok {
				return
			}
			b, err := ParseSize(s)
			if err != nil {
				d.errorf(v, "%s: %v", what, err)
				return
			}
			switch key {
			case "memory":
				l.Memory = b
			case "output":
				l.Output = b
			case "disk":
				l.Disk = b
			case "disk_reserve":
				l.DiskReserve = b
			default:
				l.FileSize = b
			}
		case "pids", "open_files":
			if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
				d.errorf(v, "%s: expected a positive whole number, found %s", what, kind(v))
				return
			}
			i, err := strconv.Atoi(v.Value)
			if err != nil || i <= 0 || i > 1<<22 {
				d.errorf(v, "%s: expected a positive whole number up to %d, found %s", what, 1<<22, v.Value)
				return
			}
			if key == "pids" {
				l.Pids = i
			} else {
				l.OpenFiles = i
			}
		case "cpu_time", "timeout":
			s, ok := d.str(v, what)
			if !ok {
				return
			}
			t, err := time.ParseDuration(s)
			if err != nil || t <= 0 {
				d.errorf(v, "%s: expected a positive duration such as 90s, 10m or 1h, found %q", what, s)
				return
			}
			if key == "cpu_time" {
				l.CPUTime = t
			} else {
				l.Timeout = t
			}
		}
	})
}

func (d *decoder) output(n *yaml.Node, o *Output) {
	d.fields(n, "output", []string{"limit", "secrets", "injection", "withhold_at"}, func(key string, k, v *yaml.Node) {
		what := "output." + key
		s, ok := d.str(v, what)
		if !ok {
			return
		}
		d.mark(what, v)
		if key == "limit" {
			b, err := ParseSize(s)
			if err != nil || b <= 0 {
				d.errorf(v, "%s: expected a size such as 1M or 256K, found %q", what, s)
				return
			}
			o.Limit = b
			return
		}
		if !slices.Contains(strictness[key], s) {
			d.errorf(v, "%s: expected one of %s, found %q", what, strings.Join(strictness[key], ", "), s)
			return
		}
		switch key {
		case "secrets":
			o.Secrets = s
		case "injection":
			o.Injection = s
		case "withhold_at":
			o.WithholdAt = s
		}
	})
}

// envName is what a variable name in env.allow may look like; a trailing
// "*" matches a prefix, as in sandbox.Environment.
var envName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\*?$`) })

func (d *decoder) env(n *yaml.Node, e *Env) {
	d.fields(n, "env", []string{"allow", "set"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "allow":
			e.Allow = d.strs(v, "env.allow", false)
			for i, s := range e.Allow {
				if !envName().MatchString(s) {
					d.errorf(v.Content[i], "env.allow: %q: expected a variable name, or a prefix ending in *", s)
				}
			}
		case "set":
			if v.Kind != yaml.MappingNode {
				d.errorf(v, "env.set: expected a mapping of NAME: value, found %s", kind(v))
				return
			}
			e.Set = map[string]string{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				kn, vn := v.Content[i], v.Content[i+1]
				name, ok := d.str(kn, "env.set")
				if !ok {
					continue
				}
				if !envName().MatchString(name) || strings.HasSuffix(name, "*") {
					d.errorf(kn, "env.set: %q: expected a variable name", name)
					continue
				}
				if _, dup := e.Set[name]; dup {
					d.errorf(kn, "env.set: %q given twice", name)
					continue
				}
				val, ok := d.str(vn, "env.set."+name)
				if ok {
					e.Set[name] = val
				}
			}
		}
	})
}

// ParseSize reads a byte count such as 512M or 4G (powers of 1024), or a
// plain number of bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		case 'T', 't':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errors.New("expected a positive size such as 512M or 4G")
	}
	return n * mult, nil
}

// ParseFile reads and parses the policy file at name.
func ParseFile(name string, layer Layer) (*Policy, error) {
	data, err := readPolicyFile(name)
	if err != nil {
		return nil, err
	}
	return Parse(name, data, layer)
}

// readPolicyFile reads a regular file of at most MaxFileSize bytes.
func readPolicyFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: name, Msg: "not a regular file"}
	}
	buf, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > MaxFileSize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	return buf, nil
}
