package mcp

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/cordon-sh/cordon/guard"
	"github.com/cordon-sh/cordon/sandbox"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkRoundTrip measures what MCP adds to a command: each iteration
// runs `true` once through guard.Run directly and once as a run_command
// call, back to back, so that both see the same machine; the overhead is
// the median of the differences. "stdio" talks to the real binary over
// its stdin and stdout, as an agent does; "memory" to a server in this
// process; "floor" to a server in this process whose sandbox returns at
// once, which leaves nothing but what MCP adds.
func BenchmarkRoundTrip(b *testing.B) {
	bin := cordonBinary(b)
	for _, transport := range []string{"stdio", "memory", "floor"} {
		b.Run(transport, func(b *testing.B) {
			e := newEnv(b)
			e.guard.Audit = nil // the binary runs with --no-audit
			if transport == "floor" {
				e.guard.Backend = instant{}
			}
			ctx := context.Background()
			var cs *sdk.ClientSession
			if transport == "stdio" {
				cmd := exec.Command(bin, "mcp", "--workspace", e.ws, "--no-audit")
				var err error
				cs, err = sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer cs.Close()
			} else {
				cs = e.connect(b, nil)
			}
			params := &sdk.CallToolParams{Name: "run_command", Arguments: map[string]any{"command": "true"}}
			var direct, viaMCP, overhead []float64
			runDirect := func() float64 {
				t0 := time.Now()
				if _, err := e.guard.Run(ctx, &guard.Request{Text: "true", Workspace: e.ws}); err != nil {
					b.Fatal(err)
				}
				return ms(time.Since(t0))
			}
			runMCP := func() float64 {
				t0 := time.Now()
				res, err := cs.CallTool(ctx, params)
				if err != nil || res.IsError {
					b.Fatalf("%v %+v", err, res)
				}
				return ms(time.Since(t0))
			}
			i := 0
			for b.Loop() {
				// The order alternates: a run is slower right after
				// another (the last sandbox is still being torn down),
				// and that must not count for either side.
				var d, m float64
				if i%2 == 0 {
					d, m = runDirect(), runMCP()
				} else {
					m, d = runMCP(), runDirect()
				}
				i++
				direct, viaMCP, overhead = append(direct, d), append(viaMCP, m), append(overhead, m-d)
			}
			b.ReportMetric(median(direct), "direct-ms")
			b.ReportMetric(median(viaMCP), "mcp-ms")
			b.ReportMetric(median(overhead), "overhead-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// instant is a sandbox that runs nothing, for the floor of the overhead.
type instant struct{}

func (instant) Run(ctx context.Context, spec *sandbox.Spec) (*sandbox.Result, error) {
	return &sandbox.Result{Reason: sandbox.ReasonExit}, nil
}
