package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// payload is what the write attacks put in a file, so that an outside check
// can recognise it.
const payload = "cordon-escape\n"

var fsAttacks = map[string]attack{
	"write":           {"PATH [CONTENT]", attackWrite, 1},
	"append":          {"PATH", attackAppend, 1},
	"truncate":        {"PATH", attackTruncate, 1},
	"write-same":      {"PATH", attackWriteSame, 1},
	"read":            {"PATH", attackRead, 1},
	"mkdir":           {"PATH", attackMkdir, 1},
	"symlink":         {"LINK TARGET", attackSymlink, 2},
	"symlink-write":   {"LINK TARGET", attackSymlinkWrite, 2},
	"hardlink":        {"LINK TARGET", attackHardlink, 2},
	"rename":          {"FROM TO", attackRename, 2},
	"rename-recreate": {"DIR FILE", attackRenameRecreate, 2},
	"unlink":          {"PATH", attackUnlink, 1},
	"rmdir":           {"PATH", attackRmdir, 1},
	"chmod":           {"PATH", attackChmod, 1},
	"mknod":           {"PATH", attackMknod, 1},
	"mount":           {"DIR", attackMount, 1},
	"umount":          {"PATH", attackUmount, 1},
	"chroot":          {"", attackChroot, 0},
	"pivot-root":      {"", attackPivotRoot, 0},
	"open-by-handle":  {"[PATH]", attackOpenByHandle, 0},
	"proc-sys":        {"", attackProcSys, 0},
	"dev-open":        {"", attackDevOpen, 0},
	"git-commondir":   {"WORKSPACE", attackGitCommondir, 1},
}

// attackWrite creates or overwrites PATH. Escaped: the file could be opened
// for writing (opening with O_TRUNC has already emptied it).
func attackWrite(args []string) outcome {
	content := payload
	if len(args) > 1 {
		content = args[1]
	}
	fd, err := unix.Open(args[0], unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return blockedf("open %s for writing: %s", args[0], errName(err))
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(content))
	if err != nil {
		return escapedf("opened %s for writing and truncated it; write: %s", args[0], errName(err))
	}
	return escapedf("wrote %d bytes to %s", n, args[0])
}

// attackAppend appends to an existing PATH. Escaped: it could be opened for
// appending.
func attackAppend(args []string) outcome {
	fd, err := unix.Open(args[0], unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return blockedf("open %s for appending: %s", args[0], errName(err))
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(payload))
	if err != nil {
		return escapedf("opened %s for appending; write: %s", args[0], errName(err))
	}
	return escapedf("appended %d bytes to %s", n, args[0])
}

// attackTruncate empties PATH without opening it. Escaped: truncate(2)
// succeeded.
func attackTruncate(args []string) outcome {
	if err := unix.Truncate(args[0], 0); err != nil {
		return blockedf("truncate %s: %s", args[0], errName(err))
	}
	return escapedf("truncated %s", args[0])
}

// attackWriteSame opens PATH for writing and writes back exactly what it
// holds, so that it is harmless even where it gets through (a host sysctl,
// a cgroup's release_agent). Escaped: PATH could be opened for writing.
func attackWriteSame(args []string) outcome {
	old, rerr := os.ReadFile(args[0])
	fd, err := unix.Open(args[0], unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return blockedf("open %s for writing: %s", args[0], errName(err))
	}
	defer unix.Close(fd)
	if rerr != nil {
		return escapedf("opened %s for writing (not read, so nothing written: %v)", args[0], rerr)
	}
	if len(old) == 0 {
		return escapedf("opened %s for writing (it was empty; nothing written)", args[0])
	}
	if _, err := unix.Write(fd, old); err != nil {
		return escapedf("opened %s for writing; writing its own content back: %s", args[0], errName(err))
	}
	return escapedf("opened %s for writing and wrote its content back", args[0])
}

// attackRead reads PATH, or lists it when it is a directory. Escaped: it
// gave any content (a masked file reads empty, a masked directory lists
// nothing).
func attackRead(args []string) outcome {
	fd, err := unix.Open(args[0], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return blockedf("open %s: %s", args[0], errName(err))
	}
	defer unix.Close(fd)
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	if err == unix.EISDIR {
		names, err := readDirNames(fd)
		if err != nil {
			return blockedf("list %s: %s", args[0], errName(err))
		}
		if len(names) == 0 {
			return blockedf("%s lists empty", args[0])
		}
		return escapedf("listed %d entries of %s: %s", len(names), args[0], strings.Join(names, ", "))
	}
	if err != nil {
		return blockedf("read %s: %s", args[0], errName(err))
	}
	if n == 0 {
		return blockedf("%s reads empty", args[0])
	}
	return escapedf("read %d bytes of %s: %q", n, args[0], buf[:n])
}

// readDirNames lists an open directory with getdents, so that no Go runtime
// descriptor (the poller's) is created along the way.
func readDirNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// attackMkdir creates directory PATH. Escaped: it was created.
func attackMkdir(args []string) outcome {
	if err := unix.Mkdir(args[0], 0o755); err != nil {
		return blockedf("mkdir %s: %s", args[0], errName(err))
	}
	return escapedf("created directory %s", args[0])
}

// attackSymlink creates LINK pointing to TARGET, the way an attacker would
// take the place of a protected path that does not exist yet. Escaped: the
// link was created.
func attackSymlink(args []string) outcome {
	if err := unix.Symlink(args[1], args[0]); err != nil {
		return blockedf("symlink %s -> %s: %s", args[0], args[1], errName(err))
	}
	return escapedf("created symlink %s -> %s", args[0], args[1])
}

// attackSymlinkWrite creates LINK (inside the writable workspace) pointing
// to TARGET (outside it), then writes through the link. Escaped: TARGET
// could be opened for writing through LINK.
func attackSymlinkWrite(args []string) outcome {
	link, target := args[0], args[1]
	made := "created"
	if err := unix.Symlink(target, link); err != nil {
		made = "not created (" + errName(err) + ")"
	}
	fd, err := unix.Open(link, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return blockedf("symlink %s -> %s %s; writing through it: %s", link, target, made, errName(err))
	}
	defer unix.Close(fd)
	n, _ := unix.Write(fd, []byte(payload))
	return escapedf("symlink %s -> %s %s; wrote %d bytes through it", link, target, made, n)
}

// attackHardlink links TARGET (outside the workspace) into the workspace as
// LINK, then writes it. A hard link left in the workspace is a writable name
// for the outside file for whoever edits the workspace later, so the link
// alone already counts. Escaped: link(2) succeeded.
func attackHardlink(args []string) outcome {
	link, target := args[0], args[1]
	if err := unix.Link(target, link); err != nil {
		return blockedf("link %s -> %s: %s", link, target, errName(err))
	}
	fd, err := unix.Open(link, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err != nil {
		return escapedf("hard-linked %s as %s (writing it: %s)", target, link, errName(err))
	}
	defer unix.Close(fd)
	n, _ := unix.Write(fd, []byte(payload))
	return escapedf("hard-linked %s as %s and appended %d bytes", target, link, n)
}

// attackRename renames FROM to TO. Escaped: it succeeded.
func attackRename(args []string) outcome {
	if err := unix.Rename(args[0], args[1]); err != nil {
		return blockedf("rename %s -> %s: %s", args[0], args[1], errName(err))
	}
	return escapedf("renamed %s -> %s", args[0], args[1])
}

// attackRenameRecreate moves DIR out of the way and builds a fresh one in
// its place with FILE in it: the way around a read-only mount on DIR/...
// (mv .git .old; mkdir -p .git/hooks; write .git/hooks/pre-commit).
// Escaped: DIR/FILE could be written, by whichever route.
func attackRenameRecreate(args []string) outcome {
	dir, file := filepath.Clean(args[0]), args[1]
	var steps []string
	if err := unix.Rename(dir, dir+".cordon-moved"); err != nil {
		steps = append(steps, "rename "+dir+": "+errName(err))
	} else {
		steps = append(steps, "renamed "+dir+" away")
	}
	full := filepath.Join(dir, file)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		steps = append(steps, "mkdir -p "+filepath.Dir(full)+": "+errName(unwrap(err)))
	}
	fd, err := unix.Open(full, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o755)
	if err != nil {
		steps = append(steps, "write "+full+": "+errName(err))
		return blockedf("%s", strings.Join(steps, "; "))
	}
	defer unix.Close(fd)
	unix.Write(fd, []byte("#!/bin/sh\n# "+payload))
	steps = append(steps, "wrote "+full)
	return escapedf("%s", strings.Join(steps, "; "))
}

// unwrap digs the errno out of an *os.PathError.
func unwrap(err error) error {
	if pe, isPath := err.(*os.PathError); isPath {
		return pe.Err
	}
	return err
}

// attackUnlink removes file PATH. Escaped: it was removed.
func attackUnlink(args []string) outcome {
	if err := unix.Unlink(args[0]); err != nil {
		return blockedf("unlink %s: %s", args[0], errName(err))
	}
	return escapedf("removed %s", args[0])
}

// attackRmdir removes directory PATH. Escaped: it was removed.
func attackRmdir(args []string) outcome {
	if err := unix.Rmdir(args[0]); err != nil {
		return blockedf("rmdir %s: %s", args[0], errName(err))
	}
	return escapedf("removed directory %s", args[0])
}

// attackChmod makes PATH world-writable. Escaped: chmod(2) succeeded.
func attackChmod(args []string) outcome {
	if err := unix.Chmod(args[0], 0o777); err != nil {
		return blockedf("chmod %s: %s", args[0], errName(err))
	}
	return escapedf("chmod 0777 %s", args[0])
}

// attackMknod creates a character device 1:3 (/dev/null) at PATH: whoever
// can make device nodes can make one for a disk. Escaped: mknod(2)
// succeeded.
func attackMknod(args []string) outcome {
	if err := unix.Mknod(args[0], unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		return blockedf("mknod %s c 1 3: %s", args[0], errName(err))
	}
	detail := "created device node " + args[0] + " (c 1:3)"
	if fd, err := unix.Open(args[0], unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
		detail += " and opened it"
	} else {
		detail += "; opening it: " + errName(err)
	}
	return escapedf("%s", detail)
}

// attackMount tries every way of changing the mount table: a tmpfs on DIR,
// a bind of / onto DIR, remounting / read-write with both the old and the
// new mount API, and building a mount with fsopen and open_tree. Run it
// unsandboxed only in a private mount namespace (unshare -m). Escaped: any
// of them succeeded.
func attackMount(args []string) outcome {
	dir := args[0]
	var a attempts
	if a.check("mount tmpfs on "+dir, unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m")) {
		unix.Unmount(dir, unix.MNT_DETACH)
	}
	if a.check("bind / on "+dir, unix.Mount("/", dir, "", unix.MS_BIND, "")) {
		unix.Unmount(dir, unix.MNT_DETACH)
	}
	a.check("remount / read-write", unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND, ""))
	a.check("mount_setattr / read-write", unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE,
		&unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}))
	if fd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC); err != nil {
		a.deny("fsopen tmpfs", err)
	} else {
		unix.Close(fd)
		a.got("fsopen tmpfs", "got a filesystem context")
	}
	if fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC); err != nil {
		a.deny("open_tree clone /", err)
	} else {
		unix.Close(fd)
		a.got("open_tree clone /", "got a detached copy of /")
	}
	return a.outcome()
}

// attackUmount unmounts PATH, which is how a masked credential store would
// be uncovered, then lists what is under it. Escaped: umount2 succeeded.
func attackUmount(args []string) outcome {
	if err := unix.Unmount(args[0], unix.MNT_DETACH); err != nil {
		return blockedf("umount %s: %s", args[0], errName(err))
	}
	return escapedf("unmounted %s; now: %s", args[0], attackRead(args).detail)
}

// attackChroot calls chroot(2), the first step of the classic chroot
// breakout. Escaped: it succeeded.
func attackChroot([]string) outcome {
	var a attempts
	a.check("chroot /", unix.Chroot("/"))
	return a.outcome()
}

// attackPivotRoot calls pivot_root(2) on a path that does not exist: the
// kernel checks the capability first, so ENOENT means the call would have
// worked on real paths, and nothing is pivoted. Escaped: anything but
// EPERM/ENOSYS.
func attackPivotRoot([]string) outcome {
	var a attempts
	a.privileged("pivot_root", unix.PivotRoot("/nonexistent-cordon", "/nonexistent-cordon"))
	return a.outcome()
}

// attackOpenByHandle gets a handle for PATH and opens it again by handle,
// the call behind the "shocker" container escape (it takes no path, so it
// walks around the mount view). Escaped: open_by_handle_at returned a file.
func attackOpenByHandle(args []string) outcome {
	path := "/etc/hostname"
	if len(args) > 0 {
		path = args[0]
	}
	var a attempts
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, path, 0)
	if err != nil {
		a.deny("name_to_handle_at "+path, err)
		// Without a handle of its own, try the root directory's handle
		// on an ext4-like filesystem (inode 2), as shocker does.
		h = unix.NewFileHandle(1, []byte{2, 0, 0, 0, 0, 0, 0, 0})
	}
	mnt, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errorf("open /: %s", errName(err))
	}
	defer unix.Close(mnt)
	fd, err := unix.OpenByHandleAt(mnt, h, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		a.deny("open_by_handle_at", err)
	} else {
		unix.Close(fd)
		a.got("open_by_handle_at", "opened a file by handle")
	}
	return a.outcome()
}

// attackProcSys writes host-wide kernel settings through /proc: the hostname
// and core_pattern (whose pipe form runs a program as host root) written
// back unchanged, drop_caches with 4 (which only silences its log line) and
// the harmless 'h' (help) to /proc/sysrq-trigger. Escaped: any could be
// opened for writing.
func attackProcSys([]string) outcome {
	var a attempts
	for _, p := range []string{"/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe"} {
		o := attackWriteSame([]string{p})
		if o.verdict == escaped {
			a.got(p, "%s", o.detail)
		} else {
			a.note(p, "%s", o.detail)
		}
	}
	for p, v := range map[string]string{"/proc/sys/vm/drop_caches": "4", "/proc/sysrq-trigger": "h"} {
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			a.deny(p, err)
			continue
		}
		_, err = unix.Write(fd, []byte(v))
		unix.Close(fd)
		if err != nil {
			a.got(p, "opened for writing (write: %s)", errName(err))
		} else {
			a.got(p, "wrote %q", v)
		}
	}
	return a.outcome()
}

// hostDevices are device nodes that give the hardware, the kernel's memory
// or log, or the host's disks and hypervisor channels.
var hostDevices = []string{
	"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/console",
	"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda", "/dev/zram0",
	"/dev/loop0", "/dev/loop-control", "/dev/vsock", "/dev/kvm",
	"/dev/userfaultfd", "/dev/fuse", "/dev/btrfs-control", "/dev/tty0",
	"/dev/tty1", "/dev/ttyS0", "/dev/hwrng", "/dev/cpu/0/msr", "/dev/vga_arbiter",
	"/dev/autofs", "/dev/net/tun",
}

// attackDevOpen opens host devices read-only (no tty is made controlling).
// Escaped: any of them opened.
func attackDevOpen([]string) outcome {
	var a attempts
	for _, d := range hostDevices {
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			a.deny(d, err)
			continue
		}
		unix.Close(fd)
		a.got(d, "opened")
	}
	return a.outcome()
}

// attackGitCommondir takes over the repository in WORKSPACE without
// touching its protected .git/config or .git/hooks: it builds a git
// directory of its own, whose config sets core.fsmonitor (a program git
// runs on every status) and core.hooksPath, and writes .git/commondir
// pointing at it. git then reads config and hooks from there. Escaped:
// .git/commondir was written.
func attackGitCommondir(args []string) outcome {
	ws := args[0]
	evil := filepath.Join(ws, ".cordon-evil-git")
	for _, d := range []string{"objects", "refs/heads", "hooks"} {
		os.MkdirAll(filepath.Join(evil, d), 0o755)
	}
	os.WriteFile(filepath.Join(evil, "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(evil, "config"), []byte("[core]\n\trepositoryformatversion = 0\n"+
		"\tfsmonitor = echo cordon-escape\n\thooksPath = "+filepath.Join(evil, "hooks")+"\n"), 0o644)
	os.WriteFile(filepath.Join(evil, "hooks", "pre-commit"), []byte("#!/bin/sh\n# "+payload), 0o755)
	o := attackWrite([]string{filepath.Join(ws, ".git", "commondir"), "../.cordon-evil-git\n"})
	o.detail = "git common directory redirected: " + o.detail
	return o
}

// firstLine is the first line of b, trimmed, for details.
func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}
