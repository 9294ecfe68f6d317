package policy

import (
	"github.com/cordon-sh/cordon/egress"
	"slices"
	"strings"

	"github.com/cordon-sh/cordon/sandbox"
)

// Apply sets the sandbox settings of the policy on spec, which
// sandbox.NewSpec made: the filesystem lists are added to cordon's
// defaults (ReadOnlyRoots replaces them), the limits the policy sets
// replace the defaults, the environment is rebuilt from caller (the
// caller's environment, as os.Environ returns it) when the policy passes
// or sets variables, and the required protections are added. Paths
// starting with "~/" are taken from home.
//
// It returns warnings for settings that are not enforced yet: a network
// allow list keeps the network off, which is stricter than asked.
func (p *Policy) Apply(spec *sandbox.Spec, home string, caller []string) (warnings []string) {
	expand := func(list []string) []string { return expandHome(list, home) }
	fs := &spec.Filesystem
	if len(p.Filesystem.ReadOnlyRoots) > 0 {
		fs.ReadOnlyRoots = expand(p.Filesystem.ReadOnlyRoots)
	}
	fs.Writable = appendNew(fs.Writable, expand(p.Filesystem.Writable)...)
	fs.Masked = appendNew(fs.Masked, expand(p.Filesystem.Masked)...)
	fs.Protected = appendNew(fs.Protected, p.Filesystem.Protected...)

	l := p.Limits
	if l.Memory > 0 {
		spec.Limits.Memory = l.Memory
	}
	if l.Pids > 0 {
		spec.Limits.Processes = l.Pids
	}
	if l.CPUTime > 0 {
		spec.Limits.CPUTime = l.CPUTime
	}
	if l.Timeout > 0 {
		spec.Limits.Timeout = l.Timeout
	}
	if l.Output > 0 {
		spec.Limits.OutputBytes = l.Output
	}
	if l.FileSize > 0 {
		spec.Limits.FileSize = l.FileSize
	}
	if l.OpenFiles > 0 {
		spec.Limits.OpenFiles = l.OpenFiles
	}
	if l.Disk > 0 {
		spec.Limits.Disk = l.Disk
	}
	if l.DiskReserve > 0 {
		spec.Limits.DiskReserve = l.DiskReserve
	}

	if len(p.Env.Allow) > 0 || len(p.Env.Set) > 0 {
		// spec.Env holds the defaults already filtered; keep them and
		// add what the policy passes and sets.
		set := map[string]string{}
		for _, kv := range spec.Env {
			k, v, _ := strings.Cut(kv, "=")
			set[k] = v
		}
		for k, v := range p.Env.Set {
			set[k] = v
		}
		spec.Env = sandbox.Environment(caller, p.Env.Allow, set)
	}

	for _, r := range p.Require {
		if !slices.Contains(spec.Require, r) {
			spec.Require = append(spec.Require, r)
		}
	}
	if p.Network.Mode != "allowlist" {
		spec.Network.Mode = sandbox.NetworkNone
	}
	// An allow list needs the egress proxy, which the caller attaches
	// (see EgressRules): the sandbox refuses proxy mode without one.
	return warnings
}

// EgressRules returns the policy's network rules for the egress proxy.
func (p *Policy) EgressRules() egress.Rules {
	return egress.Rules{
		Allow: append([]string(nil), p.Network.Allow...),
		Deny:  append([]string(nil), p.Network.Deny...),
		Ask:   append([]string(nil), p.Network.Ask...),
	}
}
