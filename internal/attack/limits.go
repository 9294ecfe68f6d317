package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The attacks here exhaust a resource. Each takes the amount to try, which
// the caller picks above the sandbox's limit: running to completion means
// the limit did not hold, and says ESCAPED. Never run them unsandboxed with
// large amounts.
var limitAttacks = map[string]attack{
	"forkbomb": {"[CAP] [leave]", attackForkbomb, 0},
	"membomb":  {"MB [HOLD_SECONDS]", attackMembomb, 1},
	"diskfill": {"PATH MB", attackDiskfill, 2},
	"flood":    {"MB", attackFlood, 1},
	"sleep":    {"SECONDS", attackSleep, 1},
	"spin":     {"SECONDS", attackSpin, 1},
	"nofile":   {"N", attackNofile, 1},
	"cgroup":   {"", attackCgroup, 0},
}

func positive(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// forkPause forks a child that waits, doing nothing, until it is killed.
// The child is a copy of one thread of a Go process and must not enter the
// runtime, hence nosplit and raw calls only. With deathSig set the child
// also dies with this process, so that a run outside a sandbox leaves
// nothing behind.
//
//go:nosplit
func forkPause(parent, deathSig uintptr) (uintptr, syscall.Errno) {
	pid, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e == 0 && pid == 0 {
		if deathSig != 0 {
			syscall.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, deathSig, 0)
			if ppid, _, _ := syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); ppid != parent {
				syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
			}
		}
		for {
			// ppoll with nothing to wait for and no timeout: pause(2),
			// which not every architecture has.
			syscall.RawSyscall6(unix.SYS_PPOLL, 0, 0, 0, 0, 0, 0)
		}
	}
	return pid, e
}

// attackForkbomb forks children that each wait forever, until fork fails or
// CAP children (default 100000) exist. Unless "leave" is given, the
// children are killed before it answers; with it they are left for the
// sandbox to clean up. Escaped: CAP children were created.
func attackForkbomb(args []string) outcome {
	limit := 100000
	if len(args) > 0 {
		n, good := positive(args[0])
		if !good {
			return errorf("bad cap %q", args[0])
		}
		limit = n
	}
	leave := len(args) > 1 && args[1] == "leave"
	deathSig := uintptr(unix.SIGKILL)
	if leave {
		deathSig = 0
	}
	// The death signal follows the thread that forked, so it must stay.
	runtime.LockOSThread()
	var pids []int
	var ferr syscall.Errno
	for len(pids) < limit {
		pid, e := forkPause(uintptr(os.Getpid()), deathSig)
		if e != 0 {
			ferr = e
			break
		}
		pids = append(pids, int(pid))
	}
	if !leave {
		for _, p := range pids {
			unix.Kill(p, unix.SIGKILL)
		}
		for range pids {
			unix.Wait4(-1, nil, 0, nil)
		}
	}
	if ferr == 0 {
		return escapedf("forked %d children without being stopped", len(pids))
	}
	return blockedf("fork refused after %d children: %s", len(pids), errName(ferr))
}

// attackMembomb maps and touches MB mebibytes outside the Go heap, then
// holds them HOLD_SECONDS (default 0), so that several bombs at once can
// test a limit on a whole process tree. Escaped: all of it was touched and
// held (a memory limit kills the process before that, and it prints
// nothing).
func attackMembomb(args []string) outcome {
	mb, good := positive(args[0])
	if !good {
		return errorf("bad size %q", args[0])
	}
	var keep [][]byte
	for i := 0; i < mb; i++ {
		b, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return blockedf("mmap refused after %d MiB: %s", i, errName(err))
		}
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	if len(args) > 1 {
		hold, err := strconv.Atoi(args[1])
		if err != nil {
			return errorf("bad seconds %q", args[1])
		}
		time.Sleep(time.Duration(hold) * time.Second)
	}
	return escapedf("allocated and touched %d MiB", len(keep))
}

// attackDiskfill writes MB mebibytes to PATH. Escaped: all were written.
// Otherwise it says how many bytes went in ("wrote N bytes") before the
// error.
func attackDiskfill(args []string) outcome {
	mb, good := positive(args[1])
	if !good {
		return errorf("bad size %q", args[1])
	}
	fd, err := unix.Open(args[0], unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return blockedf("open %s: %s", args[0], errName(err))
	}
	defer unix.Close(fd)
	chunk := bytes.Repeat([]byte{'x'}, 1<<20)
	var written int64
	for i := 0; i < mb; i++ {
		n, err := unix.Write(fd, chunk)
		written += int64(max(n, 0))
		if err != nil {
			return blockedf("wrote %d bytes to %s, then %s", written, args[0], errName(err))
		}
		if n < len(chunk) {
			// A short write: the next one reports why.
			i--
		}
	}
	return escapedf("wrote %d bytes to %s", written, args[0])
}

// attackFlood writes MB mebibytes to standard output. Escaped: all were
// written and the verdict line after them too.
func attackFlood(args []string) outcome {
	mb, good := positive(args[0])
	if !good {
		return errorf("bad size %q", args[0])
	}
	chunk := bytes.Repeat([]byte{'A'}, 64<<10)
	total := int64(mb) << 20
	var written int64
	for written < total {
		n, err := unix.Write(1, chunk)
		written += int64(max(n, 0))
		if err != nil {
			fmt.Println()
			return blockedf("wrote %d bytes to stdout, then %s", written, errName(err))
		}
	}
	fmt.Println()
	return escapedf("wrote %d bytes to stdout", written)
}

// attackSleep sleeps SECONDS. Escaped: it woke up (a timeout shorter than
// SECONDS should have killed it).
func attackSleep(args []string) outcome {
	n, good := positive(args[0])
	if !good {
		return errorf("bad seconds %q", args[0])
	}
	time.Sleep(time.Duration(n) * time.Second)
	return escapedf("slept %ds without being stopped", n)
}

// attackSpin burns SECONDS of CPU time. Escaped: it got them all.
func attackSpin(args []string) outcome {
	n, good := positive(args[0])
	if !good {
		return errorf("bad seconds %q", args[0])
	}
	want := time.Duration(n) * time.Second
	var ts unix.Timespec
	x := uint64(1)
	for {
		for i := 0; i < 1<<20; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
		if time.Duration(ts.Nano()) >= want {
			break
		}
	}
	return escapedf("burnt %s of CPU (%x)", time.Duration(ts.Nano()).Round(time.Millisecond), x&0xf)
}

// attackNofile opens N descriptors. Escaped: all were opened.
func attackNofile(args []string) outcome {
	n, good := positive(args[0])
	if !good {
		return errorf("bad count %q", args[0])
	}
	for i := 0; i < n; i++ {
		if _, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return blockedf("open refused after %d descriptors: %s", i, errName(err))
		}
	}
	return escapedf("opened %d descriptors", n)
}

// cgroupRoots are where cgroup hierarchies are mounted: v1 controllers that
// carry limits, and the unified v2 tree.
var cgroupRoots = []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"}

// attackCgroup gets out from under the run's memory and process limits:
// it finds the cgroups holding it (by its own pid in their cgroup.procs,
// since a cgroup namespace hides the path), writes their limits back
// unchanged (a write that is accepted could as well have lifted them), and
// moves itself into the root cgroup of each hierarchy. Escaped: any of
// those writes was accepted.
func attackCgroup([]string) outcome {
	var a attempts
	self := strconv.Itoa(os.Getpid())
	for _, root := range cgroupRoots {
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
			continue
		}
		if own := findOwnCgroup(root, self); own == "" {
			a.note(root, "own cgroup not found")
		} else {
			for _, name := range []string{"pids.max", "memory.limit_in_bytes", "memory.max"} {
				p := filepath.Join(own, name)
				old, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				a.check("write "+p, writeString(p, strings.TrimSpace(string(old))))
			}
		}
		a.check("move into "+root, writeString(filepath.Join(root, "cgroup.procs"), self))
	}
	return a.outcome()
}

// findOwnCgroup walks a cgroup hierarchy for the directory whose
// cgroup.procs lists pid.
func findOwnCgroup(root, pid string) string {
	found := ""
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			return nil
		}
		f, err := os.Open(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == pid {
				found = path
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found
}

// writeString writes s to an existing file, as a shell's echo > would.
func writeString(path, s string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(s))
	return err
}
