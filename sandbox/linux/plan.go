package linux

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// plan is everything the init needs, decided by the parent before the init
// starts. The parent does all the thinking (resolving paths, choosing what to
// mask) so that the init, which runs with privileges in the new namespaces,
// only carries out a list of steps.
type plan struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`

	Hostname string  `json:"hostname"`
	Mounts   []mount `json:"mounts"`
	// Landlock rules, applied after the mounts, in the final view.
	Landlock landlockPlan `json:"landlock"`
	Seccomp  bool         `json:"seccomp"`
	Rlimits  []rlimit     `json:"rlimits"`
	// CgroupNS makes the init enter a new cgroup namespace after the parent
	// moved it into its cgroups, so the command sees its own cgroup as root.
	CgroupNS bool `json:"cgroup_ns"`
	// Proxy opens the proxy ports inside and passes connections out on
	// fdRelay.
	Proxy bool `json:"proxy,omitempty"`
	// Session keeps the init up after set-up: it runs the commands it
	// receives on the control socket at fd Control, one at a time (see
	// serveSession), instead of Args.
	Session bool `json:"session,omitempty"`
	Control int  `json:"control,omitempty"`
	// Trace has the init print its phase times (CORDON_TRACE).
	Trace bool `json:"trace,omitempty"`
}

// mountKind is one step of building the filesystem view. Paths named Src
// are host paths (the init reads them below the old root); paths named Dst
// are paths in the new root.
type mountKind string

const (
	mRootBind   mountKind = "rootbind"   // recursive read-only bind of Src at Dst
	mBind       mountKind = "bind"       // recursive bind of Src at Dst; RO makes it read-only
	mPin        mountKind = "pin"        // bind Dst onto itself, so it cannot be renamed or removed
	mTmpfs      mountKind = "tmpfs"      // tmpfs at Dst with Size bytes and Mode
	mMaskDir    mountKind = "maskdir"    // empty read-only tmpfs over directory Dst
	mMaskFile   mountKind = "maskfile"   // empty read-only file over Dst
	mProc       mountKind = "proc"       // fresh procfs at Dst
	mDev        mountKind = "dev"        // minimal /dev at Dst
	mReadOnly   mountKind = "readonly"   // make the mount at Dst read-only, recursively
	mSymlinkPin mountKind = "symlinkpin" // pin the symlink Dst itself, not its target
	mSymlink    mountKind = "symlink"    // a symlink at Dst pointing to Src, as written
)

type mount struct {
	Kind mountKind `json:"k"`
	Src  string    `json:"s,omitempty"`
	Dst  string    `json:"d"`
	RO   bool      `json:"ro,omitempty"`
	Size int64     `json:"z,omitempty"`
	Mode uint32    `json:"m,omitempty"`
	// PidMax, on a proc step, caps the PID numbers of the sandbox's PID
	// namespace (Linux 6.14 and later keep pid_max per namespace).
	PidMax int `json:"pm,omitempty"`
	// PidMaxRequired makes a failure to set PidMax an error: nothing else
	// bounds the number of processes.
	PidMaxRequired bool `json:"pmr,omitempty"`
	// Optional steps are skipped when their target has vanished since the
	// parent planned them (a masked file deleted in between, say).
	Optional bool `json:"o,omitempty"`
}

type landlockPlan struct {
	// ABI is the Landlock ABI to use; 0 disables Landlock.
	ABI int `json:"abi"`
	// ReadExec are host paths granted read and execute, recursively, less
	// the Masked ones (see carve).
	ReadExec []string `json:"rx"`
	Masked   []string `json:"masked"`
	// ReadWrite are host paths granted everything. The sandbox's own /tmp,
	// /dev/shm and /dev are added by the init.
	ReadWrite []string `json:"rw"`
	// ListRoot lets the command list directories from / down when the root
	// is a tmpfs of mount points (read-only roots other than /); reading
	// files still needs a ReadExec rule.
	ListRoot bool `json:"list_root,omitempty"`
	// Net restricts TCP bind and connect to the ports listed.
	Net          bool     `json:"net"`
	BindPorts    []uint16 `json:"bind_ports,omitempty"`
	ConnectPorts []uint16 `json:"connect_ports,omitempty"`
	// Scope isolates abstract unix sockets and signals.
	Scope bool `json:"scope"`
}

type rlimit struct {
	Resource int    `json:"r"`
	Cur      uint64 `json:"c"`
	Max      uint64 `json:"m"`
}

// status is what the init reports back to the parent.
type status struct {
	// Error is set when the sandbox could not be built or the command not
	// started; NotFound when the command does not exist inside.
	Error    string `json:"error,omitempty"`
	NotFound bool   `json:"not_found,omitempty"`
	Exited   bool   `json:"exited"`
	Code     int    `json:"code"`
	Signal   int    `json:"signal"`
	UserNs   int64  `json:"user_ns"`
	SysNs    int64  `json:"sys_ns"`
	MaxRSS   int64  `json:"max_rss"`
	// Enforced is what the init put in force.
	LandlockABI int  `json:"landlock_abi"`
	Seccomp     bool `json:"seccomp"`
	NoNewPrivs  bool `json:"nnp"`
}

// The plan crosses the pipe to the init in a small binary form rather
// than as JSON: encoding/json's first use in a process builds its
// reflection caches, which cost about 0.25 ms in the parent and 0.1–0.2 ms
// in the init on every cold start, both on the way to the command. The
// form is private to one binary (the parent and the init are the same
// executable): a length, then the fields in the order encode writes them.
// TestPlanRoundTrip fails when a field of plan is not carried.

// maxPlan bounds the plan the init accepts.
const maxPlan = 16 << 20

// encode returns the plan as the init reads it (readPlan).
func (p *plan) encode() ([]byte, error) {
	e := planEncoder{buf: make([]byte, 4, 4096)}
	e.strings(p.Args)
	e.strings(p.Env)
	e.string(p.Dir)
	e.string(p.Hostname)
	e.uint(uint64(len(p.Mounts)))
	for i := range p.Mounts {
		m := &p.Mounts[i]
		e.string(string(m.Kind))
		e.string(m.Src)
		e.string(m.Dst)
		e.bool(m.RO)
		e.int(m.Size)
		e.uint(uint64(m.Mode))
		e.int(int64(m.PidMax))
		e.bool(m.PidMaxRequired)
		e.bool(m.Optional)
	}
	l := &p.Landlock
	e.int(int64(l.ABI))
	e.strings(l.ReadExec)
	e.strings(l.Masked)
	e.strings(l.ReadWrite)
	e.bool(l.ListRoot)
	e.bool(l.Net)
	e.ports(l.BindPorts)
	e.ports(l.ConnectPorts)
	e.bool(l.Scope)
	e.bool(p.Seccomp)
	e.uint(uint64(len(p.Rlimits)))
	for _, r := range p.Rlimits {
		e.int(int64(r.Resource))
		e.uint(r.Cur)
		e.uint(r.Max)
	}
	e.bool(p.CgroupNS)
	e.bool(p.Proxy)
	e.bool(p.Session)
	e.int(int64(p.Control))
	e.bool(p.Trace)
	n := len(e.buf) - 4
	if n > maxPlan {
		return nil, fmt.Errorf("plan of %d bytes is too large", n)
	}
	binary.LittleEndian.PutUint32(e.buf, uint32(n))
	return e.buf, nil
}

// readPlan reads one plan that encode wrote, and nothing after it.
func readPlan(r io.Reader) (*plan, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(head[:])
	if n > maxPlan {
		return nil, fmt.Errorf("plan of %d bytes is too large", n)
	}
	d := planDecoder{buf: make([]byte, n)}
	if _, err := io.ReadFull(r, d.buf); err != nil {
		return nil, err
	}
	p := &plan{}
	p.Args = d.strings()
	p.Env = d.strings()
	p.Dir = d.string()
	p.Hostname = d.string()
	if n := d.count(); n > 0 {
		p.Mounts = make([]mount, n)
		for i := range p.Mounts {
			m := &p.Mounts[i]
			m.Kind = mountKind(d.string())
			m.Src = d.string()
			m.Dst = d.string()
			m.RO = d.bool()
			m.Size = d.int()
			m.Mode = uint32(d.uint())
			m.PidMax = int(d.int())
			m.PidMaxRequired = d.bool()
			m.Optional = d.bool()
		}
	}
	l := &p.Landlock
	l.ABI = int(d.int())
	l.ReadExec = d.strings()
	l.Masked = d.strings()
	l.ReadWrite = d.strings()
	l.ListRoot = d.bool()
	l.Net = d.bool()
	l.BindPorts = d.ports()
	l.ConnectPorts = d.ports()
	l.Scope = d.bool()
	p.Seccomp = d.bool()
	if n := d.count(); n > 0 {
		p.Rlimits = make([]rlimit, n)
		for i := range p.Rlimits {
			p.Rlimits[i] = rlimit{Resource: int(d.int()), Cur: d.uint(), Max: d.uint()}
		}
	}
	p.CgroupNS = d.bool()
	p.Proxy = d.bool()
	p.Session = d.bool()
	p.Control = int(d.int())
	p.Trace = d.bool()
	if d.err == nil && len(d.buf) > 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return nil, fmt.Errorf("plan: %w", d.err)
	}
	return p, nil
}

type planEncoder struct{ buf []byte }

func (e *planEncoder) uint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *planEncoder) int(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }

func (e *planEncoder) bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	e.buf = append(e.buf, b)
}

func (e *planEncoder) string(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// strings keeps nil and empty apart: 0 is nil, n+1 is n strings.
func (e *planEncoder) strings(ss []string) {
	if ss == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(ss)) + 1)
	for _, s := range ss {
		e.string(s)
	}
}

func (e *planEncoder) ports(ps []uint16) {
	if ps == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(ps)) + 1)
	for _, p := range ps {
		e.uint(uint64(p))
	}
}

// planDecoder reads what planEncoder wrote; the first error sticks and
// every read after it returns zero values.
type planDecoder struct {
	buf []byte
	err error
}

var errShortPlan = errors.New("truncated")

func (d *planDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errShortPlan
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *planDecoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errShortPlan
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *planDecoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.buf) == 0 || d.buf[0] > 1 {
		d.err = errShortPlan
		return false
	}
	v := d.buf[0] == 1
	d.buf = d.buf[1:]
	return v
}

// count reads a length that must fit in what is left of the plan. A list's
// count is one more than its length, and each element takes a byte at
// least.
func (d *planDecoder) count() int {
	n := d.uint()
	if n > uint64(len(d.buf))+1 {
		if d.err == nil {
			d.err = errShortPlan
		}
		return 0
	}
	return int(n)
}

func (d *planDecoder) string() string {
	n := d.count()
	if d.err == nil && n > len(d.buf) {
		d.err = errShortPlan
	}
	if d.err != nil {
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

func (d *planDecoder) strings() []string {
	n := d.count()
	if d.err != nil || n == 0 {
		return nil
	}
	ss := make([]string, n-1)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

func (d *planDecoder) ports() []uint16 {
	n := d.count()
	if d.err != nil || n == 0 {
		return nil
	}
	ps := make([]uint16, n-1)
	for i := range ps {
		v := d.uint()
		if v > 0xffff && d.err == nil {
			d.err = fmt.Errorf("port %d out of range", v)
		}
		ps[i] = uint16(v)
	}
	return ps
}
