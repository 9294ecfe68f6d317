package verify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// entry is what a snapshot keeps of one path: enough to tell, without
// reading the file, that it changed. ctime is the anchor: user space
// cannot set it, and any change of content, mode, owner or link count
// moves it (see the probe in Snapshot for why equality is enough).
type entry struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
	mode         uint32
}

// visitFunc is called for every path under the root but the root, from
// several goroutines at once; worker tells which (0 ≤ worker < workers).
// rel is the slash path from the root; dirfd is the open directory
// holding name, valid for the duration of the call.
// rel and name are only valid during the call.
type visitFunc func(worker int, rel []byte, dirfd int, name []byte, e entry)

// walk visits every path under root, directories in parallel. It does
// not follow symlinks. A directory that cannot be opened for lack of
// permission is passed to denied (from any worker) and not descended
// into; it was visited itself.
//
// It is written on getdents and statx rather than filepath.WalkDir:
// WalkDir stats each file by its full path, which the kernel resolves
// component by component, and runs on one goroutine; here each name is
// looked up in its directory's open descriptor, and directories are
// spread over workers. On 100,000 files that is the difference between
// the snapshot being felt on every command or not (docs/benchmarks).
func walk(root string, workers int, visit visitFunc, denied func(rel string)) error {
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return fmt.Errorf("walk %s: %w", root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("walk %s: not a directory", root)
	}
	w := &walker{root: root, visit: visit, denied: denied, workers: max(1, workers), started: 1}
	w.cond = sync.NewCond(&w.mu)
	w.queue = append(w.queue, dirJob{"", st.Dev, st.Ino})
	w.pending = 1
	// The caller is the first worker; the others start only when there
	// are directories queued for them, so a small tree costs no
	// goroutines.
	w.work(0)
	w.wg.Wait()
	return w.err
}

// walkBufs holds the workers' getdents buffers between walks.
var walkBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

type dirJob struct {
	rel      string
	dev, ino uint64
}

type walker struct {
	root   string
	visit  visitFunc
	denied func(rel string)

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []dirJob
	pending int // directories queued or being read
	err     error
	workers int // at most
	started int
	wg      sync.WaitGroup
}

func (w *walker) work(worker int) {
	b := walkBufs.Get().(*[32 << 10]byte)
	defer walkBufs.Put(b)
	buf := b[:]
	var rel []byte
	var subdirs []dirJob
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.pending > 0 && w.err == nil {
			w.cond.Wait()
		}
		if len(w.queue) == 0 || w.err != nil {
			w.mu.Unlock()
			w.cond.Broadcast()
			return
		}
		job := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()

		subdirs = subdirs[:0]
		var err error
		rel, subdirs, err = w.readDir(worker, job, buf, rel, subdirs)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		w.queue = append(w.queue, subdirs...)
		w.pending += len(subdirs) - 1
		// One more worker while more directories wait than the
		// workers can take at once.
		if len(w.queue) > 1 && w.started < w.workers && w.err == nil {
			i := w.started
			w.started++
			w.wg.Go(func() { w.work(i) })
		}
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

func (w *walker) readDir(worker int, job dirJob, buf, rel []byte, subdirs []dirJob) ([]byte, []dirJob, error) {
	path := w.root
	if job.rel != "" {
		path += "/" + job.rel
	}
	// O_NOFOLLOW and the identity check below keep the walk inside the
	// tree even if a directory is swapped for a symlink while we walk.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return rel, subdirs, nil // gone or replaced since its parent was read
		}
		if (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) && job.rel != "" {
			w.denied(job.rel)
			return rel, subdirs, nil
		}
		return rel, subdirs, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return rel, subdirs, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Dev != job.dev || st.Ino != job.ino {
		return rel, subdirs, nil
	}
	rel = append(rel[:0], job.rel...)
	if job.rel != "" {
		rel = append(rel, '/')
	}
	prefix := len(rel)
	var sx unix.Statx_t
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return rel, subdirs, fmt.Errorf("read %s: %w", path, err)
		}
		if n <= 0 {
			break
		}
		for off := 0; off < n; {
			// struct linux_dirent64: ino u64, off s64, reclen u16, type u8,
			// then the name, NUL-terminated, in place.
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen == 0 || off+reclen > n {
				return rel, subdirs, fmt.Errorf("read %s: bad directory entry", path)
			}
			ino := binary.NativeEndian.Uint64(buf[off:])
			nameAt := off + 19
			name := buf[nameAt : off+reclen]
			end := bytes.IndexByte(name, 0)
			if end < 0 {
				return rel, subdirs, fmt.Errorf("read %s: bad directory entry", path)
			}
			name = name[:end]
			off += reclen
			if ino == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			// statx on the name in the getdents buffer, which is already
			// NUL-terminated: no copy, no allocation per file.
			_, _, errno := unix.Syscall6(unix.SYS_STATX, uintptr(fd), uintptr(unsafe.Pointer(&buf[nameAt])),
				unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, uintptr(unsafe.Pointer(&sx)), 0)
			if errno != 0 {
				if errno == unix.ENOENT {
					continue
				}
				if (errno == unix.EACCES || errno == unix.EPERM) && job.rel != "" {
					// Listable but not searchable (r without x).
					w.denied(job.rel)
					return rel, subdirs, nil
				}
				return rel, subdirs, fmt.Errorf("stat %s/%s: %w", path, name, errno)
			}
			rel = append(rel[:prefix], name...)
			e := entry{dev: unix.Mkdev(sx.Dev_major, sx.Dev_minor), ino: sx.Ino, size: int64(sx.Size),
				mtime: sx.Mtime.Sec*1e9 + int64(sx.Mtime.Nsec), ctime: sx.Ctime.Sec*1e9 + int64(sx.Ctime.Nsec),
				mode: uint32(sx.Mode)}
			w.visit(worker, rel, fd, name, e)
			if e.mode&unix.S_IFMT == unix.S_IFDIR {
				subdirs = append(subdirs, dirJob{string(rel), e.dev, e.ino})
			}
		}
	}
	return rel, subdirs, nil
}
