// Command hook measures what a Claude Code hook call costs: the whole
// process, from the start of `cordon hook claude-code` with an event on
// stdin to its exit, for the tools cordon judges. The events are
// interleaved so that each sees the same machine noise.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

func main() {
	n := flag.Int("n", 100, "runs of each event")
	cordon := flag.String("cordon", "./cordon", "cordon binary")
	flag.Parse()
	ws, err := os.MkdirTemp("/var/tmp", "cordon-bench-hook-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(ws)
	if err := os.WriteFile(filepath.Join(ws, "main.go"), []byte("package main\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	event := func(name, tool string, input map[string]any) (string, []byte) {
		b, _ := json.Marshal(map[string]any{
			"session_id": "bench", "transcript_path": "/dev/null", "cwd": ws,
			"permission_mode": "default", "hook_event_name": "PreToolUse",
			"tool_name": tool, "tool_input": input, "tool_use_id": "toolu_bench",
		})
		return name, b
	}
	type ev struct {
		name string
		in   []byte
	}
	var events []ev
	for _, e := range []struct {
		name, tool string
		input      map[string]any
	}{
		{"Bash: go test ./... && git status", "Bash", map[string]any{"command": "go test ./... && git status"}},
		{"Bash: a 40-command pipeline", "Bash", map[string]any{"command": pipeline(40)}},
		{"Read: a workspace file", "Read", map[string]any{"file_path": filepath.Join(ws, "main.go")}},
		{"Write: a workspace file", "Write", map[string]any{"file_path": filepath.Join(ws, "main.go"), "content": "x"}},
		{"WebFetch", "WebFetch", map[string]any{"url": "https://docs.example.com/", "prompt": "p"}},
	} {
		name, in := event(e.name, e.tool, e.input)
		events = append(events, ev{name, in})
	}
	// The floor: starting the same binary to print its version.
	events = append(events, ev{"cordon version (start-up only)", nil})
	times := make([][]time.Duration, len(events))
	for i := 0; i < *n+3; i++ {
		for k, e := range events {
			cmd := exec.Command(*cordon, "hook", "claude-code")
			if e.in == nil {
				cmd = exec.Command(*cordon, "version")
			}
			cmd.Stdin = bytes.NewReader(e.in)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, os.Stderr
			start := time.Now()
			if err := cmd.Run(); err != nil || out.Len() == 0 {
				fmt.Fprintf(os.Stderr, "%s: %v %q\n", e.name, err, out.String())
				os.Exit(1)
			}
			if i >= 3 {
				times[k] = append(times[k], time.Since(start))
			}
		}
	}
	fmt.Printf("%-36s %10s %10s\n", "event (PreToolUse)", "median", "p90")
	for k, e := range events {
		fmt.Printf("%-36s %10s %10s\n", e.name, round(pct(times[k], 50)), round(pct(times[k], 90)))
	}
}

func pipeline(n int) string {
	var b bytes.Buffer
	for i := range n {
		if i > 0 {
			b.WriteString(" | ")
		}
		fmt.Fprintf(&b, "grep -v pattern%d", i)
	}
	return b.String()
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

func round(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
