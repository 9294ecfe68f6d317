package main

import (
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

var kernelAttacks = map[string]attack{
	"bpf":             {"", attackBPF, 0},
	"perf":            {"", attackPerf, 0},
	"userfaultfd":     {"", attackUserfaultfd, 0},
	"io-uring":        {"", attackIOUring, 0},
	"keyctl":          {"", attackKeyctl, 0},
	"module":          {"", attackModule, 0},
	"kexec":           {"", attackKexec, 0},
	"reboot":          {"", attackReboot, 0},
	"swapon":          {"", attackSwapon, 0},
	"acct":            {"", attackAcct, 0},
	"syslog":          {"", attackSyslog, 0},
	"iopl":            {"", attackIopl, 0},
	"settime":         {"", attackSettime, 0},
	"landlock-status": {"PATH", attackLandlockStatus, 1},
	"seccomp-abi":     {"", attackSeccompABI, 0},
}

// bpfAttr calls bpf(2) with attr, a struct of the command's layout.
func bpfCall(cmd uintptr, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// bpfProgLoad is the head of union bpf_attr for BPF_PROG_LOAD.
type bpfProgLoad struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
}

// attackBPF creates an array map and loads a two-instruction socket filter
// program, the first steps of every eBPF exploit. Escaped: either call
// returned a descriptor.
func attackBPF([]string) outcome {
	var a attempts
	var mapAttr [16]uint32 // map_type, key_size, value_size, max_entries, zeros
	mapAttr[0], mapAttr[1], mapAttr[2], mapAttr[3] = unix.BPF_MAP_TYPE_ARRAY, 4, 4, 1
	if fd, err := bpfCall(unix.BPF_MAP_CREATE, unsafe.Pointer(&mapAttr), unsafe.Sizeof(mapAttr)); err != nil {
		a.deny("BPF_MAP_CREATE", err)
	} else {
		unix.Close(fd)
		a.got("BPF_MAP_CREATE", "map created")
	}
	// r0 = 0; exit
	insns := []byte{0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}
	license := []byte("GPL\x00")
	attr := bpfProgLoad{
		progType: unix.BPF_PROG_TYPE_SOCKET_FILTER,
		insnCnt:  2,
		insns:    uint64(uintptr(unsafe.Pointer(&insns[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	fd, err := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		a.deny("BPF_PROG_LOAD", err)
	} else {
		unix.Close(fd)
		a.got("BPF_PROG_LOAD", "program loaded")
	}
	return a.outcome()
}

// attackPerf opens a software perf event counting this process's own CPU
// clock in user space, what even perf_event_paranoid=2 allows. Escaped:
// perf_event_open returned a descriptor.
func attackPerf([]string) outcome {
	attr := unix.PerfEventAttr{
		Type:   unix.PERF_TYPE_SOFTWARE,
		Config: unix.PERF_COUNT_SW_CPU_CLOCK,
		Bits:   unix.PerfBitDisabled | unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return blockedf("perf_event_open: %s", errName(err))
	}
	unix.Close(fd)
	return escapedf("perf_event_open returned a descriptor")
}

// attackUserfaultfd creates a userfaultfd, the tool that turns kernel race
// conditions into reliable exploits: user-mode-only (allowed to everyone),
// unrestricted, and through /dev/userfaultfd. Escaped: any succeeded.
func attackUserfaultfd([]string) outcome {
	const (
		userModeOnly = 1      // UFFD_USER_MODE_ONLY
		iocNew       = 0xaa00 // USERFAULTFD_IOC_NEW
	)
	var a attempts
	for _, f := range []struct {
		name  string
		flags uintptr
	}{{"userfaultfd(UFFD_USER_MODE_ONLY)", unix.O_CLOEXEC | userModeOnly}, {"userfaultfd(0)", unix.O_CLOEXEC}} {
		r, _, e := unix.Syscall(unix.SYS_USERFAULTFD, f.flags, 0, 0)
		if e != 0 {
			a.deny(f.name, e)
			continue
		}
		unix.Close(int(r))
		a.got(f.name, "descriptor created")
	}
	dev, err := unix.Open("/dev/userfaultfd", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		a.deny("open /dev/userfaultfd", err)
		return a.outcome()
	}
	defer unix.Close(dev)
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(dev), iocNew, unix.O_CLOEXEC)
	if e != 0 {
		a.deny("USERFAULTFD_IOC_NEW", e)
	} else {
		unix.Close(int(r))
		a.got("USERFAULTFD_IOC_NEW", "descriptor created")
	}
	return a.outcome()
}

// attackIOUring sets up an io_uring instance, a kernel subsystem with a long
// list of privilege escalations. Escaped: io_uring_setup returned a
// descriptor.
func attackIOUring([]string) outcome {
	var params [120]byte // struct io_uring_params
	r, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
	if e != 0 {
		return blockedf("io_uring_setup: %s", errName(e))
	}
	unix.Close(int(r))
	return escapedf("io_uring_setup returned a descriptor")
}

// attackKeyctl uses the kernel keyring: adds a key to the process keyring,
// looks up the session keyring (shared with the caller's login session
// unless the sandbox replaced it) and requests a key without an upcall.
// Escaped: add_key or the lookup succeeded, or request_key got past the
// filter (ENOKEY).
func attackKeyctl([]string) outcome {
	var a attempts
	if id, err := unix.AddKey("user", "cordon-attack", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING); err != nil {
		a.deny("add_key", err)
	} else {
		a.got("add_key", "key %d added", id)
	}
	if id, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0); err != nil {
		a.deny("keyctl session keyring", err)
	} else {
		a.got("keyctl session keyring", "keyring %d", id)
	}
	typ, desc := []byte("user\x00"), []byte("cordon-no-such-key\x00")
	// A NULL callout: the kernel does not run /sbin/request-key.
	_, _, e := unix.Syscall6(unix.SYS_REQUEST_KEY, uintptr(unsafe.Pointer(&typ[0])), uintptr(unsafe.Pointer(&desc[0])), 0, 0, 0, 0)
	a.privileged("request_key", errnoErr(e))
	return a.outcome()
}

// attackModule loads a kernel module: finit_module on /dev/null and
// init_module with a junk image. Neither image can load, so EINVAL or
// ENOEXEC mean the call got through the filter and the capability check.
// Escaped: anything but EPERM/ENOSYS. Never run it unsandboxed.
func attackModule([]string) outcome {
	var a attempts
	if fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		a.note("open /dev/null", "%s", errName(err))
	} else {
		a.privileged("finit_module", unix.FinitModule(fd, "", 0))
		unix.Close(fd)
	}
	a.privileged("init_module", unix.InitModule([]byte("cordon-not-an-elf-image"), ""))
	return a.outcome()
}

// attackKexec loads a new kernel with arguments that fail only after the
// capability check (too many segments, bad descriptors), so nothing is
// loaded or unloaded. Escaped: anything but EPERM/ENOSYS.
func attackKexec([]string) outcome {
	const kexecSegmentMax = 16
	var a attempts
	_, _, e := unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, kexecSegmentMax+1, 0, 0, 0, 0)
	a.privileged("kexec_load", errnoErr(e))
	bad := ^uintptr(0) // -1
	_, _, e = unix.Syscall6(unix.SYS_KEXEC_FILE_LOAD, bad, bad, 0, 0, 0, 0)
	a.privileged("kexec_file_load", errnoErr(e))
	return a.outcome()
}

// attackReboot calls reboot(2) with LINUX_REBOOT_CMD_CAD_OFF, which only
// changes what Ctrl-Alt-Del does; in a PID namespace the kernel answers
// EINVAL for it after the capability check. Escaped: anything but
// EPERM/ENOSYS. Never run it unsandboxed.
func attackReboot([]string) outcome {
	var a attempts
	a.privileged("reboot(CAD_OFF)", unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF))
	return a.outcome()
}

// attackSwapon turns swap on and off for a file that does not exist; the
// kernel checks the capability first. Escaped: anything but EPERM/ENOSYS.
func attackSwapon([]string) outcome {
	var a attempts
	path := []byte("/nonexistent-cordon-swap\x00")
	_, _, e := unix.Syscall(unix.SYS_SWAPON, uintptr(unsafe.Pointer(&path[0])), 0, 0)
	a.privileged("swapon", errnoErr(e))
	_, _, e = unix.Syscall(unix.SYS_SWAPOFF, uintptr(unsafe.Pointer(&path[0])), 0, 0)
	a.privileged("swapoff", errnoErr(e))
	return a.outcome()
}

// attackAcct switches process accounting to a file that does not exist;
// the kernel checks the capability first. Escaped: anything but
// EPERM/ENOSYS.
func attackAcct([]string) outcome {
	var a attempts
	a.privileged("acct", unix.Acct("/nonexistent-cordon-acct"))
	return a.outcome()
}

// attackSyslog reads the kernel log, which leaks kernel addresses and the
// host's activity, with syslog(2) and from /dev/kmsg. Escaped: either gave
// any bytes.
func attackSyslog([]string) outcome {
	var a attempts
	buf := make([]byte, 4096)
	if n, err := unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf); err != nil {
		a.deny("syslog(READ_ALL)", err)
	} else {
		a.got("syslog(READ_ALL)", "read %d bytes", n)
	}
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		a.deny("/dev/kmsg", err)
		return a.outcome()
	}
	defer unix.Close(fd)
	if n, err := unix.Read(fd, buf); err != nil {
		a.deny("read /dev/kmsg", err)
	} else {
		a.got("/dev/kmsg", "read %d bytes", n)
	}
	return a.outcome()
}

// attackSettime asks adjtimex to set an out-of-range tick: the kernel checks
// CAP_SYS_TIME before the range, so EINVAL means the clock was ours to
// change, and nothing is changed. Escaped: anything but EPERM/ENOSYS.
func attackSettime([]string) outcome {
	var a attempts
	_, err := unix.Adjtimex(&unix.Timex{Modes: unix.ADJ_TICK, Tick: 1})
	a.privileged("adjtimex(ADJ_TICK)", err)
	return a.outcome()
}

// attackLandlockStatus reports the Landlock ABI the kernel offers and
// writes PATH, a file that Landlock (and the mount view) should keep
// read-only. Escaped: the write succeeded.
func attackLandlockStatus(args []string) outcome {
	abi, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	v := "Landlock ABI " + strconv.Itoa(int(abi))
	if e != 0 {
		v = "no Landlock (" + errName(e) + ")"
	}
	o := attackWrite(args[:1])
	o.detail = v + "; " + o.detail
	return o
}
