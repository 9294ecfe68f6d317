package linux

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Host is what this host can enforce, as found by Probe.
type Host struct {
	Kernel      string `json:"kernel"`
	UID         int    `json:"uid"`
	UserNS      bool   `json:"user_namespaces"`
	UserNSError string `json:"user_namespaces_error,omitempty"`
	LandlockABI int    `json:"landlock_abi"`
	Seccomp     bool   `json:"seccomp"`
	// CgroupVersion is "v2", "v1" or "hybrid"; CgroupUsable says whether
	// this caller can create cgroups with memory and pids limits, and
	// CgroupError why not.
	CgroupVersion string   `json:"cgroup_version"`
	CgroupV1      []string `json:"cgroup_v1_controllers,omitempty"`
	CgroupV2      []string `json:"cgroup_v2_controllers,omitempty"`
	CgroupUsable  string   `json:"cgroup_usable,omitempty"` // "v2", "v1" or ""
	CgroupError   string   `json:"cgroup_error,omitempty"`
	// PidMaxPerNS says whether the kernel keeps pid_max per PID namespace
	// (Linux 6.14), which bounds processes where nothing else does.
	PidMaxPerNS bool `json:"pid_max_per_namespace"`
}

// kernelFeatures are the cheap facts every run needs: two syscalls.
type kernelFeatures struct {
	landlockABI int
	seccomp     bool
}

var features = sync.OnceValue(func() kernelFeatures {
	// PR_GET_SECCOMP answers EINVAL when the kernel has no seccomp.
	_, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	return kernelFeatures{landlockABI: landlockABI(), seccomp: err == nil}
})

// Probe finds what the host can enforce, trying each mechanism for real
// (it starts a process in new namespaces and creates a cgroup). It is for
// reports; a run finds out as it goes.
func Probe() *Host {
	h := &Host{UID: os.Getuid()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	h.PidMaxPerNS = kernelAtLeast(h.Kernel, 6, 14)
	kf := features()
	h.LandlockABI = kf.landlockABI
	h.Seccomp = kf.seccomp
	h.UserNS, h.UserNSError = probeUserNS()
	if hs, err := findHierarchies(); err == nil {
		for c := range hs.v1 {
			h.CgroupV1 = append(h.CgroupV1, c)
		}
		h.CgroupV2 = hs.v2Ctrls
		switch {
		case hs.v2 != "" && len(hs.v1) == 0:
			h.CgroupVersion = "v2"
		case hs.v2 != "":
			h.CgroupVersion = "hybrid"
		case len(hs.v1) > 0:
			h.CgroupVersion = "v1"
		}
	}
	if cg, err := newCgroup(0, 0, false); err == nil {
		h.CgroupUsable = cg.version
		cg.remove()
	} else {
		h.CgroupError = err.Error()
	}
	return h
}

// probeUserNS checks that an unprivileged user namespace can be made, by
// making one: sysctls and distribution patches (AppArmor's userns
// restriction, Debian's unprivileged_userns_clone) each say no in their own
// way, and only trying tells.
func probeUserNS() (bool, string) {
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{probeArg0}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		return false, userNSHint(err)
	}
	cmd.Wait()
	return true, ""
}

// userNSHint explains the usual reasons a user namespace is refused.
func userNSHint(err error) string {
	{
		msg := err.Error()
		if strings.Contains(msg, "operation not permitted") || strings.Contains(msg, "no space left") {
			msg += " (unprivileged user namespaces are disabled: check user.max_user_namespaces, kernel.unprivileged_userns_clone or kernel.apparmor_restrict_unprivileged_userns)"
		}
		return msg
	}
}

// kernelAtLeast reports whether a kernel release such as "6.18.44-foo" is
// major.minor or newer.
func kernelAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}
