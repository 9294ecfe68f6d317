// Command coldstart compares the cold start of cordon exec with bubblewrap
// at equivalent isolation, interleaving the runs so that both see the same
// machine noise, and prints medians and the ratio.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 50, "runs of each")
	cordon := flag.String("cordon", "./cordon", "cordon binary")
	ws := flag.String("workspace", "", "workspace directory (default: a new one under /var/tmp)")
	baseBin := flag.String("base", "", "an earlier cordon binary to run alongside, for a before/after comparison")
	empty := flag.String("empty", "", "an empty static Go program: also time its start, bwrap --version and cordon version, the parts of the floor analysis")
	flag.Parse()
	dir := *ws
	if dir == "" {
		d, err := os.MkdirTemp("/var/tmp", "cordon-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	variants := []struct {
		name string
		argv []string
	}{
		// bubblewrap with the isolation cordon always has: user, pid, ipc,
		// uts, net and cgroup namespaces, the host read-only, fresh /proc
		// and /dev, a private /tmp, the workspace writable, a new session.
		{"bwrap", []string{"bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
			"--unshare-net", "--unshare-cgroup", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
			"--tmpfs", "/tmp", "--bind", dir, dir, "--chdir", dir, "--new-session", "--die-with-parent", "/bin/true"}},
		// cordon as installed: the policy's judgement, the audit record
		// (fsync'd), Landlock, seccomp, masks, protected paths, rlimits,
		// and cgroup limits where it can create cgroups.
		{"cordon", []string{*cordon, "exec", "--workspace", dir, "--", "/bin/true"}},
		// The sandbox alone: no cgroup (bubblewrap has none), no audit
		// record; the policy still judges.
		{"cordon --no-cgroup --no-audit", []string{*cordon, "exec", "--no-cgroup", "--no-audit", "--workspace", dir, "--", "/bin/true"}},
	}
	if *baseBin != "" {
		variants = append(variants,
			struct {
				name string
				argv []string
			}{"base cordon", []string{*baseBin, "exec", "--workspace", dir, "--", "/bin/true"}},
			struct {
				name string
				argv []string
			}{"base cordon --no-cgroup --no-audit", []string{*baseBin, "exec", "--no-cgroup", "--no-audit", "--workspace", dir, "--", "/bin/true"}},
		)
	}
	if *empty != "" {
		// What the floor is made of: a process start of bwrap itself
		// (its own exec and libc, no sandbox), of an empty Go program,
		// and of cordon doing nothing.
		for _, v := range []struct {
			name string
			argv []string
		}{
			{"  bwrap --version", []string{"bwrap", "--version"}},
			{"  empty Go program", []string{*empty}},
			{"  cordon version", []string{*cordon, "version"}},
		} {
			variants = append(variants, struct {
				name string
				argv []string
			}{v.name, v.argv})
		}
	}
	times := make([][]time.Duration, len(variants))
	for i := 0; i < *n+3; i++ {
		for v, variant := range variants {
			start := time.Now()
			cmd := exec.Command(variant.argv[0], variant.argv[1:]...)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", strings.Join(variant.argv, " "), err)
				os.Exit(1)
			}
			if i >= 3 { // warm the page cache first
				times[v] = append(times[v], time.Since(start))
			}
		}
	}
	base := median(times[0])
	fmt.Printf("%-32s %10s %10s %8s\n", "runner", "median", "p90", "ratio")
	for v, variant := range variants {
		m := median(times[v])
		fmt.Printf("%-32s %10s %10s %7.2fx\n", variant.name, round(m), round(pct(times[v], 90)), float64(m)/float64(base))
	}
}

func sorted(d []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func median(d []time.Duration) time.Duration { return pct(d, 50) }

func pct(d []time.Duration, p int) time.Duration {
	s := sorted(d)
	return s[(len(s)-1)*p/100]
}

func round(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
