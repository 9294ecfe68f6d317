package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
	"github.com/spf13/cobra"
)

func newDoctor() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Show what this host can enforce",
		Long: `Show what the sandbox can enforce on this host: namespaces, Landlock and its
ABI, seccomp, cgroups and their controllers. Each mechanism is tried for
real. A run that requires a missing protection (--require) refuses to start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h := linux.Probe()
			caches, _ := sandbox.DefaultCacheDir()
			// The disk bound is judged for the filesystem of the current
			// directory, the default workspace.
			disk, diskErr := linux.ProbeDisk(".")
			if jsonOut {
				out := struct {
					*linux.Host
					ToolCaches string          `json:"tool_cache_dir"`
					Disk       *linux.DiskInfo `json:"disk,omitempty"`
					DiskError  string          `json:"disk_error,omitempty"`
				}{h, caches, disk, errString(diskErr)}
				b, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			printDoctor(cmd.OutOrStdout(), h, caches, disk, diskErr)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the report as JSON")
	return cmd
}

func printDoctor(w io.Writer, h *linux.Host, caches string, disk *linux.DiskInfo, diskErr error) {
	mark := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "NO "
	}
	fmt.Fprintf(w, "kernel %s, running as uid %d\n\n", h.Kernel, h.UID)
	fmt.Fprintf(w, "%s namespaces (user, mount, pid, ipc, uts, net, cgroup)", mark(h.UserNS))
	if !h.UserNS {
		fmt.Fprintf(w, ": %s", h.UserNSError)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s Landlock", mark(h.LandlockABI > 0))
	if h.LandlockABI > 0 {
		fmt.Fprintf(w, " ABI %d: filesystem rules", h.LandlockABI)
		if h.LandlockABI >= 4 {
			fmt.Fprint(w, ", TCP bind/connect rules")
		}
		if h.LandlockABI >= 6 {
			fmt.Fprint(w, ", abstract unix socket and signal scoping")
		}
	} else {
		fmt.Fprint(w, ": not available (needs Linux 5.13+ with landlock in the lsm= list)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s seccomp filters\n", mark(h.Seccomp))
	fmt.Fprintf(w, "%s cgroups (%s hierarchy", mark(h.CgroupUsable != ""), orNone(h.CgroupVersion))
	if len(h.CgroupV1) > 0 {
		fmt.Fprintf(w, "; v1 controllers: %s", strings.Join(h.CgroupV1, ", "))
	}
	if len(h.CgroupV2) > 0 {
		fmt.Fprintf(w, "; v2 controllers: %s", strings.Join(h.CgroupV2, ", "))
	}
	fmt.Fprint(w, ")")
	if h.CgroupUsable != "" {
		fmt.Fprintf(w, ": memory and process limits for the whole run through %s", h.CgroupUsable)
	} else {
		fmt.Fprintf(w, ": %s; memory and process limits fall back to per-process rlimits", h.CgroupError)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "yes rlimits: CPU time, file size, open files, processes, data size")
	fmt.Fprintf(w, "%s per-namespace pid_max (Linux 6.14): bounds processes where no pids cgroup does and the caller is root\n", mark(h.PidMaxPerNS))
	printDisk(w, disk, diskErr)
	fmt.Fprintln(w, "--  host unix sockets: /run hidden, and every socket of this network namespace with its directory;")
	fmt.Fprintln(w, "    a socket bound in another network namespace outside /run stays reachable (Landlock up to ABI 7 has no rule for connecting to unix sockets)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Tool caches are written to %s (GOCACHE, npm, pip, XDG_CACHE_HOME), never to your own caches.\n", caches)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// printDisk says how the disk bound stands on the workspace's filesystem.
func printDisk(w io.Writer, d *linux.DiskInfo, err error) {
	if err != nil {
		fmt.Fprintf(w, "NO  disk bound for this directory: %v; writes are bounded by the file-size limit only\n", err)
		return
	}
	fmt.Fprintf(w, "yes disk bound (this directory: %s, %s free of %s): a run may not take free space under %s",
		d.Type, linux.SizeString(d.Free), linux.SizeString(d.Size), linux.SizeString(d.Reserve))
	if !d.Inodes {
		fmt.Fprint(w, " (no inode counts here: bytes only)")
	}
	fmt.Fprintln(w)
	if d.UnderReserve {
		fmt.Fprintf(w, "    the filesystem is under that reserve already: each run may add only %s before it is stopped\n",
			linux.SizeString(sandbox.DiskAllowance))
	}
}
