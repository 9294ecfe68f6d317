package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Rules say which destinations a sandboxed command may reach. A pattern is a
// host name ("example.com"), a wildcard ("*.example.com": any subdomain, not
// the apex), or an IP literal ("1.2.3.4", "[::1]"), optionally followed by
// ":port" ("api.example.com:443"); without a port it matches every port.
// Patterns are normalised like destinations (lower case, no trailing dot,
// IDNA to ASCII), so "Bücher.example" and "xn--bcher-kva.example" are the
// same rule.
//
// The strictest matching list wins: Deny over Ask over Allow. A destination
// no rule names is denied.
type Rules struct {
	// Allow lists destinations that may be reached. Empty means nothing is.
	Allow []string
	// Deny lists destinations that are refused even if Allow names them.
	Deny []string
	// Ask lists destinations that need the Proxy's Approver to say yes.
	Ask []string
	// AllowIPLiterals lets a client name an IP address as its destination
	// without a rule naming that address. Off by default: a literal skips
	// every name rule, so it is refused unless a rule names it exactly.
	// Deny and Ask rules still apply, and so does the address check.
	AllowIPLiterals bool
	// AllowPrivate lists CIDRs ("10.1.0.0/16", or a bare address) that may
	// be reached although CheckIP would refuse them (loopback, private,
	// link-local, metadata …). Empty by default.
	AllowPrivate []string
}

// Decision is the outcome of evaluating Rules for one destination.
type Decision string

// The decisions Rules.Decide returns.
const (
	Allow Decision = "allow"
	Deny  Decision = "deny"
	Ask   Decision = "ask"
)

// pattern is one parsed rule.
type pattern struct {
	text     string     // as written, for reasons
	host     string     // normalised name, or "" for an address
	addr     netip.Addr // valid when the rule names an IP literal
	wildcard bool       // "*.host": strict subdomains of host
	port     int        // 0: any port
}

func (p pattern) match(d destination) bool {
	if p.port != 0 && p.port != d.port {
		return false
	}
	if d.addr.IsValid() {
		// Literals match only a rule naming the same address; a name
		// rule never covers an address, whatever the name resolves to.
		return p.addr.IsValid() && p.addr == d.addr
	}
	if p.addr.IsValid() {
		return false
	}
	if p.wildcard {
		// The label boundary matters: "*.x.com" must not match "ax.com".
		return strings.HasSuffix(d.host, "."+p.host)
	}
	return d.host == p.host
}

// parsePattern parses one rule pattern.
func parsePattern(s string) (pattern, error) {
	p := pattern{text: s}
	hostPart, port, err := splitHostPort(strings.TrimSpace(s))
	if err != nil {
		return p, fmt.Errorf("rule %q: %w", s, err)
	}
	p.port = port
	if rest, ok := strings.CutPrefix(hostPart, "*."); ok {
		p.wildcard = true
		hostPart = rest
	}
	d, err := parseHost(hostPart)
	if err != nil {
		return p, fmt.Errorf("rule %q: %w", s, err)
	}
	if d.addr.IsValid() && p.wildcard {
		return p, fmt.Errorf("rule %q: a wildcard cannot precede an IP address", s)
	}
	p.host, p.addr = d.host, d.addr
	return p, nil
}

// splitHostPort splits "host", "host:port", "[v6]" and "[v6]:port". A bare
// IPv6 address without brackets is taken whole, as it has no port.
func splitHostPort(s string) (string, int, error) {
	if s == "" {
		return "", 0, fmt.Errorf("empty host")
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("missing ']'")
		}
		host, rest := s[:end+1], s[end+1:]
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, fmt.Errorf("unexpected %q after ']'", rest)
		}
		port, err := parsePort(rest[1:])
		return host, port, err
	}
	if strings.Count(s, ":") > 1 {
		return s, 0, nil
	}
	host, portText, ok := strings.Cut(s, ":")
	if !ok {
		return s, 0, nil
	}
	port, err := parsePort(portText)
	return host, port, err
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// destination is a normalised host: a name or an address, never both.
type destination struct {
	host string     // normalised name ("" for a literal)
	addr netip.Addr // valid for an IP literal, unmapped
	port int
}

// String is the form used in events and reasons.
func (d destination) String() string {
	if d.addr.IsValid() {
		return d.addr.String()
	}
	return d.host
}

// hostProfile converts names to the ASCII form they are looked up under,
// refusing what is not a valid host name (RFC 5891 lookup rules, labels and
// total length within DNS limits).
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(false), // "_" occurs in real names (SRV-style hosts)
)

// parseHost normalises a destination host. IP literals in any spelling
// inet_aton or net.ParseIP accepts are returned as addresses so that no
// spelling of an address can pass as a name.
func parseHost(s string) (destination, error) {
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return destination{}, fmt.Errorf("host %q: missing ']'", s)
		}
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return destination{}, fmt.Errorf("host %q: not an IPv6 address", s)
		}
		return destination{addr: a.Unmap()}, nil
	}
	if a, isLiteral, err := parseIPLiteral(s); isLiteral {
		if err != nil {
			return destination{}, err
		}
		return destination{addr: a}, nil
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	if name == "" {
		return destination{}, fmt.Errorf("empty host")
	}
	ascii, err := hostProfile.ToASCII(name)
	if err != nil {
		return destination{}, fmt.Errorf("host %q: invalid name: %w", s, err)
	}
	ascii = strings.ToLower(ascii)
	for _, r := range ascii {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return destination{}, fmt.Errorf("host %q: invalid character %q", s, r)
		}
	}
	// The name may have become a literal through mapping (full-width
	// digits map to ASCII ones), so look again.
	if a, isLiteral, err := parseIPLiteral(ascii); isLiteral {
		if err != nil {
			return destination{}, err
		}
		return destination{addr: a}, nil
	}
	return destination{host: ascii}, nil
}

// compiled is a parsed Rules.
type compiled struct {
	allow, deny, ask []pattern
	allowLiterals    bool
}

func (r Rules) compile() (compiled, error) {
	c := compiled{allowLiterals: r.AllowIPLiterals}
	for _, l := range []struct {
		src []string
		dst *[]pattern
	}{{r.Allow, &c.allow}, {r.Deny, &c.deny}, {r.Ask, &c.ask}} {
		for _, s := range l.src {
			p, err := parsePattern(s)
			if err != nil {
				return c, err
			}
			*l.dst = append(*l.dst, p)
		}
	}
	return c, nil
}

// Validate reports the first pattern or CIDR that cannot be parsed.
func (r Rules) Validate() error {
	if _, err := r.compile(); err != nil {
		return err
	}
	_, err := parseCIDRs(r.AllowPrivate)
	return err
}

// Decide evaluates the rules for host and port at the name level, without
// resolving anything; the Proxy checks addresses afterwards. It returns the
// decision and a reason naming the rule. Invalid host names and invalid
// rules yield Deny: a rule that cannot be read must not widen anything.
func (r Rules) Decide(host string, port int) (Decision, string) {
	c, err := r.compile()
	if err != nil {
		return Deny, "invalid rules: " + err.Error()
	}
	d, err := parseHost(host)
	if err != nil {
		return Deny, err.Error()
	}
	d.port = port
	return c.decide(d)
}

func (c compiled) decide(d destination) (Decision, string) {
	for _, p := range c.deny {
		if p.match(d) {
			return Deny, fmt.Sprintf("%s:%d denied by rule %q", d, d.port, p.text)
		}
	}
	for _, p := range c.ask {
		if p.match(d) {
			return Ask, fmt.Sprintf("%s:%d needs approval by rule %q", d, d.port, p.text)
		}
	}
	for _, p := range c.allow {
		if p.match(d) {
			return Allow, fmt.Sprintf("%s:%d allowed by rule %q", d, d.port, p.text)
		}
	}
	if d.addr.IsValid() {
		if c.allowLiterals {
			return Allow, fmt.Sprintf("%s:%d allowed as an IP literal", d, d.port)
		}
		return Deny, fmt.Sprintf("%s:%d is an IP literal no rule names", d, d.port)
	}
	return Deny, fmt.Sprintf("%s:%d matches no allow rule", d, d.port)
}

// HostAddr reports whether host, as a destination, is an IP address in
// any spelling the C library accepts ("127.1", "0x7f000001", "[::1]",
// full-width digits …), and returns the address. A host that is not a
// valid name either is returned as an error.
func HostAddr(host string) (netip.Addr, bool, error) {
	d, err := parseHost(host)
	if err != nil {
		return netip.Addr{}, false, err
	}
	return d.addr, d.addr.IsValid(), nil
}
