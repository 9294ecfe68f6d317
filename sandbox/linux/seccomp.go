package linux

import (
	"fmt"
	"runtime"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp layer closes kernel attack surface that a build or a test
// never needs. It is a deny list, at least as strong as Docker's default
// profile for these calls, so that unusual but harmless programs still run.
//
// Two filters are loaded. The first, assembled by go-seccomp-bpf from
// syscall names, denies whole calls and clone with namespace flags. The
// second is written here because its checks must compare only the low 32
// bits of an argument (the kernel truncates int and unsigned int arguments,
// so a 64-bit comparison could be dodged by setting the high bits) and
// because it must refuse every foreign calling convention (i386 through
// int 0x80, x32), which a name-based filter for one architecture lets by.

// deniedSyscalls are refused with EPERM.
var deniedSyscalls = []string{
	// Inspecting or steering other processes.
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	// Kernel attack surface with a long record of exploits.
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"fanotify_init", "lookup_dcookie", "vhangup",
	// Kernel modules and replacing the kernel.
	"init_module", "finit_module", "delete_module", "create_module",
	"kexec_load", "kexec_file_load",
	// Mounts and namespaces: the view the sandbox built is final.
	"mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount",
	"fspick", "move_mount", "open_tree", "open_tree_attr", "mount_setattr",
	"unshare", "setns", "chroot",
	// Host-wide state.
	"reboot", "swapon", "swapoff", "acct", "syslog", "settimeofday",
	"clock_settime", "clock_adjtime", "adjtimex", "sethostname",
	"setdomainname", "quotactl", "quotactl_fd", "iopl", "ioperm",
	"nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "get_kernel_syms",
	"query_module",
	// Opening files by handle bypasses the mount view.
	"open_by_handle_at", "name_to_handle_at",
}

// enosysSyscalls are refused with ENOSYS, so that callers fall back to an
// older call the filter can inspect (clone3's flags are in memory, out of a
// filter's reach; glibc then uses clone) or do without (io_uring).
var enosysSyscalls = []string{"clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"}

// nsFlags are the clone flags that create namespaces.
const nsFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// personalities Docker allows; anything else (such as READ_IMPLIES_EXEC) is
// refused.
var personalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

func denyPolicy() (seccomp.Policy, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return seccomp.Policy{}, err
	}
	known := func(names []string) []string {
		var out []string
		for _, n := range names {
			if _, ok := info.SyscallNames[n]; ok {
				out = append(out, n)
			}
		}
		return out
	}
	var persona seccomp.ArgumentConditions
	for _, p := range personalities {
		persona = append(persona, seccomp.Condition{Argument: 0, Operation: seccomp.NotEqual, Value: p})
	}
	return seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno | seccomp.Action(unix.EPERM), Names: known(deniedSyscalls)},
			{Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS), Names: known(enosysSyscalls)},
			{
				Action: seccomp.ActionErrno | seccomp.Action(unix.EPERM),
				NamesWithCondtions: []seccomp.NameWithConditions{
					{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: nsFlags}}},
					{Name: "personality", Conditions: persona},
				},
			},
		},
	}, nil
}

// struct seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
)

// offArgLo is the offset of the low 32 bits of argument i (little endian).
func offArgLo(i int) uint32 { return uint32(16 + 8*i) }

const (
	tiocsti       = 0x5412
	tioclinux     = 0x541C
	ipprotoMPTCP  = 262
	x32SyscallBit = 0x40000000
)

// auditArch is the AUDIT_ARCH value of the native calling convention.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("seccomp: no filter for architecture %s", runtime.GOARCH)
}

func retErrno(e unix.Errno) bpf.Instruction {
	return bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(e)}
}

// argFilter builds the filter that checks the calling convention and the
// arguments that are ints.
func argFilter() ([]bpf.RawInstruction, error) {
	prog, err := argProgram()
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(prog)
}

// argProgram is argFilter before assembly, for tests.
func argProgram() ([]bpf.Instruction, error) {
	native, err := auditArch()
	if err != nil {
		return nil, err
	}
	allow := bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}
	// Jumps are counted by hand; each names its target index, and
	// TestArgFilter runs the program in a BPF VM over every branch.
	prog := []bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: offArch, Size: 4},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: native, SkipTrue: 1},
		/* 2 */ retErrno(unix.ENOSYS),
		/* 3 */ bpf.LoadAbsolute{Off: offNr, Size: 4},
		/* 4 */ bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
		/* 5 */ retErrno(unix.ENOSYS),
		/* 6 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_IOCTL, SkipTrue: 3}, // -> 10
		/* 7 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_SOCKET, SkipTrue: 7}, // -> 15
		/* 8 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.SYS_SOCKETPAIR, SkipTrue: 16}, // -> 25
		/* 9 */ allow,
		// ioctl: the request is an unsigned int.
		/* 10 */ bpf.LoadAbsolute{Off: offArgLo(1), Size: 4},
		/* 11 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: tiocsti, SkipTrue: 2}, // -> 14
		/* 12 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: tioclinux, SkipTrue: 1}, // -> 14
		/* 13 */ allow,
		/* 14 */ retErrno(unix.EPERM),
		// socket: only unix, IPv4 and IPv6, and no MPTCP.
		/* 15 */ bpf.LoadAbsolute{Off: offArgLo(0), Size: 4},
		/* 16 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_UNIX, SkipTrue: 6}, // -> 23
		/* 17 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_INET, SkipTrue: 1}, // -> 19
		/* 18 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_INET6, SkipFalse: 5}, // -> 24
		/* 19 */ bpf.LoadAbsolute{Off: offArgLo(2), Size: 4},
		/* 20 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: ipprotoMPTCP, SkipTrue: 1}, // -> 22
		/* 21 */ allow,
		/* 22 */ retErrno(unix.EPROTONOSUPPORT),
		/* 23 */ allow,
		/* 24 */ retErrno(unix.EAFNOSUPPORT),
		// socketpair: only unix.
		/* 25 */ bpf.LoadAbsolute{Off: offArgLo(0), Size: 4},
		/* 26 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_UNIX, SkipFalse: 1}, // -> 28
		/* 27 */ allow,
		/* 28 */ retErrno(unix.EAFNOSUPPORT),
	}
	return prog, nil
}

// applySeccomp loads both filters on the calling thread. no_new_privs must
// already be set. The filters are not synchronised to other threads on
// purpose: only the locked thread that starts the command needs them, and
// the child inherits them through fork and keeps them across execve.
func applySeccomp() error {
	policy, err := denyPolicy()
	if err != nil {
		return err
	}
	if err := seccomp.LoadFilter(seccomp.Filter{Policy: policy}); err != nil {
		return fmt.Errorf("seccomp deny list: %w", err)
	}
	raw, err := argFilter()
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp argument filter: %w", errno)
	}
	return nil
}
