package linux

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// seccompData encodes struct seccomp_data for the BPF VM. The kernel loads
// 32-bit words in native (little-endian) order, the VM in network order;
// so each word is laid out where the kernel finds it (the low half of an
// argument first) but written big-endian, and the VM reads the values the
// kernel would.
func seccompData(arch uint32, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

func TestFilter(t *testing.T) {
	prog, err := filterProgram()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	native, _ := auditArch()
	allow := int(unix.SECCOMP_RET_ALLOW)
	errno := func(e unix.Errno) int { return int(unix.SECCOMP_RET_ERRNO | uint32(e)) }
	const highJunk = 0xdead_beef_0000_0000
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"read", seccompData(native, unix.SYS_READ), allow},
		{"openat", seccompData(native, unix.SYS_OPENAT), allow},
		{"execve", seccompData(native, unix.SYS_EXECVE), allow},
		{"landlock may nest", seccompData(native, unix.SYS_LANDLOCK_RESTRICT_SELF), allow},
		{"foreign arch", seccompData(unix.AUDIT_ARCH_I386, 3), errno(unix.ENOSYS)},
		{"x32 call", seccompData(native, x32SyscallBit|unix.SYS_READ), errno(unix.ENOSYS)},
		{"ptrace", seccompData(native, unix.SYS_PTRACE), errno(unix.EPERM)},
		{"bpf", seccompData(native, unix.SYS_BPF), errno(unix.EPERM)},
		{"mount", seccompData(native, unix.SYS_MOUNT), errno(unix.EPERM)},
		{"io_uring_setup", seccompData(native, unix.SYS_IO_URING_SETUP), errno(unix.ENOSYS)},
		{"clone3", seccompData(native, unix.SYS_CLONE3), errno(unix.ENOSYS)},
		{"clone thread", seccompData(native, unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), allow},
		{"clone fork", seccompData(native, unix.SYS_CLONE, uint64(unix.SIGCHLD)), allow},
		{"clone newuser", seccompData(native, unix.SYS_CLONE, unix.CLONE_NEWUSER|uint64(unix.SIGCHLD)), errno(unix.EPERM)},
		{"clone newns", seccompData(native, unix.SYS_CLONE, unix.CLONE_NEWNS), errno(unix.EPERM)},
		{"clone newtime", seccompData(native, unix.SYS_CLONE, unix.CLONE_NEWTIME), errno(unix.EPERM)},
		{"personality query", seccompData(native, unix.SYS_PERSONALITY, 0xffffffff), allow},
		{"personality linux", seccompData(native, unix.SYS_PERSONALITY, 0), allow},
		{"personality read-implies-exec", seccompData(native, unix.SYS_PERSONALITY, 0x0400000), errno(unix.EPERM)},
		{"ioctl TCGETS", seccompData(native, unix.SYS_IOCTL, 0, unix.TCGETS), allow},
		{"ioctl TIOCGWINSZ", seccompData(native, unix.SYS_IOCTL, 0, unix.TIOCGWINSZ), allow},
		{"ioctl TIOCSTI", seccompData(native, unix.SYS_IOCTL, 0, tiocsti), errno(unix.EPERM)},
		{"ioctl TIOCSTI high bits", seccompData(native, unix.SYS_IOCTL, 0, highJunk|tiocsti), errno(unix.EPERM)},
		{"ioctl TIOCLINUX", seccompData(native, unix.SYS_IOCTL, 0, tioclinux), errno(unix.EPERM)},
		{"socket unix", seccompData(native, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 0), allow},
		{"socket inet tcp", seccompData(native, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0), allow},
		{"socket inet6 udp", seccompData(native, unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_DGRAM, 0), allow},
		{"socket mptcp", seccompData(native, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, ipprotoMPTCP), errno(unix.EPROTONOSUPPORT)},
		{"socket mptcp6 high bits", seccompData(native, unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_STREAM, highJunk|ipprotoMPTCP), errno(unix.EPROTONOSUPPORT)},
		{"socket packet", seccompData(native, unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW, 0), errno(unix.EAFNOSUPPORT)},
		{"socket netlink", seccompData(native, unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, 0), errno(unix.EAFNOSUPPORT)},
		{"socket vsock", seccompData(native, unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM, 0), errno(unix.EAFNOSUPPORT)},
		{"socket unix high bits", seccompData(native, unix.SYS_SOCKET, highJunk|unix.AF_UNIX, unix.SOCK_STREAM, 0), allow},
		{"socket packet high bits", seccompData(native, unix.SYS_SOCKET, highJunk|unix.AF_PACKET, unix.SOCK_RAW, 0), errno(unix.EAFNOSUPPORT)},
		{"socketpair unix", seccompData(native, unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0), allow},
		{"socketpair inet", seccompData(native, unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM, 0), errno(unix.EAFNOSUPPORT)},
	}
	for _, tt := range tests {
		got, err := vm.Run(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, got, tt.want)
		}
	}
	for _, nr := range denied {
		if got, _ := vm.Run(seccompData(native, nr)); got != errno(unix.EPERM) {
			t.Errorf("syscall %d: got %#x, want EPERM", nr, got)
		}
	}
	if _, err := seccompFilter(); err != nil {
		t.Fatal(err)
	}
}
