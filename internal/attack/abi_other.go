//go:build !amd64

package main

// attackSeccompABI needs a second calling convention to try; only the
// amd64 one is written.
func attackSeccompABI([]string) outcome {
	return errorf("seccomp-abi is only written for amd64")
}

// attackIopl asks for x86 I/O port access, which other architectures do
// not have.
func attackIopl([]string) outcome {
	return errorf("iopl is x86 only")
}
