package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// int80 makes an i386 system call; see abi_amd64.s.
func int80(trap, a1, a2, a3 uintptr) uintptr

// Numbers of keyctl(2) in the foreign calling conventions of amd64.
const (
	i386Keyctl = 288
	x32Bit     = 0x40000000
)

// attackSeccompABI makes a call the seccomp filter denies (keyctl, asking
// for the process keyring) through the calling conventions a filter
// written for x86-64 alone does not see: i386 via int $0x80 and x32 via
// the x32 bit in the syscall number. A filter must refuse whole foreign
// architectures. Escaped: the kernel answered with a keyring id.
func attackSeccompABI([]string) outcome {
	var a attempts
	// int $0x80 takes 32-bit arguments: -2 is KEY_SPEC_PROCESS_KEYRING.
	r := int32(uint32(int80(i386Keyctl, unix.KEYCTL_GET_KEYRING_ID, uintptr(uint32(0xfffffffe)), 1)))
	if r < 0 && r > -4096 {
		a.deny("i386 keyctl", syscall.Errno(-r))
	} else {
		a.got("i386 keyctl", "keyring %d", r)
	}
	id, _, e := syscall.Syscall(x32Bit|unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffffffffffe), 1)
	if e != 0 {
		a.deny("x32 keyctl", e)
	} else {
		a.got("x32 keyctl", "keyring %d", id)
	}
	return a.outcome()
}

// attackIopl asks for I/O port access, which reaches hardware directly.
// Escaped: anything but EPERM/ENOSYS.
func attackIopl([]string) outcome {
	var a attempts
	a.privileged("iopl(3)", unix.Iopl(3))
	a.privileged("ioperm(0x80)", unix.Ioperm(0x80, 1, 1))
	return a.outcome()
}
