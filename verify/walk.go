package verify

import (
	"errors"
	"fmt"
	"sync"

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

func entryOf(st *unix.Stat_t) entry {
	return entry{dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), mode: st.Mode}
}

// visitFunc is called for every path under the root but the root, from
// several goroutines at once; worker tells which (0 ≤ worker < workers).
// rel is the slash path from the root; dirfd is the open directory
// holding name, valid for the duration of the call.
type visitFunc func(worker int, rel string, dirfd int, name string, e entry)

// walk visits every path under root, directories in parallel. It does
// not follow symlinks. prune, when set, says which directories not to
// descend into (they are still visited themselves).
//
// It is written on getdents and fstatat rather than filepath.WalkDir:
// WalkDir stats each file by its full path, which the kernel resolves
// component by component, and runs on one goroutine; here each name is
// looked up in its directory's open descriptor, and directories are
// spread over workers. On 100,000 files that is the difference between
// the snapshot being felt on every command or not (docs/benchmarks).
func walk(root string, workers int, prune func(rel string) bool, visit visitFunc) error {
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return fmt.Errorf("walk %s: %w", root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("walk %s: not a directory", root)
	}
	w := &walker{root: root, prune: prune, visit: visit}
	w.cond = sync.NewCond(&w.mu)
	w.queue = append(w.queue, dirJob{"", st.Dev, st.Ino})
	w.pending = 1
	var wg sync.WaitGroup
	for i := range max(1, workers) {
		wg.Go(func() { w.work(i) })
	}
	wg.Wait()
	return w.err
}

type dirJob struct {
	rel      string
	dev, ino uint64
}

type walker struct {
	root  string
	prune func(string) bool
	visit visitFunc

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []dirJob
	pending int // directories queued or being read
	err     error
}

func (w *walker) work(worker int) {
	buf := make([]byte, 32<<10)
	var names []string
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
		names, subdirs, err = w.readDir(worker, job, buf, names[:0], subdirs)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		w.queue = append(w.queue, subdirs...)
		w.pending += len(subdirs) - 1
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

func (w *walker) readDir(worker int, job dirJob, buf []byte, names []string, subdirs []dirJob) ([]string, []dirJob, error) {
	path := w.root
	if job.rel != "" {
		path += "/" + job.rel
	}
	// O_NOFOLLOW and the identity check below keep the walk inside the
	// tree even if a directory is swapped for a symlink while we walk.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return names, subdirs, nil // gone or replaced since its parent was read
		}
		return names, subdirs, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return names, subdirs, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Dev != job.dev || st.Ino != job.ino {
		return names, subdirs, nil
	}
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return names, subdirs, fmt.Errorf("read %s: %w", path, err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	prefix := ""
	if job.rel != "" {
		prefix = job.rel + "/"
	}
	for _, name := range names {
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return names, subdirs, fmt.Errorf("stat %s/%s: %w", path, name, err)
		}
		rel := prefix + name
		w.visit(worker, rel, fd, name, entryOf(&st))
		if st.Mode&unix.S_IFMT == unix.S_IFDIR && (w.prune == nil || !w.prune(rel)) {
			subdirs = append(subdirs, dirJob{rel, st.Dev, st.Ino})
		}
	}
	return names, subdirs, nil
}
