package sandbox

import (
	"fmt"
	"strings"
)

// Protection names one mechanism a run can require.
type Protection string

const (
	ProtectUserNS    Protection = "userns"   // user, mount, pid, ipc, uts, net and cgroup namespaces
	ProtectLandlock  Protection = "landlock" // Landlock filesystem rules
	ProtectLandNet   Protection = "landlock-net"
	ProtectScope     Protection = "landlock-scope" // abstract unix sockets and signals scoped
	ProtectSeccomp   Protection = "seccomp"
	ProtectCgroup    Protection = "cgroup" // memory and process limits for the whole tree
	ProtectNoNewPriv Protection = "no_new_privs"
)

// Protections lists every Protection, in the order reports show them.
var Protections = []Protection{ProtectUserNS, ProtectLandlock, ProtectLandNet, ProtectScope, ProtectSeccomp, ProtectNoNewPriv, ProtectCgroup}

// ParseProtection returns the Protection named s.
func ParseProtection(s string) (Protection, error) {
	for _, p := range Protections {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, len(Protections))
	for i, p := range Protections {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown protection %q (expected one of %s)", s, strings.Join(names, ", "))
}

// Enforcement is what a run had in force.
type Enforcement struct {
	Namespaces    []string `json:"namespaces"`
	LandlockABI   int      `json:"landlock_abi"` // 0: no Landlock
	LandlockNet   bool     `json:"landlock_net"`
	LandlockScope bool     `json:"landlock_scope"`
	Seccomp       bool     `json:"seccomp"`
	NoNewPrivs    bool     `json:"no_new_privs"`
	Cgroup        string   `json:"cgroup"` // "v2", "v1" or "" when only rlimits bound the run
	CgroupLimits  []string `json:"cgroup_limits,omitempty"`
	// Missing says, for each protection that was not in force, why.
	Missing map[Protection]string `json:"missing,omitempty"`
}

// Has reports whether p was in force.
func (e *Enforcement) Has(p Protection) bool {
	switch p {
	case ProtectUserNS:
		return len(e.Namespaces) > 0
	case ProtectLandlock:
		return e.LandlockABI > 0
	case ProtectLandNet:
		return e.LandlockNet
	case ProtectScope:
		return e.LandlockScope
	case ProtectSeccomp:
		return e.Seccomp
	case ProtectNoNewPriv:
		return e.NoNewPrivs
	case ProtectCgroup:
		return e.Cgroup != ""
	}
	return false
}

// RequireError is returned when a run requires a protection the host cannot
// provide. The run does not start.
type RequireError struct {
	Protection Protection
	Why        string
}

func (e *RequireError) Error() string {
	return fmt.Sprintf("required protection %s is not available on this host: %s (run 'cordon doctor')", e.Protection, e.Why)
}
