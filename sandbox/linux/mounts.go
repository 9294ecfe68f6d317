package linux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The filesystem view is built the way bubblewrap builds it: a private
// tmpfs becomes the root for a moment, the host's tree is reachable below
// /oldroot, the new view is assembled below /newroot from host paths, and a
// second pivot_root makes /newroot the root and drops everything else.
const (
	stage   = "/tmp" // exists on every host; the tmpfs over it is private to this mount namespace
	oldRoot = "/oldroot"
	newRoot = "/newroot"
	empties = "/empties"
)

// buildView carries out the mount steps. It runs in the init, in its own
// user and mount namespaces, before any restriction is applied.
//
// staged, when not nil, is called once the host's tree is reachable below
// /oldroot, before the steps run; done, when not nil, after the steps and
// before that tree is detached, and its error stops the build.
func buildView(steps []mount, staged func(), done func() error) error {
	// Nothing done below may propagate back to the host's mounts.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("tmpfs", stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("mount staging tmpfs: %w", err)
	}
	for _, d := range []string{stage + oldRoot, stage + newRoot, stage + empties} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("staging: %w", err)
		}
	}
	if err := unix.PivotRoot(stage, stage+oldRoot); err != nil {
		return fmt.Errorf("pivot_root into staging: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if staged != nil {
		staged()
	}
	if err := makeEmpties(); err != nil {
		return err
	}
	for i := range steps {
		if err := steps[i].apply(); err != nil {
			if steps[i].Optional && errors.Is(err, unix.ENOENT) {
				continue
			}
			return err
		}
	}
	if done != nil {
		if err := done(); err != nil {
			return err
		}
	}
	// The second pivot: /newroot becomes / and the staging tmpfs with the
	// host's whole tree below it is detached. From here on only what the
	// steps bound into /newroot is reachable.
	if err := unix.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into the view: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's tree: %w", err)
	}
	return unix.Chdir("/")
}

// makeEmpties creates the empty directory and file that masks are bound
// from, on a tmpfs whose superblock is then read-only: every mask shares
// it and none can be written, whatever its own mount flags.
func makeEmpties() error {
	if err := unix.Mount("tmpfs", empties, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0755"); err != nil {
		return fmt.Errorf("mount empties: %w", err)
	}
	if err := os.Mkdir(empties+"/dir", 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(empties+"/file", nil, 0o444); err != nil {
		return err
	}
	if err := unix.Mount("", empties, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("make empties read-only: %w", err)
	}
	return nil
}

func (m *mount) src() string { return oldRoot + m.Src }
func (m *mount) dst() string { return newRoot + m.Dst }

func (m *mount) apply() error {
	dst := m.dst()
	switch m.Kind {
	case mRootBind:
		if err := ensureDir(dst); err != nil {
			return err
		}
		if err := unix.Mount(m.src(), dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", m.Src, err)
		}
		return setReadOnly(dst, true)
	case mBind:
		if err := ensureLike(m.src(), dst); err != nil {
			return err
		}
		if err := unix.Mount(m.src(), dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s at %s: %w", m.Src, m.Dst, err)
		}
		if m.RO {
			return setReadOnly(dst, true)
		}
		return nil
	case mPin:
		if err := unix.Mount(dst, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("pin %s: %w", m.Dst, err)
		}
		if m.RO {
			return setReadOnly(dst, true)
		}
		return nil
	case mSymlinkPin:
		return pinSymlink(dst)
	case mTmpfs:
		if err := ensureDir(dst); err != nil {
			return err
		}
		opts := "mode=" + strconv.FormatUint(uint64(m.Mode), 8)
		if m.Size > 0 {
			opts += ",size=" + strconv.FormatInt(m.Size, 10)
		}
		if err := unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
			return fmt.Errorf("tmpfs at %s: %w", m.Dst, err)
		}
		return nil
	case mMaskDir:
		if err := unix.Mount(empties+"/dir", dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mask %s: %w", m.Dst, err)
		}
		return nil
	case mMaskFile:
		if err := unix.Mount(empties+"/file", dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mask %s: %w", m.Dst, err)
		}
		return nil
	case mProc:
		if err := ensureDir(dst); err != nil {
			return err
		}
		if err := unix.Mount("proc", dst, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount /proc: %w", err)
		}
		if m.PidMax > 0 {
			// This is the new PID namespace's own proc, so on a kernel that
			// keeps pid_max per namespace the write bounds the sandbox only.
			// An older kernel refuses it (it would be host-wide, and the
			// init has no capability outside its namespaces): the process
			// limit then rests on the cgroup and RLIMIT_NPROC.
			err := os.WriteFile(dst+"/sys/kernel/pid_max", []byte(strconv.Itoa(m.PidMax)), 0)
			if err != nil && m.PidMaxRequired {
				return fmt.Errorf("the process limit cannot be enforced: no pids cgroup, RLIMIT_NPROC does not bind root, and this kernel keeps no pid_max per PID namespace (Linux 6.14): %w", err)
			}
		}
		return nil
	case mDev:
		return buildDev(dst, m.Size)
	case mReadOnly:
		// Not recursive: mounts on top keep their own mode.
		if err := unix.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", m.Dst, err)
		}
		return nil
	case mSymlink:
		if err := ensureDir(filepath.Dir(dst)); err != nil {
			return err
		}
		if err := os.Symlink(m.Src, dst); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("symlink %s: %w", m.Dst, err)
		}
		return nil
	}
	return fmt.Errorf("unknown mount step %q", m.Kind)
}

// setReadOnly makes the mount at path read-only, with every mount below it
// when recursive. mount_setattr does it in one call where the old API needs
// a remount per submount.
func setReadOnly(path string, recursive bool) error {
	flags := uint(0)
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(unix.AT_FDCWD, path, flags, attr); err != nil {
		return fmt.Errorf("read-only %s: %w", path[len(newRoot):], err)
	}
	return nil
}

// pinSymlink mounts a symlink onto itself, without following it, so that
// it becomes a mount point: it can then be neither removed nor replaced,
// and a protected path reached through it stays where it points.
func pinSymlink(path string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("pin symlink %s: %w", path[len(newRoot):], err)
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("pin symlink %s: %w", path[len(newRoot):], err)
	}
	return nil
}

func ensureDir(path string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return fmt.Errorf("mount point %s: %w", path, err)
	}
	return nil
}

// ensureLike makes dst exist with the same type as src (directory or not),
// so that src can be bound onto it.
func ensureLike(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return ensureDir(dst)
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := ensureDir(filepath.Dir(dst)); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o444)
	if err != nil {
		return fmt.Errorf("mount point %s: %w", dst, err)
	}
	return f.Close()
}

// devices are bound from the host's /dev; in a user namespace device nodes
// cannot be created, and bind mounts of the host's nodes are what work.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// buildDev makes a minimal /dev: a few harmless devices, a private devpts
// instance and a private /dev/shm.
func buildDev(dst string, shmSize int64) error {
	if err := ensureDir(dst); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "size=64k,mode=0755"); err != nil {
		return fmt.Errorf("tmpfs at /dev: %w", err)
	}
	for _, d := range devices {
		p := dst + "/" + d
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount(oldRoot+"/dev/"+d, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", d, err)
		}
	}
	if err := os.Mkdir(dst+"/pts", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("devpts", dst+"/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return fmt.Errorf("devpts: %w", err)
	}
	if err := os.Mkdir(dst+"/shm", 0o1777); err != nil {
		return err
	}
	opts := "mode=1777"
	if shmSize > 0 {
		opts += ",size=" + strconv.FormatInt(shmSize, 10)
	}
	if err := unix.Mount("tmpfs", dst+"/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("tmpfs at /dev/shm: %w", err)
	}
	for name, target := range map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if err := os.Symlink(target, dst+"/"+name); err != nil {
			return err
		}
	}
	return nil
}
