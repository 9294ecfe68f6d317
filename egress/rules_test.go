package egress

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	base := Rules{
		Allow: []string{"example.com", "*.x.com", "api.y.com:443", "Bücher.example", "1.1.1.1", "[2606:4700::1111]:443", "both.z.com"},
		Deny:  []string{"both.z.com", "bad.x.com"},
		Ask:   []string{"ask.com", "*.x.com:22"},
	}
	tests := []struct {
		rules Rules
		host  string
		port  int
		want  Decision
		why   string // substring of the reason
	}{
		{base, "example.com", 443, Allow, `rule "example.com"`},
		{base, "EXAMPLE.com.", 80, Allow, "allowed"},
		{base, "www.example.com", 443, Deny, "no allow rule"},
		// Wildcards: any subdomain, never the apex, never a suffix that is not a label.
		{base, "a.x.com", 443, Allow, `"*.x.com"`},
		{base, "a.b.x.com", 443, Allow, `"*.x.com"`},
		{base, "x.com", 443, Deny, "no allow rule"},
		{base, "ax.com", 443, Deny, "no allow rule"},
		{base, "x.com.evil.com", 443, Deny, "no allow rule"},
		// Ports.
		{base, "api.y.com", 443, Allow, "allowed"},
		{base, "api.y.com", 80, Deny, "no allow rule"},
		{base, "a.x.com", 22, Ask, `"*.x.com:22"`},
		// Deny wins over allow, ask over allow.
		{base, "both.z.com", 443, Deny, `denied by rule "both.z.com"`},
		{base, "bad.x.com", 443, Deny, "denied"},
		{base, "ask.com", 443, Ask, "approval"},
		// IDNA: a rule in Unicode matches its ASCII form and vice versa.
		{base, "xn--bcher-kva.example", 443, Allow, "allowed"},
		{base, "BÜCHER.example", 443, Allow, "allowed"},
		// IP literals: only a rule naming the address, in any spelling.
		{base, "1.1.1.1", 443, Allow, `"1.1.1.1"`},
		{base, "16843009", 443, Allow, `"1.1.1.1"`},
		{base, "[2606:4700:0::1111]", 443, Allow, "allowed"},
		{base, "[2606:4700::1111]", 80, Deny, "IP literal"},
		{base, "8.8.8.8", 443, Deny, "IP literal"},
		{Rules{Allow: []string{"*.x.com"}, AllowIPLiterals: true}, "8.8.8.8", 443, Allow, "IP literal"},
		{Rules{Deny: []string{"8.8.8.8"}, AllowIPLiterals: true}, "8.8.8.8", 443, Deny, "denied"},
		// Odd spellings of 127.0.0.1 are literals, not names.
		{base, "127.1", 80, Deny, "IP literal"},
		{base, "2130706433", 80, Deny, "IP literal"},
		{base, "0x7f000001", 80, Deny, "IP literal"},
		{base, "0177.0.0.1", 80, Deny, "IP literal"},
		{base, "127.000.000.001", 80, Deny, "IP literal"},
		{base, "[::ffff:7f00:1]", 80, Deny, "IP literal"},
		{base, "0:0:0:0:0:ffff:127.0.0.1", 80, Deny, "IP literal"},
		{base, "１２７.０.０.１", 80, Deny, "IP literal"}, // full-width digits
		// Invalid names.
		{base, "", 80, Deny, "empty"},
		{base, "a..b", 80, Deny, "invalid"},
		{base, "ex ample.com", 80, Deny, "invalid"},
		{base, "exa\x00mple.com", 80, Deny, "invalid"},
		{base, "1.2.3.4.5", 80, Deny, "malformed"},
		{base, "example.256", 80, Deny, "malformed"},
		{base, "[fe80::1%eth0]", 80, Deny, "not an IPv6"},
		// No rules: nothing is allowed.
		{Rules{}, "example.com", 443, Deny, "no allow rule"},
		// An unreadable rule denies everything rather than being skipped.
		{Rules{Allow: []string{"example.com"}, Deny: []string{"bad:port"}}, "example.com", 443, Deny, "invalid rules"},
	}
	for _, tt := range tests {
		got, why := tt.rules.Decide(tt.host, tt.port)
		if got != tt.want || !strings.Contains(why, tt.why) {
			t.Errorf("Decide(%q, %d) = %s, %q; want %s, reason containing %q", tt.host, tt.port, got, why, tt.want, tt.why)
		}
	}
}

func TestParseIPLiteral(t *testing.T) {
	tests := []struct {
		in      string
		literal bool
		want    string // address, or "" for an error
	}{
		{"127.0.0.1", true, "127.0.0.1"},
		{"127.1", true, "127.0.0.1"},
		{"127.0.1", true, "127.0.0.1"},
		{"2130706433", true, "127.0.0.1"},
		{"0x7f000001", true, "127.0.0.1"},
		{"0X7F.1", true, "127.0.0.1"},
		{"0177.0.0.1", true, "127.0.0.1"},
		{"127.000.000.001", true, "127.0.0.1"},
		{"0", true, "0.0.0.0"},
		{"0x", true, "0.0.0.0"},
		{"0x.0x.0", true, "0.0.0.0"},
		{"08.0.0.1", true, ""}, // 8 is no octal digit
		{"256.0.0.1", true, ""},
		{"1.2.3.4.5", true, ""},
		{"4294967296", true, ""},
		{"1.2.3.4.", true, "1.2.3.4"},
		{"::1", true, "::1"},
		{"::ffff:7f00:1", true, "127.0.0.1"},
		{"0:0:0:0:0:ffff:127.0.0.1", true, "127.0.0.1"},
		{"fe80::1%lo", true, ""},
		{"example.com", false, ""},
		{"cafe.be", false, ""},
		{"0x7f.example", false, ""},
		{"deadbeef", false, ""},
	}
	for _, tt := range tests {
		a, literal, err := parseIPLiteral(tt.in)
		if literal != tt.literal {
			t.Errorf("parseIPLiteral(%q): literal = %v, want %v", tt.in, literal, tt.literal)
			continue
		}
		if !literal {
			continue
		}
		got := ""
		if err == nil {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("parseIPLiteral(%q) = %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		rules Rules
		ok    bool
	}{
		{Rules{Allow: []string{"example.com", "*.example.com:443", "[::1]:80", "10.0.0.1"}, AllowPrivate: []string{"10.0.0.0/8", "::1"}}, true},
		{Rules{Allow: []string{"example.com:0"}}, false},
		{Rules{Allow: []string{"example.com:http"}}, false},
		{Rules{Allow: []string{"*.1.2.3.4"}}, false},
		{Rules{Deny: []string{"[::1"}}, false},
		{Rules{AllowPrivate: []string{"10.0.0.0/33"}}, false},
	}
	for _, tt := range tests {
		if err := tt.rules.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tt.rules, err, tt.ok)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	r := Rules{
		Allow: []string{"github.com", "*.github.com", "proxy.golang.org", "sum.golang.org", "registry.npmjs.org", "pypi.org", "files.pythonhosted.org"},
		Deny:  []string{"gist.github.com"},
	}
	for b.Loop() {
		r.Decide("objects.githubusercontent.com", 443)
	}
}
