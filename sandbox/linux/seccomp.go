package linux

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The seccomp layer closes kernel attack surface that a build or a test
// never needs. It is a deny list, at least as strong as Docker's default
// profile for these calls, so that unusual but harmless programs still run.
//
// The filter is assembled here rather than by a general seccomp library,
// for two reasons. Safety: every argument it inspects is an int or an
// unsigned int to the kernel, which reads only the low 32 bits, so the
// filter compares only those (a 64-bit comparison is dodged by setting the
// high bits), and it refuses every foreign calling convention (i386 through
// int 0x80, x32), which a filter written for one architecture's numbers
// would otherwise let by. Speed: the library we measured builds syscall
// tables for every architecture in a package init, 0.3 ms in each of the
// two processes a cold start runs, out of a budget of a few milliseconds.

// denied are refused with EPERM, whatever their arguments.
var denied = append([]uint32{
	// Inspecting or steering other processes.
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_KCMP,
	unix.SYS_PIDFD_GETFD,
	// Kernel attack surface with a long record of exploits.
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD, unix.SYS_KEYCTL,
	unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_FANOTIFY_INIT, unix.SYS_LOOKUP_DCOOKIE,
	unix.SYS_VHANGUP,
	// Kernel modules and replacing the kernel.
	unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE,
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
	// Mounts and namespaces: the view the sandbox built is final.
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_FSOPEN, unix.SYS_FSCONFIG,
	unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE,
	unix.SYS_OPEN_TREE_ATTR, unix.SYS_MOUNT_SETATTR, unix.SYS_UNSHARE, unix.SYS_SETNS,
	unix.SYS_CHROOT,
	// Host-wide state.
	unix.SYS_REBOOT, unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT, unix.SYS_SYSLOG,
	unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME, unix.SYS_CLOCK_ADJTIME, unix.SYS_ADJTIMEX,
	unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME, unix.SYS_QUOTACTL, unix.SYS_QUOTACTL_FD,
	unix.SYS_NFSSERVCTL,
	// Opening files by handle bypasses the mount view.
	unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
}, deniedArch...)

// unavailable are refused with ENOSYS, so that callers fall back to an
// older call the filter can inspect (clone3's flags are in memory, out of a
// filter's reach; glibc then uses clone) or do without (io_uring).
var unavailable = []uint32{unix.SYS_CLONE3, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
	// openat2 takes its mode in a structure the filter cannot read (see
	// modeCalls); C libraries and Go open files with openat, and callers
	// of openat2 fall back to it on ENOSYS.
	unix.SYS_OPENAT2}

// A command may not give a file the set-user-ID or set-group-ID bit: when
// cordon runs as root the command's files are root's, and such a file in
// the workspace is a root program for whoever runs it on the host later
// (the sandbox's nosuid mounts hold only inside). The mode calls, and the
// open calls that create, are refused with EPERM when the mode has either
// bit; everything else about modes is left alone.
type modeCall struct {
	nr          uint32
	mode, flags int // argument indexes; flags -1 for calls that always set the mode
}

// setIDBits are S_ISUID and S_ISGID.
const setIDBits = unix.S_ISUID | unix.S_ISGID

// sysFchmodat2 is fchmodat2 (Linux 6.6), the same number on every
// architecture; x/sys may not name it yet.
const sysFchmodat2 = 452

// nsFlags are the clone flags that create namespaces; all are in the low
// 32 bits.
const nsFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// personalities are the persona values Docker allows; anything else (such
// as READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE) is refused.
var personalities = []uint32{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

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

var retAllow = bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW}

// program is a BPF program under construction with forward jumps to
// labels, resolved by assemble.
type program struct {
	ins    []bpf.Instruction
	labels map[string]int
	// fixups are conditional jumps whose targets are labels.
	fixups []fixup
}

type fixup struct {
	at          int
	true, false string // "" means the next instruction
}

func (p *program) add(in ...bpf.Instruction) { p.ins = append(p.ins, in...) }

func (p *program) label(name string) { p.labels[name] = len(p.ins) }

// jump appends "if A cond val goto t else goto f".
func (p *program) jump(cond bpf.JumpTest, val uint32, t, f string) {
	p.fixups = append(p.fixups, fixup{at: len(p.ins), true: t, false: f})
	p.ins = append(p.ins, bpf.JumpIf{Cond: cond, Val: val})
}

func (p *program) resolve() ([]bpf.Instruction, error) {
	for _, f := range p.fixups {
		j := p.ins[f.at].(bpf.JumpIf)
		for _, side := range []struct {
			label string
			skip  *uint8
		}{{f.true, &j.SkipTrue}, {f.false, &j.SkipFalse}} {
			if side.label == "" {
				continue
			}
			target, ok := p.labels[side.label]
			if !ok {
				return nil, fmt.Errorf("seccomp: no label %q", side.label)
			}
			skip := target - f.at - 1
			if skip < 0 || skip > 255 {
				return nil, fmt.Errorf("seccomp: jump to %q out of range", side.label)
			}
			*side.skip = uint8(skip)
		}
		p.ins[f.at] = j
	}
	return p.ins, nil
}

// filterProgram builds the whole filter.
func filterProgram() ([]bpf.Instruction, error) {
	native, err := auditArch()
	if err != nil {
		return nil, err
	}
	p := &program{labels: map[string]int{}}
	p.add(bpf.LoadAbsolute{Off: offArch, Size: 4})
	p.jump(bpf.JumpEqual, native, "", "enosys")
	p.add(bpf.LoadAbsolute{Off: offNr, Size: 4})
	p.jump(bpf.JumpGreaterOrEqual, x32SyscallBit, "enosys", "")
	for _, nr := range denied {
		p.jump(bpf.JumpEqual, nr, "eperm", "")
	}
	for _, nr := range unavailable {
		p.jump(bpf.JumpEqual, nr, "enosys", "")
	}
	p.jump(bpf.JumpEqual, unix.SYS_IOCTL, "ioctl", "")
	p.jump(bpf.JumpEqual, unix.SYS_SOCKET, "socket", "")
	p.jump(bpf.JumpEqual, unix.SYS_SOCKETPAIR, "socketpair", "")
	p.jump(bpf.JumpEqual, unix.SYS_CLONE, "clone", "")
	p.jump(bpf.JumpEqual, unix.SYS_PERSONALITY, "personality", "")
	for i, c := range modeCalls {
		p.jump(bpf.JumpEqual, c.nr, fmt.Sprintf("mode%d", i), "")
	}
	p.add(retAllow)

	// The mode calls: no set-ID bits, and for open only when it creates.
	for i, c := range modeCalls {
		p.label(fmt.Sprintf("mode%d", i))
		if c.flags >= 0 {
			p.add(bpf.LoadAbsolute{Off: offArgLo(c.flags), Size: 4})
			p.jump(bpf.JumpBitsSet, unix.O_CREAT|unix.O_TMPFILE&^unix.O_DIRECTORY, "", "allow")
		}
		p.add(bpf.LoadAbsolute{Off: offArgLo(c.mode), Size: 4})
		p.jump(bpf.JumpBitsSet, setIDBits, "eperm", "allow")
	}

	// ioctl: the request is an unsigned int.
	p.label("ioctl")
	p.add(bpf.LoadAbsolute{Off: offArgLo(1), Size: 4})
	p.jump(bpf.JumpEqual, tiocsti, "eperm", "")
	p.jump(bpf.JumpEqual, tioclinux, "eperm", "")
	p.add(retAllow)

	// socket: only unix, IPv4 and IPv6, and no MPTCP.
	p.label("socket")
	p.add(bpf.LoadAbsolute{Off: offArgLo(0), Size: 4})
	p.jump(bpf.JumpEqual, unix.AF_UNIX, "allow", "")
	p.jump(bpf.JumpEqual, unix.AF_INET, "inet", "")
	p.jump(bpf.JumpEqual, unix.AF_INET6, "inet", "eafnosupport")
	p.label("inet")
	p.add(bpf.LoadAbsolute{Off: offArgLo(2), Size: 4})
	p.jump(bpf.JumpEqual, ipprotoMPTCP, "", "allow")
	p.add(retErrno(unix.EPROTONOSUPPORT))

	// socketpair: only unix.
	p.label("socketpair")
	p.add(bpf.LoadAbsolute{Off: offArgLo(0), Size: 4})
	p.jump(bpf.JumpEqual, unix.AF_UNIX, "allow", "eafnosupport")

	// clone: no new namespaces.
	p.label("clone")
	p.add(bpf.LoadAbsolute{Off: offArgLo(0), Size: 4})
	p.jump(bpf.JumpBitsSet, nsFlags, "eperm", "allow")

	// personality: only the values Docker allows.
	p.label("personality")
	p.add(bpf.LoadAbsolute{Off: offArgLo(0), Size: 4})
	for _, v := range personalities {
		p.jump(bpf.JumpEqual, v, "allow", "")
	}
	p.add(retErrno(unix.EPERM))

	p.label("allow")
	p.add(retAllow)
	p.label("eperm")
	p.add(retErrno(unix.EPERM))
	p.label("enosys")
	p.add(retErrno(unix.ENOSYS))
	p.label("eafnosupport")
	p.add(retErrno(unix.EAFNOSUPPORT))
	return p.resolve()
}

// seccompFilter is the assembled filter, ready for the kernel.
func seccompFilter() ([]unix.SockFilter, error) {
	prog, err := filterProgram()
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, err
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// loadSeccomp installs filter on the calling thread. no_new_privs must be
// set. It is not synchronised to other threads on purpose: only the locked
// thread that starts the command needs it, and the child inherits it
// through fork and keeps it across execve.
func loadSeccomp(filter []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	return nil
}
