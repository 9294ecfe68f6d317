// Command session measures warm sandbox sessions against cold starts, in
// one run, side by side:
//
//   - latency: /bin/true through a warm Session.Run, a cold Backend.Run and
//     bubblewrap at equivalent isolation, interleaved so that all three see
//     the same machine noise; median and p99 of each, and the ratio of warm
//     to bubblewrap;
//   - memory: the resident set of idle sessions' inits;
//   - concurrency: many sessions at once, each running a small shell loop
//     several times; all must complete; total throughput, and how long a
//     trivial host command takes meanwhile (is the host responsive).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cordon-sh/cordon/audit"
	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/policy"
	"github.com/cordon-sh/cordon/sandbox"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

func main() {
	// The sandbox re-executes this binary as its init.
	linux.Init()
	n := flag.Int("n", 200, "runs of each runner in the latency comparison")
	sessions := flag.Int("sessions", 100, "concurrent sessions")
	rounds := flag.Int("rounds", 5, "commands each concurrent session runs")
	loop := flag.Int("loop", 100, "iterations of each command's shell loop")
	cordonBin = flag.String("cordon", "", "a cordon binary: also time cordon exec and cordon session exec")
	flag.Parse()
	base, err := os.MkdirTemp("/var/tmp", "cordon-session-bench-")
	check(err)
	defer os.RemoveAll(base)

	latency(base, *n)
	idleMemory(base, *sessions)
	concurrent(base, *sessions, *rounds, *loop)
}

var cordonBin *string

func newSpec(base string) *sandbox.Spec {
	ws, err := os.MkdirTemp(base, "ws-")
	check(err)
	spec, err := sandbox.NewSpec(ws, []string{"/bin/true"})
	check(err)
	return spec
}

func latency(base string, n int) {
	spec := newSpec(base)
	ws := spec.Filesystem.Workspace
	s, err := linux.Backend{}.Start(context.Background(), spec)
	check(err)
	defer s.Close()
	// bubblewrap with the isolation the sandbox always has, as in
	// bench/coldstart: user, pid, ipc, uts, net and cgroup namespaces, the
	// host read-only, fresh /proc and /dev, a private /tmp, the workspace
	// writable, a new session.
	bwrap := []string{"bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--unshare-net", "--unshare-cgroup", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
		"--tmpfs", "/tmp", "--bind", ws, ws, "--chdir", ws, "--new-session", "--die-with-parent", "/bin/true"}
	// The whole pipeline in a warm session: the default policy judges the
	// command, output goes through the checks, the workspace is listed
	// before and after, and the audit log gets its record, fsync'd behind
	// (as cordon session and cordon mcp do: the next command waits for
	// it), before Run returns, or not at all.
	// It has a workspace of its own: the cold runs make and remove their
	// placeholders in theirs, which the change report of a shared one
	// would have to wait out.
	pipeline := func(sync audit.Sync) *guard.Session {
		pws := newSpec(base).Filesystem.Workspace
		pol, err := policy.Load(policy.Options{Workspace: pws})
		check(err)
		alog, err := audit.Open(filepath.Join(base, fmt.Sprintf("audit-%d.jsonl", sync)), audit.Options{Sync: sync})
		check(err)
		home, _ := os.UserHomeDir()
		g := &guard.Guard{Policy: pol, Backend: linux.Backend{}, Audit: alog, Home: home}
		gs, err := g.StartSession(context.Background(), &guard.SessionRequest{Workspace: pws})
		check(err)
		return gs
	}
	gs, gsEvery, gsNoSync := pipeline(audit.SyncBehind), pipeline(audit.SyncEvery), pipeline(audit.SyncNone)
	defer gs.Close()
	defer gsEvery.Close()
	defer gsNoSync.Close()
	type runner struct {
		name string
		run  func()
	}
	runners := []runner{
		{"bwrap (cold)", func() {
			cmd := exec.Command(bwrap[0], bwrap[1:]...)
			cmd.Stderr = os.Stderr
			check(cmd.Run())
		}},
		{"Backend.Run (cold)", func() {
			res, err := linux.Backend{}.Run(context.Background(), spec)
			check(err)
			if res.ExitCode != 0 {
				check(fmt.Errorf("exit %d", res.ExitCode))
			}
		}},
		{"Session.Run (warm)", func() {
			res, err := s.Run(context.Background(), &sandbox.Command{Args: []string{"/bin/true"}})
			check(err)
			if res.ExitCode != 0 {
				check(fmt.Errorf("exit %d", res.ExitCode))
			}
		}},
		{"guard pipeline (warm)", func() {
			resp, err := gs.Run(context.Background(), &guard.Request{Argv: []string{"/bin/true"}})
			check(err)
			if resp.Result.ExitCode != 0 {
				check(fmt.Errorf("exit %d", resp.Result.ExitCode))
			}
		}},
		{"  audit fsync'd in Run", func() {
			resp, err := gsEvery.Run(context.Background(), &guard.Request{Argv: []string{"/bin/true"}})
			check(err)
			if resp.Result.ExitCode != 0 {
				check(fmt.Errorf("exit %d", resp.Result.ExitCode))
			}
		}},
		{"  audit not fsync'd", func() {
			resp, err := gsNoSync.Run(context.Background(), &guard.Request{Argv: []string{"/bin/true"}})
			check(err)
			if resp.Result.ExitCode != 0 {
				check(fmt.Errorf("exit %d", resp.Result.ExitCode))
			}
		}},
	}
	if *cordonBin != "" {
		// The command line, process start included: a cold cordon exec,
		// and cordon session exec into a session its owner keeps.
		rt, err := os.MkdirTemp(base, "rt-")
		check(err)
		env := append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
		start := exec.Command(*cordonBin, "session", "start", "-w", ws, "--no-audit")
		start.Env = env
		out, err := start.Output()
		check(err)
		id := strings.TrimSpace(string(out))
		defer func() {
			stop := exec.Command(*cordonBin, "session", "stop", id)
			stop.Env = env
			stop.Run()
		}()
		cli := func(args ...string) func() {
			return func() {
				cmd := exec.Command(*cordonBin, args...)
				cmd.Env, cmd.Dir, cmd.Stderr = env, ws, os.Stderr
				check(cmd.Run())
			}
		}
		runners = append(runners,
			runner{"cordon exec (cold)", cli("exec", "--no-audit", "--", "/bin/true")},
			runner{"cordon session exec", cli("session", "exec", id, "--", "/bin/true")})
	}
	times := make([][]time.Duration, len(runners))
	for i := 0; i < n+5; i++ {
		for r, runner := range runners {
			start := time.Now()
			runner.run()
			if i >= 5 { // warm the page cache first
				times[r] = append(times[r], time.Since(start))
			}
		}
	}
	fmt.Printf("latency of /bin/true, %d runs each, interleaved\n", n)
	fmt.Printf("%-24s %10s %10s %10s\n", "runner", "median", "p99", "vs bwrap")
	bw := pct(times[0], 50)
	for r, runner := range runners {
		m := pct(times[r], 50)
		fmt.Printf("%-24s %10s %10s %9.2fx\n", runner.name, round(m), round(pct(times[r], 99)), float64(m)/float64(bw))
	}
	fmt.Println()
}

func idleMemory(base string, n int) {
	var ss []*linux.Session
	for i := 0; i < n; i++ {
		s, err := linux.Backend{}.Start(context.Background(), newSpec(base))
		check(err)
		ss = append(ss, s)
		// One command, so that what a used session keeps is counted.
		_, err = s.Run(context.Background(), &sandbox.Command{Args: []string{"/bin/true"}})
		check(err)
	}
	// An idle init gives back what it can after two seconds.
	time.Sleep(3 * time.Second)
	var rss, anon, file, pss, threads []int64
	for _, s := range ss {
		st := procStatus(s.Pid(), "status")
		rss = append(rss, st["VmRSS"])
		anon = append(anon, st["RssAnon"])
		file = append(file, st["RssFile"]+st["RssShmem"])
		threads = append(threads, st["Threads"])
		pss = append(pss, procStatus(s.Pid(), "smaps_rollup")["Pss"])
	}
	fmt.Printf("idle sessions: %d, resident set of each init (KiB; file pages are shared between inits)\n", n)
	fmt.Printf("%-10s %8s %8s %8s\n", "", "median", "max", "sum MiB")
	for _, row := range []struct {
		name string
		v    []int64
	}{{"VmRSS", rss}, {"RssAnon", anon}, {"RssFile", file}, {"Pss", pss}} {
		fmt.Printf("%-10s %8d %8d %8.1f\n", row.name, median(row.v), maxOf(row.v), float64(sum(row.v))/1024)
	}
	fmt.Printf("threads per init: %d\n\n", median(threads))
	for _, s := range ss {
		s.Close()
	}
	if *cordonBin != "" {
		cliIdleMemory(base, min(n, 20))
	}
}

// cliIdleMemory is idleMemory for sessions of the cordon binary itself,
// kept by cordon session start: the init, and the owner process beside it.
func cliIdleMemory(base string, n int) {
	rt, err := os.MkdirTemp(base, "rt-")
	check(err)
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
	cordon := func(args ...string) string {
		cmd := exec.Command(*cordonBin, args...)
		cmd.Env = env
		out, err := cmd.Output()
		check(err)
		return strings.TrimSpace(string(out))
	}
	var ids []string
	for range n {
		ws, err := os.MkdirTemp(base, "ws-")
		check(err)
		id := cordon("session", "start", "-w", ws, "--no-audit")
		cordon("session", "exec", id, "--", "/bin/true")
		ids = append(ids, id)
	}
	time.Sleep(3 * time.Second)
	var initRSS, initPss, ownerRSS, ownerPss []int64
	var list []struct {
		Pid int `json:"pid"`
	}
	check(json.Unmarshal([]byte(cordon("session", "list", "--json")), &list))
	for _, l := range list {
		owner := l.Pid
		ownerRSS = append(ownerRSS, procStatus(owner, "status")["VmRSS"])
		ownerPss = append(ownerPss, procStatus(owner, "smaps_rollup")["Pss"])
		// The init is a child of whichever thread of the owner forked it.
		var kids []string
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", owner))
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			kids = append(kids, strings.Fields(string(b))...)
		}
		for _, k := range kids {
			pid, _ := strconv.Atoi(k)
			initRSS = append(initRSS, procStatus(pid, "status")["VmRSS"])
			initPss = append(initPss, procStatus(pid, "smaps_rollup")["Pss"])
		}
	}
	fmt.Printf("cordon session start x %d, idle (KiB)\n", n)
	fmt.Printf("%-14s %8s %8s\n", "", "median", "max")
	for _, row := range []struct {
		name string
		v    []int64
	}{{"init VmRSS", initRSS}, {"init Pss", initPss}, {"owner VmRSS", ownerRSS}, {"owner Pss", ownerPss}} {
		fmt.Printf("%-14s %8d %8d\n", row.name, median(row.v), maxOf(row.v))
	}
	fmt.Println()
	for _, id := range ids {
		cordon("session", "stop", id)
	}
}

func concurrent(base string, n, rounds, loop int) {
	var ss []*linux.Session
	for i := 0; i < n; i++ {
		s, err := linux.Backend{}.Start(context.Background(), newSpec(base))
		check(err)
		ss = append(ss, s)
	}
	// The same trivial host command with the sessions idle, for reference.
	var idle []time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		check(exec.Command("/bin/true").Run())
		idle = append(idle, time.Since(start))
		time.Sleep(10 * time.Millisecond)
	}
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do i=$((i+1)); done; echo $i", loop)
	want := strconv.Itoa(loop) + "\n"
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	probes := make(chan []time.Duration, 1)
	go func() {
		// A trivial host command, every 50 ms, while the sessions work.
		var d []time.Duration
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			start := time.Now()
			check(exec.Command("/bin/true").Run())
			d = append(d, time.Since(start))
			select {
			case <-stop:
				probes <- d
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	for _, s := range ss {
		wg.Add(1)
		go func(s *linux.Session) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				var out strings.Builder
				res, err := s.Run(context.Background(), &sandbox.Command{Args: []string{"/bin/sh", "-c", script}, Stdout: &out})
				if err != nil || res.ExitCode != 0 || out.String() != want {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "command failed: %v %+v %q\n", err, res, out.String())
					continue
				}
				ok.Add(1)
			}
		}(s)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	probe := <-probes
	for _, s := range ss {
		s.Close()
	}
	total := int64(n * rounds)
	fmt.Printf("concurrent: %d sessions x %d commands (shell loop of %d): %d/%d completed, %d failed\n",
		n, rounds, loop, ok.Load(), total, failed.Load())
	fmt.Printf("wall %s, throughput %.0f commands/s\n", round(elapsed), float64(ok.Load())/elapsed.Seconds())
	fmt.Printf("host /bin/true, sessions idle:    %d probes, median %s, max %s\n",
		len(idle), round(pct(idle, 50)), round(pct(idle, 100)))
	fmt.Printf("host /bin/true, sessions working: %d probes, median %s, p99 %s, max %s\n",
		len(probe), round(pct(probe, 50)), round(pct(probe, 99)), round(pct(probe, 100)))
}

// procStatus reads the "Key: value [kB]" lines of /proc/PID/file.
func procStatus(pid int, file string) map[string]int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
	check(err)
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if f := strings.Fields(v); len(f) > 0 {
			out[k], _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return out
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func median(v []int64) int64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func maxOf(v []int64) int64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func sum(v []int64) int64 {
	var t int64
	for _, x := range v {
		t += x
	}
	return t
}

func round(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
