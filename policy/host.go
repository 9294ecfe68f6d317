package policy

import (
	"fmt"
	"net"
	"strings"

	"github.com/cordon-sh/cordon/egress"
)

// Names of the rules DecideHost applies.
const (
	RuleHostAllow    = "network-allow"    // network.allow names the host
	RuleHostAsk      = "network-ask"      // network.ask names the host
	RuleHostDeny     = "network-deny"     // network.deny names it, or the allow list does not
	RuleHostPrivate  = "network-private"  // a loopback, private, link-local or metadata address
	RuleHostNoList   = "network-no-list"  // the policy lists no hosts: ask
	RuleHostBadInput = "network-bad-host" // the host cannot be read: deny
)

// DecideHost judges a connection to host and port made by an agent's own
// tool rather than by a sandboxed command (Claude Code's WebFetch), with
// the policy's network lists as the egress proxy applies them (see
// egress.Rules): deny over ask over allow, and a host the allow list does
// not name is denied. An IP address that is not a public unicast address
// (loopback, private, link-local, cloud metadata …) is denied, and so are
// localhost names. A policy without allow or ask lists (network mode
// none) keeps its deny list and asks about every other host: the agent's
// host may fetch pages when its user says so.
//
// Names are not resolved: a public name that resolves to a private
// address is caught only by the egress proxy, for sandboxed commands.
func (p *Policy) DecideHost(host string, port int) *Decision {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" {
		return &Decision{Verdict: Deny, Rule: RuleHostBadInput, Reason: "no host"}
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return &Decision{Verdict: Deny, Rule: RuleHostPrivate, Reason: fmt.Sprintf("%s names this machine", host)}
	}
	a, literal, err := egress.HostAddr(h)
	if err != nil {
		return &Decision{Verdict: Deny, Rule: RuleHostBadInput, Reason: err.Error()}
	}
	if literal {
		if err := egress.CheckIP(net.IP(a.AsSlice()), nil); err != nil {
			return &Decision{Verdict: Deny, Rule: RuleHostPrivate, Reason: err.Error()}
		}
	}
	rules := p.EgressRules()
	if len(rules.Allow)+len(rules.Ask) == 0 {
		// Only the deny list applies: allow the host itself so that
		// nothing but a deny rule (or a host that cannot be read)
		// refuses it.
		v, why := egress.Rules{Deny: rules.Deny, Allow: []string{h}}.Decide(h, port)
		if v != egress.Allow {
			return &Decision{Verdict: Deny, Rule: RuleHostDeny, Reason: why}
		}
		return &Decision{Verdict: Ask, Rule: RuleHostNoList, Reason: fmt.Sprintf("the policy allows no hosts (network.allow is empty); %s:%d needs approval", h, port)}
	}
	v, why := rules.Decide(h, port)
	switch v {
	case egress.Allow:
		return &Decision{Verdict: Allow, Rule: RuleHostAllow, Reason: why}
	case egress.Ask:
		return &Decision{Verdict: Ask, Rule: RuleHostAsk, Reason: why}
	}
	return &Decision{Verdict: Deny, Rule: RuleHostDeny, Reason: why}
}
