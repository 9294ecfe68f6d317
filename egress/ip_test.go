package egress

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckIP(t *testing.T) {
	tests := []struct {
		ip    string
		allow []string // AllowPrivate
		ok    bool
	}{
		{"8.8.8.8", nil, true},
		{"1.1.1.1", nil, true},
		{"2606:4700::1111", nil, true},
		{"2002:808:808::1", nil, true}, // 6to4 of a public address
		{"64:ff9b::808:808", nil, true},
		{"127.0.0.1", nil, false},
		{"127.255.255.254", nil, false},
		{"::1", nil, false},
		{"0.0.0.0", nil, false},
		{"::", nil, false},
		{"10.1.2.3", nil, false},
		{"172.16.0.1", nil, false},
		{"172.31.255.255", nil, false},
		{"192.168.1.1", nil, false},
		{"fc00::1", nil, false},
		{"fd12:3456::1", nil, false},
		{"169.254.169.254", nil, false},
		{"fd00:ec2::254", nil, false},
		{"fe80::1", nil, false},
		{"100.64.0.1", nil, false},
		{"100.127.255.255", nil, false},
		{"224.0.0.1", nil, false},
		{"ff02::1", nil, false},
		{"255.255.255.255", nil, false},
		{"240.0.0.1", nil, false},
		{"198.18.0.1", nil, false},
		{"198.19.255.255", nil, false},
		{"192.0.2.1", nil, false},
		{"198.51.100.1", nil, false},
		{"203.0.113.1", nil, false},
		{"2001:db8::1", nil, false},
		{"::ffff:127.0.0.1", nil, false},
		{"::ffff:169.254.169.254", nil, false},
		{"::127.0.0.1", nil, false},
		{"2002:7f00:1::1", nil, false}, // 6to4 of loopback
		{"2002:a9fe:a9fe::", nil, false},
		{"64:ff9b::7f00:1", nil, false}, // NAT64 of loopback
		{"64:ff9b::a9fe:a9fe", nil, false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", nil, false}, // Teredo
		// AllowPrivate opens exactly the named ranges.
		{"127.0.0.1", []string{"127.0.0.0/8"}, true},
		{"::ffff:127.0.0.1", []string{"127.0.0.0/8"}, true},
		{"64:ff9b::7f00:1", []string{"127.0.0.0/8"}, true},
		{"::1", []string{"127.0.0.0/8"}, false},
		{"10.0.0.1", []string{"127.0.0.0/8"}, false},
		{"169.254.169.254", []string{"10.0.0.0/8"}, false},
		{"10.9.8.7", []string{"10.9.8.7"}, true},
		{"10.9.8.6", []string{"10.9.8.7"}, false},
	}
	for _, tt := range tests {
		nets, err := parseCIDRs(tt.allow)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckIP(net.ParseIP(tt.ip), nets)
		if (err == nil) != tt.ok {
			t.Errorf("CheckIP(%s, %v) = %v, want ok=%v", tt.ip, tt.allow, err, tt.ok)
		}
	}
	if err := CheckIP(nil, nil); err == nil {
		t.Error("CheckIP(nil) accepted")
	}
}

// FuzzParseHost checks that host parsing never panics, that every name it
// lets through is a plain DNS name no resolver could read as an address,
// and that every literal is refused without a rule naming it.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{
		"example.com", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
		"127.000.000.001", "[::ffff:7f00:1]", "0:0:0:0:0:ffff:127.0.0.1",
		"Bücher.example", "xn--bcher-kva.example", "1.2.3.4.5", "a..b", "[fe80::1%lo]",
		"１２７.０.０.１", "0x7f.1", "cafe.be", "*.x.com", "EXAMPLE.com.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseHost(s)
		if err != nil {
			return
		}
		if d.addr.IsValid() {
			if dec, _ := (Rules{Allow: []string{"*.com"}}).Decide(s, 443); dec != Deny {
				t.Fatalf("literal %q (%s) decided %s without a rule naming it", s, d.addr, dec)
			}
			if d.addr.Is4In6() {
				t.Fatalf("literal %q kept its mapped form %s", s, d.addr)
			}
			return
		}
		if d.host == "" || strings.Trim(d.host, "abcdefghijklmnopqrstuvwxyz0123456789-._") != "" {
			t.Fatalf("name %q normalised to %q", s, d.host)
		}
		if _, err := netip.ParseAddr(d.host); err == nil {
			t.Fatalf("name %q is an address", s)
		}
		if _, ok := parseInetAton(d.host); ok {
			t.Fatalf("name %q (%q) is an inet_aton address", s, d.host)
		}
		if ip := net.ParseIP(d.host); ip != nil {
			t.Fatalf("name %q parses as IP %v", s, ip)
		}
	})
}
