package egress

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// parseIPLiteral recognises every spelling of an IP address a resolver or a
// C library would accept, so that a name-level rule can never be bypassed by
// writing an address differently. isLiteral reports whether s must be
// treated as an address; err is set when it must but is not a valid one.
//
// IPv4 follows inet_aton: one to four parts, each decimal, octal (leading 0)
// or hex (0x), the last part filling the remaining bytes ("127.1",
// "2130706433", "0x7f000001", "0177.0.0.1"). A host whose last label is
// numeric is an IPv4 literal or nothing (as in the WHATWG URL standard):
// no top-level domain is numeric, and such a name would reach resolvers
// that parse it as an address.
func parseIPLiteral(s string) (addr netip.Addr, isLiteral bool, err error) {
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Addr{}, true, fmt.Errorf("host %q: invalid IPv6 address", s)
		}
		if a.Zone() != "" {
			return netip.Addr{}, true, fmt.Errorf("host %q: zoned addresses are not destinations", s)
		}
		return a.Unmap(), true, nil
	}
	t := strings.TrimSuffix(s, ".")
	last := t[strings.LastIndexByte(t, '.')+1:]
	if _, ok := parseInetPart(last); !ok && !allDigits(last) {
		return netip.Addr{}, false, nil
	}
	a, ok := parseInetAton(t)
	if !ok {
		return netip.Addr{}, true, fmt.Errorf("host %q: malformed IPv4 literal", s)
	}
	return a, true, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseInetPart parses one inet_aton component: 0x… hex, 0… octal, else
// decimal. Values beyond 32 bits are rejected.
func parseInetPart(s string) (uint64, bool) {
	base := 10
	switch {
	case s == "0x" || s == "0X":
		return 0, true // glibc and WHATWG read a bare prefix as zero
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 32)
	return n, err == nil
}

func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseInetPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		// The last part fills the bytes the earlier parts left.
		rest := uint(4-i) * 8
		if rest < 32 && n>>rest != 0 {
			return netip.Addr{}, false
		}
		v = v<<rest | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// forbiddenRange is an address block that is not a public destination.
type forbiddenRange struct {
	prefix netip.Prefix
	why    string
}

// forbiddenRanges lists the blocks CheckIP refuses, from the IANA special-
// purpose registries. Every one is either this machine, its networks, the
// cloud's metadata service, or not a unicast Internet host.
func forbiddenRanges() []forbiddenRange {
	list := []struct{ cidr, why string }{
		{"0.0.0.0/8", "unspecified / this network"},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "carrier-grade NAT"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local (cloud metadata)"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "IETF protocol assignments"},
		{"192.0.2.0/24", "documentation"},
		{"192.88.99.0/24", "6to4 relay anycast"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"198.51.100.0/24", "documentation"},
		{"203.0.113.0/24", "documentation"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"},
		{"255.255.255.255/32", "broadcast"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "IPv4-compatible IPv6"},
		{"64:ff9b:1::/48", "local-use NAT64"},
		{"100::/64", "discard-only"},
		{"2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)"},
		{"2001:db8::/32", "documentation"},
		{"3fff::/20", "documentation"},
		{"fc00::/7", "unique local (private, incl. fd00:ec2::254 metadata)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local"},
		{"ff00::/8", "multicast"},
	}
	out := make([]forbiddenRange, len(list))
	for i, r := range list {
		out[i] = forbiddenRange{netip.MustParsePrefix(r.cidr), r.why}
	}
	return out
}

// CheckIP refuses an address that is not a public unicast Internet host:
// loopback, unspecified, private, link-local (including cloud metadata),
// CGNAT, multicast, broadcast, reserved, benchmarking and documentation
// ranges, and IPv6 forms that carry such an IPv4 address (IPv4-mapped and
// -compatible, 6to4, NAT64). Teredo is refused whole, as its embedded
// addresses are obfuscated and it is no destination an agent needs.
// An address inside one of allowPrivate is accepted; for embedded forms,
// the embedded IPv4 address may be the one allowPrivate names.
func CheckIP(ip net.IP, allowPrivate []*net.IPNet) error {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return fmt.Errorf("invalid address %v", ip)
	}
	return checkAddr(a.Unmap(), allowPrivate, forbiddenRanges())
}

func checkAddr(a netip.Addr, allowPrivate []*net.IPNet, ranges []forbiddenRange) error {
	for _, n := range allowPrivate {
		if n.Contains(a.AsSlice()) {
			return nil
		}
	}
	if a.Is6() {
		// These forms reach an IPv4 host through a translator; the IPv4
		// host is the real destination, so it is what gets checked.
		b := a.As16()
		var embedded netip.Addr
		switch {
		case b[0] == 0x20 && b[1] == 0x02: // 6to4 2002:V4ADDR::/48
			embedded = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		case netip.MustParsePrefix("64:ff9b::/96").Contains(a): // NAT64
			embedded = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		}
		if embedded.IsValid() {
			if err := checkAddr(embedded, allowPrivate, ranges); err != nil {
				return fmt.Errorf("%s embeds %w", a, err)
			}
		}
	}
	for _, r := range ranges {
		if r.prefix.Contains(a) {
			return fmt.Errorf("%s is %s (%s)", a, r.why, r.prefix)
		}
	}
	return nil
}

// parseCIDRs parses AllowPrivate entries; a bare address means just it.
func parseCIDRs(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("allow_private %q: %w", s, err)
			}
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("allow_private %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}
