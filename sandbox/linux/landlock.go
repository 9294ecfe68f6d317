package linux

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock through raw syscalls on the calling thread only.
//
// landlock_restrict_self restricts the calling thread, and a thread that
// then forks hands its domain to the child. The init calls it on the locked
// OS thread that starts the command, so the whole-process path of
// libraries (which walks every thread of the Go runtime and was seen to spin
// forever in a PID-1 Go process) is never needed.

// landlockNewestABI is the newest ABI whose rights this package knows.
const landlockNewestABI = 7

// landlockABI returns the ABI the running kernel offers, 0 when it has no
// Landlock or it is disabled.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

const (
	fsRead = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	fsExec = unix.LANDLOCK_ACCESS_FS_EXECUTE
	// fsWriteV1 is every write right of ABI 1.
	fsWriteV1 = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
)

// fsHandled returns the filesystem rights ABI abi can restrict.
func fsHandled(abi int) uint64 {
	r := uint64(fsRead | fsExec | fsWriteV1)
	if abi >= 2 {
		r |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		r |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		r |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return r
}

// rulesetAttr mirrors struct landlock_ruleset_attr as of ABI 6; the kernel
// takes its size, so older kernels get the prefix they know.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

type pathBeneathAttr struct {
	allowed  uint64
	parentFd int32
}

// applyLandlock restricts the calling thread to p. It must run on the locked
// OS thread that will start the command, after no_new_privs is set.
func applyLandlock(p *landlockPlan) error {
	abi := p.ABI
	if abi > landlockNewestABI {
		abi = landlockNewestABI
	}
	handled := fsHandled(abi)
	attr := rulesetAttr{handledFS: handled}
	size := unsafe.Sizeof(uint64(0))
	if abi >= 4 && p.Net {
		attr.handledNet = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		size = 2 * unsafe.Sizeof(uint64(0))
	}
	if abi >= 6 && p.Scope {
		attr.scoped = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	rfd := int(fd)
	defer unix.Close(rfd)

	rx := uint64(fsRead | fsExec)
	all := handled
	dev := uint64(fsRead | unix.LANDLOCK_ACCESS_FS_WRITE_FILE)
	if abi >= 3 {
		dev |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		dev |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	add := func(path string, access uint64) error {
		f, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if err == unix.ENOENT {
				return nil
			}
			return fmt.Errorf("landlock rule for %s: %w", path, err)
		}
		defer unix.Close(f)
		var st unix.Stat_t
		if err := unix.Fstat(f, &st); err != nil {
			return fmt.Errorf("landlock rule for %s: %w", path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			// Rights that only make sense on directories are refused on
			// files by the kernel.
			access &= uint64(fsRead&^unix.LANDLOCK_ACCESS_FS_READ_DIR) | fsExec |
				unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
				unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
		}
		rule := pathBeneathAttr{allowed: access & handled, parentFd: int32(f)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rfd), unix.LANDLOCK_RULE_PATH_BENEATH,
			uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
		if errno != 0 {
			return fmt.Errorf("landlock rule for %s: %w", path, errno)
		}
		return nil
	}
	for _, path := range p.ReadExec {
		if err := add(path, rx); err != nil {
			return err
		}
	}
	for _, path := range p.ListDir {
		if err := add(path, unix.LANDLOCK_ACCESS_FS_READ_DIR); err != nil {
			return err
		}
	}
	for _, path := range p.ReadWrite {
		if err := add(path, all); err != nil {
			return err
		}
	}
	for _, path := range p.Devices {
		if err := add(path, dev); err != nil {
			return err
		}
	}
	if attr.handledNet != 0 {
		// Every TCP port not named here is denied for bind and connect.
		for _, port := range p.BindPorts {
			if err := addNet(rfd, unix.LANDLOCK_ACCESS_NET_BIND_TCP, port); err != nil {
				return err
			}
		}
		for _, port := range p.ConnectPorts {
			if err := addNet(rfd, unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, port); err != nil {
				return err
			}
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rfd), 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

type netPortAttr struct {
	allowed uint64
	port    uint64
}

func addNet(rfd int, access uint64, port uint16) error {
	rule := netPortAttr{allowed: access, port: uint64(port)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rfd), landlockRuleNetPort,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock rule for TCP port %d: %w", port, errno)
	}
	return nil
}

// landlockRuleNetPort is LANDLOCK_RULE_NET_PORT (ABI 4).
const landlockRuleNetPort = 2
