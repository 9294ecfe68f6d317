package linux

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// cgroup is the set of control-group directories holding one run. On a
// unified (v2) host it is one directory; on a v1 or hybrid host it is one
// directory per controller hierarchy. Limits that apply to the whole process
// tree (memory, number of processes) need it; rlimits only bound each
// process.
type cgroup struct {
	version string            // "v2" or "v1"
	dirs    map[string]string // controller ("memory", "pids", or "" for v2) → directory
	limits  []string

	evMu  sync.Mutex
	evFDs map[string]int // event file → descriptor kept open, read with pread
}

var cgroupSeq atomic.Int64

// hierarchies finds the cgroup mounts and this process's place in them.
type hierarchies struct {
	v2      string            // the cgroup2 mount point, "" if none
	v2Path  string            // this process's cgroup in it
	v1      map[string]string // controller → mount point
	v1Path  map[string]string // controller → this process's cgroup
	v2Ctrls []string          // controllers available to children of v2Path
}

func findHierarchies() (*hierarchies, error) {
	h := &hierarchies{v1: map[string]string{}, v1Path: map[string]string{}}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		switch g[0] {
		case "cgroup2":
			if h.v2 == "" {
				h.v2 = f[4]
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				if opt == "memory" || opt == "pids" || opt == "cpu" {
					h.v1[opt] = f[4]
				}
			}
		}
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			h.v2Path = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			h.v1Path[c] = parts[2]
		}
	}
	if h.v2 != "" {
		b, _ := os.ReadFile(filepath.Join(h.v2, h.v2Path, "cgroup.controllers"))
		h.v2Ctrls = strings.Fields(string(b))
	}
	return h, nil
}

func (h *hierarchies) v2Has(c string) bool {
	for _, x := range h.v2Ctrls {
		if x == c {
			return true
		}
	}
	return false
}

// newCgroup creates the cgroup of one run with the given limits, or says why
// it cannot. With cpu, the run also gets a CPU cgroup of its own, at the
// default weight: the scheduler then shares CPU time between such runs
// (sessions) as wholes, however many threads each one has.
func newCgroup(memory int64, pids int, cpu bool) (*cgroup, error) {
	h, err := findHierarchies()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("cordon-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	if h.v2 != "" && h.v2Has("memory") && h.v2Has("pids") {
		cg, err := newCgroupV2(h, name, memory, pids, cpu && h.v2Has("cpu"))
		if err == nil {
			return cg, nil
		}
		if len(h.v1) == 0 {
			return nil, err
		}
	}
	if h.v1["memory"] == "" && h.v1["pids"] == "" {
		return nil, errors.New("no memory or pids controller is mounted")
	}
	cg := &cgroup{version: "v1", dirs: map[string]string{}}
	ctrls := []string{"memory", "pids"}
	if cpu {
		ctrls = append(ctrls, "cpu")
	}
	for _, c := range ctrls {
		mnt := h.v1[c]
		if mnt == "" {
			continue
		}
		removeStale(filepath.Join(mnt, h.v1Path[c]))
		dir := filepath.Join(mnt, h.v1Path[c], name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			cg.remove()
			return nil, fmt.Errorf("create %s cgroup: %w", c, err)
		}
		cg.dirs[c] = dir
	}
	// Moving a process between v1 cgroups takes a global lock whose first
	// writer waits for an RCU grace period (milliseconds); writers that
	// follow within a grace period do not. Moving cordon into the cgroup
	// it is already in starts that wait now, while the init is being
	// started, so the init's own move later finds the lock ready.
	for c, mnt := range h.v1 {
		if c == "memory" || c == "pids" {
			own := filepath.Join(mnt, h.v1Path[c], "cgroup.procs")
			go writeFile(own, strconv.Itoa(os.Getpid()))
			break
		}
	}
	if d := cg.dirs["memory"]; d != "" && memory > 0 {
		if err := writeFile(filepath.Join(d, "memory.limit_in_bytes"), strconv.FormatInt(memory, 10)); err != nil {
			cg.remove()
			return nil, err
		}
		// Swap would let the limit be passed; where swap is accounted, it is
		// capped at the same figure.
		_ = writeFile(filepath.Join(d, "memory.memsw.limit_in_bytes"), strconv.FormatInt(memory, 10))
		cg.limits = append(cg.limits, "memory")
	}
	if d := cg.dirs["pids"]; d != "" && pids > 0 {
		if err := writeFile(filepath.Join(d, "pids.max"), strconv.Itoa(pids)); err != nil {
			cg.remove()
			return nil, err
		}
		cg.limits = append(cg.limits, "pids")
	}
	if cg.dirs["cpu"] != "" {
		cg.limits = append(cg.limits, "cpu-share")
	}
	return cg, nil
}

func newCgroupV2(h *hierarchies, name string, memory int64, pids int, cpu bool) (*cgroup, error) {
	parent := filepath.Join(h.v2, h.v2Path)
	sub, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if !bytes.Contains(sub, []byte("memory")) || !bytes.Contains(sub, []byte("pids")) {
		// Enabling controllers for children fails while the parent has
		// processes of its own (cordon, at least): the cgroup must be
		// delegated with the controllers already enabled.
		if err := writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+memory +pids"); err != nil {
			return nil, fmt.Errorf("cgroup v2 is not delegated here (%w)", err)
		}
	}
	if cpu && !bytes.Contains(sub, []byte("cpu ")) && !bytes.HasSuffix(bytes.TrimSpace(sub), []byte("cpu")) {
		// Best effort: without it, CPU is shared per thread, as for any
		// process.
		cpu = writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+cpu") == nil
	}
	removeStale(parent)
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	cg := &cgroup{version: "v2", dirs: map[string]string{"": dir}}
	if memory > 0 {
		if err := writeFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(memory, 10)); err != nil {
			cg.remove()
			return nil, err
		}
		_ = writeFile(filepath.Join(dir, "memory.swap.max"), "0")
		cg.limits = append(cg.limits, "memory")
	}
	if pids > 0 {
		if err := writeFile(filepath.Join(dir, "pids.max"), strconv.Itoa(pids)); err != nil {
			cg.remove()
			return nil, err
		}
		cg.limits = append(cg.limits, "pids")
	}
	if cpu {
		cg.limits = append(cg.limits, "cpu-share")
	}
	return cg, nil
}

// add moves pid into the cgroup. The init is added before it reads its plan,
// so the command and everything it starts are inside from the first fork.
func (cg *cgroup) add(pid int) error {
	for c, d := range cg.dirs {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("join %s cgroup: %w", c, err)
		}
	}
	return nil
}

// events reports whether the memory limit killed a process and whether the
// process limit refused a fork.
func (cg *cgroup) events() (oom, pids bool) {
	o, p := cg.eventCounts()
	return o > 0, p > 0
}

// eventCounts counts the processes the memory limit killed and the forks
// the process limit refused, since the cgroup was made.
func (cg *cgroup) eventCounts() (oom, pids int64) {
	if cg.version == "v2" {
		d := cg.dirs[""]
		return cg.eventCount(filepath.Join(d, "memory.events"), "oom_kill"),
			cg.eventCount(filepath.Join(d, "pids.events"), "max")
	}
	if d := cg.dirs["memory"]; d != "" {
		oom = cg.eventCount(filepath.Join(d, "memory.oom_control"), "oom_kill")
	}
	if d := cg.dirs["pids"]; d != "" {
		pids = cg.eventCount(filepath.Join(d, "pids.events"), "max")
	}
	return oom, pids
}

// eventCount reads the counter key from a flat-keyed cgroup file. The
// file stays open: a session reads its counters around every command.
func (cg *cgroup) eventCount(path, key string) int64 {
	cg.evMu.Lock()
	fd, ok := cg.evFDs[path]
	if !ok {
		var err error
		if fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			fd = -1
		}
		if cg.evFDs == nil {
			cg.evFDs = map[string]int{}
		}
		cg.evFDs[path] = fd
	}
	cg.evMu.Unlock()
	if fd < 0 {
		return 0
	}
	var buf [1024]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil || n <= 0 {
		return 0
	}
	for line := range strings.Lines(string(buf[:n])) {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// remove deletes the cgroup directories. It is called after the init has
// exited, when the kernel has killed everything in the PID namespace; the
// last of those may take a moment to leave the cgroup.
func (cg *cgroup) remove() {
	cg.evMu.Lock()
	for _, fd := range cg.evFDs {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	cg.evFDs = nil
	cg.evMu.Unlock()
	for _, d := range cg.dirs {
		for i := 0; i < 100; i++ {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// removeStale removes the cgroups of cordon processes that died without
// cleaning up (killed outright; their sandboxes died with them, by the
// parent-death signal, and left the cgroups empty).
func removeStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		var pid, seq int
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "cordon-") {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), "cordon-%d-%d", &pid, &seq); err != nil || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); err == unix.ESRCH {
			os.Remove(filepath.Join(parent, e.Name())) // fails if anything is still inside
		}
	}
}

func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// has reports whether cg enforces the limit named ("memory", "pids").
func (cg *cgroup) has(limit string) bool {
	if cg == nil {
		return false
	}
	for _, l := range cg.limits {
		if l == limit {
			return true
		}
	}
	return false
}
