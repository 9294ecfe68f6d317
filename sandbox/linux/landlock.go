package linux

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// ruleset is a Landlock ruleset being filled.
type ruleset struct {
	fd       int
	abi      int
	handled  uint64
	net      bool
	listRoot bool
}

// newRuleset creates the ruleset of p and adds its host-path rules, reading
// each path below prefix (the host's tree as the init sees it while it
// builds the view). Rules bind to inodes, not to paths, so a rule made
// through /oldroot/usr holds for /usr in the finished view. The init runs
// this on another thread while it mounts, since Landlock rules can be added
// from any thread; only restrict_self is per-thread.
func newRuleset(p *landlockPlan, prefix string) (*ruleset, error) {
	abi := min(p.ABI, landlockNewestABI)
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
		return nil, fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	rs := &ruleset{fd: int(fd), abi: abi, handled: handled, net: attr.handledNet != 0, listRoot: p.ListRoot}
	full, listOnly := carve(prefix, p.ReadExec, p.Masked)
	for _, path := range full {
		if err := rs.addPath(prefix+path, fsRead|fsExec); err != nil {
			rs.close()
			return nil, err
		}
	}
	for _, path := range listOnly {
		if err := rs.addPath(prefix+path, unix.LANDLOCK_ACCESS_FS_READ_DIR); err != nil {
			rs.close()
			return nil, err
		}
	}
	for _, path := range p.ReadWrite {
		if err := rs.addPath(prefix+path, handled); err != nil {
			rs.close()
			return nil, err
		}
	}
	if rs.net {
		// Every TCP port not named here is denied for bind and connect.
		for _, port := range p.BindPorts {
			if err := rs.addNet(unix.LANDLOCK_ACCESS_NET_BIND_TCP, port); err != nil {
				rs.close()
				return nil, err
			}
		}
		for _, port := range p.ConnectPorts {
			if err := rs.addNet(unix.LANDLOCK_ACCESS_NET_CONNECT_TCP, port); err != nil {
				rs.close()
				return nil, err
			}
		}
	}
	return rs, nil
}

// addViewRules adds the rules for the sandbox's own mounts, which exist
// only once the view is built: the fresh /proc readable, /tmp and /dev/shm
// writable, device files in /dev readable and writable with their ioctls.
func (rs *ruleset) addViewRules() error {
	if err := rs.addPath("/proc", fsRead|fsExec); err != nil {
		return err
	}
	if rs.listRoot {
		if err := rs.addPath("/", unix.LANDLOCK_ACCESS_FS_READ_DIR); err != nil {
			return err
		}
	}
	for _, path := range []string{"/tmp", "/dev/shm"} {
		if err := rs.addPath(path, rs.handled); err != nil {
			return err
		}
	}
	dev := uint64(fsRead | unix.LANDLOCK_ACCESS_FS_WRITE_FILE)
	if rs.abi >= 3 {
		dev |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if rs.abi >= 5 {
		dev |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return rs.addPath("/dev", dev)
}

func (rs *ruleset) addPath(path string, access uint64) error {
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
		// The kernel refuses directory-only rights on files.
		access &= uint64(unix.LANDLOCK_ACCESS_FS_READ_FILE) | fsExec |
			unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
			unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	rule := pathBeneathAttr{allowed: access & rs.handled, parentFd: int32(f)}
	if rule.allowed == 0 {
		return nil
	}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs.fd), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock rule for %s: %w", path, errno)
	}
	return nil
}

// restrict applies the ruleset to the calling thread. It must run on the
// locked OS thread that will start the command, after no_new_privs is set.
func (rs *ruleset) restrict() error {
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs.fd), 0, 0); errno != 0 {
		return fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return nil
}

func (rs *ruleset) close() { unix.Close(rs.fd) }

// carve splits grants around the masked paths, reading directories below
// prefix: each grant that contains a masked path is replaced by its
// children, recursively, down to the masked path's siblings, and the
// directories split this way are returned in listOnly (they may be listed,
// not read through). Landlock only adds rights, so this is how it refuses a
// path inside a readable tree.
func carve(prefix string, grants, masked []string) (full, listOnly []string) {
	var visit func(dir string)
	visit = func(dir string) {
		inside := false
		for _, m := range masked {
			if m == dir {
				return // the grant is itself masked
			}
			if strings.HasPrefix(m, strings.TrimSuffix(dir, "/")+"/") {
				inside = true
			}
		}
		if !inside {
			full = append(full, dir)
			return
		}
		f, err := os.Open(prefix + dir)
		if err != nil {
			return // unreadable: grant nothing
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		listOnly = append(listOnly, dir)
		for _, n := range names {
			visit(filepath.Join(dir, n))
		}
	}
	for _, g := range grants {
		visit(g)
	}
	return full, listOnly
}

type netPortAttr struct {
	allowed uint64
	port    uint64
}

func (rs *ruleset) addNet(access uint64, port uint16) error {
	rule := netPortAttr{allowed: access, port: uint64(port)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs.fd), landlockRuleNetPort,
		uintptr(unsafe.Pointer(&rule)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("landlock rule for TCP port %d: %w", port, errno)
	}
	return nil
}

// landlockRuleNetPort is LANDLOCK_RULE_NET_PORT (ABI 4).
const landlockRuleNetPort = 2
