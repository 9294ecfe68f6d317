package linux

import "encoding/json"

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

func (p *plan) encode() ([]byte, error) { return json.Marshal(p) }
