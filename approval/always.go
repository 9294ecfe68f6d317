package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cordon-sh/cordon/policy"
	"gopkg.in/yaml.v3"
)

// privileged are programs that change who runs a command. A yes to one
// run of them is a decision about that run; it is never saved.
var privileged = []string{"sudo", "su", "doas", "pkexec", "run0", "runuser", "sudoedit"}

// SaveAlways adds to the user policy file at path (policy.UserFile) a rule
// that allows exactly what req asked about from now on: for a command,
// each asked-about program with exactly those arguments; for a network
// request, the host. It refuses where a saved yes would allow more than
// the person saw or more than the policy lets a rule allow:
//
//   - the decision was Deny (a denial is never approved, once or always);
//   - the text is not known statically (rule dynamic, parse-error, a
//     command with dynamic parts or inline code in another language);
//   - a command runs through sudo, su, doas or the like;
//   - a rule of the policy asks about the command: only a command that
//     was asked about because no rule names its program can be allowed
//     by a new rule, since the strictest rule that matches wins;
//   - the new rule would not make the request Allow after all (checked
//     by judging the request again with the new file).
//
// The file is written whole to a temporary file beside it, which is parsed
// (policy.ParseFile) and used to judge the request again before it replaces
// the old file; on any failure the old file is left as it was.
func SaveAlways(path string, req *Request) error {
	if path == "" {
		return errors.New("allow always: no user policy file")
	}
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		// A policy file kept elsewhere (dotfiles) stays a symlink.
		path = resolved
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("allow always: %w", err)
	}
	channel := req.Channel
	if channel == "" {
		channel = "approval"
	}
	reason := fmt.Sprintf("allowed always at %s on %s", channelPhrase(channel), time.Now().Format("2006-01-02"))

	var data []byte
	switch req.Kind {
	case KindNetwork:
		data, err = addHost(old, req.Host)
	case "", KindCommand:
		var rules []alwaysRule
		if rules, err = commandRules(req, reason); err == nil {
			data, err = addRules(old, rules)
		}
	default:
		err = fmt.Errorf("unknown kind %q", req.Kind)
	}
	if err != nil {
		return fmt.Errorf("allow always: %w", err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("allow always: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".policy-*.yaml")
	if err != nil {
		return fmt.Errorf("allow always: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, removes nothing
	mode := fs.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Chmod(mode), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("allow always: %w", err)
	}
	// The written file must parse and must do what it was written for,
	// before it replaces the old one: a broken user policy stops every
	// later run, and a rule that does not allow the request is noise.
	if _, err := policy.ParseFile(tmp.Name(), policy.LayerUser); err != nil {
		return fmt.Errorf("allow always: the user policy %s would not parse with the new rule, left unchanged:\n%w", path, err)
	}
	if err := checkAllowed(tmp.Name(), req); err != nil {
		return fmt.Errorf("allow always: %w; %s left unchanged", err, path)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("allow always: %w", err)
	}
	return nil
}

func channelPhrase(how string) string {
	switch how {
	case HowTerminal:
		return "the terminal"
	case HowWebhook:
		return "the webhook"
	}
	return how
}

// checkAllowed judges req again with the user policy file name in place
// of the user's, and fails unless the request is now allowed.
func checkAllowed(name string, req *Request) error {
	p, err := policy.Load(policy.Options{UserFile: name, Workspace: req.Workspace})
	if err != nil {
		return err
	}
	if req.Kind == KindNetwork {
		for _, h := range p.Network.Allow {
			if h == req.Host {
				return nil
			}
		}
		return fmt.Errorf("%s is still not allowed by the merged policy", req.Host)
	}
	home, _ := os.UserHomeDir()
	d := p.Decide(policy.Request{Command: req.Command, Workspace: req.Workspace, Home: home})
	if d.Verdict != policy.Allow {
		return fmt.Errorf("the rule would not stop the question: rule %s still says %s (%s), and the strictest rule wins; change that rule in your user policy instead", d.Rule, d.Verdict, d.Reason)
	}
	return nil
}

// alwaysRule is a command rule as SaveAlways writes it.
type alwaysRule struct {
	ID        string   `yaml:"id"`
	Program   string   `yaml:"program"`
	Args      []string `yaml:"args,omitempty,flow"`
	ArgsMatch string   `yaml:"args_match"`
	Decision  string   `yaml:"decision"`
	Reason    string   `yaml:"reason"`
}

// commandRules returns a rule for each command of req that the policy
// asked about, or an error saying why no rule may be saved.
func commandRules(req *Request, reason string) ([]alwaysRule, error) {
	d := req.Decision
	switch {
	case d == nil:
		return nil, errors.New("no decision to go by")
	case d.Verdict == policy.Deny:
		return nil, fmt.Errorf("rule %s denies the command; a denial cannot be allowed always", d.Rule)
	case d.Verdict != policy.Ask:
		return nil, fmt.Errorf("the policy did not ask about the command (%s)", d.Verdict)
	case d.Rule == policy.RuleDynamic || d.Rule == policy.RuleParseError || d.Dynamic:
		return nil, errors.New("the command is not fully known statically; it can only be approved once")
	}
	var rules []alwaysRule
	for _, c := range d.Commands {
		if slices.Contains(privileged, path.Base(c.Name)) || slices.ContainsFunc(c.Via, func(v string) bool {
			return slices.Contains(privileged, strings.Fields(v + " x")[0])
		}) {
			return nil, fmt.Errorf("%s changes the user it runs as; it can only be approved once", c.Name)
		}
		if c.Verdict == policy.Allow {
			continue
		}
		if c.Verdict != policy.Ask {
			return nil, fmt.Errorf("rule %s %ss %s", c.Rule, c.Verdict, c.Name)
		}
		if c.Dynamic || c.CodeExec != "" || c.Rule == policy.RuleDynamic {
			return nil, fmt.Errorf("%s runs code cordon cannot read, or is not known statically; it can only be approved once", c.Name)
		}
		if c.Rule != policy.RuleUnknownProgram {
			// Only "no rule names this program" can be answered by a new
			// rule: a rule that asks still applies beside an allow rule,
			// and the strictest rule wins.
			return nil, fmt.Errorf("rule %s asks about %s, and an allow rule cannot override it (the strictest rule wins); change that rule in your user policy instead", c.Rule, c.Name)
		}
		if c.Name == "" {
			return nil, errors.New("a command without a program name can only be approved once")
		}
		rules = append(rules, commandRule(c.Name, c.Args, reason))
	}
	if len(rules) == 0 {
		return nil, errors.New("no command to write a rule for")
	}
	return rules, nil
}

// commandRule allows name with exactly args: args pins each argument in
// place, and args_match, anchored, pins their number.
func commandRule(name string, args []string, reason string) alwaysRule {
	h := sha256.New()
	h.Write([]byte(name))
	for _, a := range args {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	r := alwaysRule{
		ID:        "always-" + idWord(path.Base(name)) + "-" + hex.EncodeToString(h.Sum(nil))[:8],
		Program:   quoteGlob(name),
		ArgsMatch: "^" + regexp.QuoteMeta(strings.Join(args, " ")) + "$",
		Decision:  "allow",
		Reason:    reason,
	}
	for _, a := range args {
		r.Args = append(r.Args, quoteGlob(a))
	}
	return r
}

// quoteGlob escapes s so that, as a policy glob, it matches only s.
func quoteGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]{}\,`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// idWord turns a program name into the part of a rule id that names it.
func idWord(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "program"
	}
	return b.String()
}

// addRules inserts rules at the end of the commands list of the policy
// text old, leaving the rest of the file (comments, order, layout) as it
// was. A file whose commands list it cannot extend in place is an error
// that shows the rule to add by hand.
func addRules(old []byte, rules []alwaysRule) ([]byte, error) {
	text := func(indent int) (string, error) {
		var b strings.Builder
		for _, r := range rules {
			y, err := yaml.Marshal(r)
			if err != nil {
				return "", err
			}
			for i, l := range strings.SplitAfter(strings.TrimSuffix(string(y), "\n"), "\n") {
				pre := strings.Repeat(" ", indent) + "  "
				if i == 0 {
					pre = strings.Repeat(" ", indent) + "- "
				}
				b.WriteString(pre + l)
			}
			b.WriteString("\n")
		}
		return b.String(), nil
	}
	if len(bytes.TrimSpace(old)) == 0 {
		t, err := text(2)
		return []byte("version: 1\ncommands:\n" + t), err
	}
	root, err := topMapping(old)
	if err != nil {
		return nil, err
	}
	i := keyIndex(root, "commands")
	if i < 0 {
		t, err := text(2)
		return append(withNewline(old), "commands:\n"+t...), err
	}
	val := root.Content[i+1]
	indent := 2
	switch {
	case val.Kind == yaml.SequenceNode && val.Style&yaml.FlowStyle == 0 && len(val.Content) > 0:
		indent = val.Column - 1
	case val.Kind == yaml.ScalarNode && val.Tag == "!!null" && val.Value == "":
	default:
		t, _ := text(2)
		return nil, fmt.Errorf("commands is not a block list in the user policy; add this rule to it by hand:\n%s", t)
	}
	t, err := text(indent)
	if err != nil {
		return nil, err
	}
	end := -1 // line (1-based) of the next top-level key
	if i+2 < len(root.Content) {
		end = root.Content[i+2].Line
	}
	return insertAfterBlock(old, end, t), nil
}

// addHost adds host to network.allow in the policy text old.
func addHost(old []byte, host string) ([]byte, error) {
	if host == "" || strings.ContainsAny(host, "*/ \t\n:[]") {
		return nil, fmt.Errorf("%q is not a host name to allow", host)
	}
	q, _ := yaml.Marshal(host)
	item := "network:\n  allow:\n    - " + string(q)
	if len(bytes.TrimSpace(old)) == 0 {
		return []byte("version: 1\n" + item), nil
	}
	root, err := topMapping(old)
	if err != nil {
		return nil, err
	}
	if keyIndex(root, "network") >= 0 {
		return nil, fmt.Errorf("the user policy has a network section already; add %s to network.allow by hand", host)
	}
	return append(withNewline(old), item...), nil
}

// topMapping parses policy text and returns its top-level mapping.
func topMapping(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the user policy is not valid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the user policy is not a mapping with version: 1")
	}
	return doc.Content[0], nil
}

func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// insertAfterBlock inserts text before line end (1-based; -1 means the
// end of the file), moving up past blank lines and comments at the start
// of a line, which belong to what follows.
func insertAfterBlock(data []byte, end int, text string) []byte {
	lines := strings.SplitAfter(string(withNewline(data)), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	at := len(lines)
	if end > 0 && end-1 < len(lines) {
		at = end - 1
	}
	for at > 0 {
		l := lines[at-1]
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			break
		}
		at--
	}
	out := slices.Concat(lines[:at], []string{text}, lines[at:])
	return []byte(strings.Join(out, ""))
}

func withNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		return append(slices.Clip(b), '\n')
	}
	return b
}

// CheckAlways reports whether an "allow always" answer to req could be
// saved, without writing anything: nil when SaveAlways would try, an
// error saying why not otherwise. A prompt offers "allow always" only
// when it is nil.
func CheckAlways(req *Request) error {
	if req.Kind == KindNetwork {
		if req.Host == "" {
			return errors.New("no host")
		}
		return nil
	}
	_, err := commandRules(req, "check")
	return err
}
