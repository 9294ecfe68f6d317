package policy

import (
	"slices"
	"testing"
	"time"
)

// benchCommands are commands of the kind coding agents run.
var benchCommands = []string{
	`go test ./... 2>&1 | tail -50`,
	`git status && git diff --stat`,
	`npm test -- --watch=false`,
	`cd src && grep -rn TODO . | head`,
	`find . -name '*.py' -exec wc -l {} +`,
	`ls -la`,
	`cat README.md`,
	`git log --oneline -20`,
	`go build ./... && go vet ./...`,
	`python3 -m pytest tests/ -x -q`,
	`rg -n "func Analyze" --type go`,
	`sed -n '1,80p' internal/server/handler.go`,
	`mkdir -p build && cd build && cmake .. && make -j8`,
	`git add -A && git commit -m "fix: handle empty input"`,
	`docker ps --format '{{.Names}}'`,
	`curl -s http://localhost:8080/health | jq .status`,
	`for f in *.go; do gofmt -l "$f"; done`,
	`rm -rf node_modules && npm install`,
	`npx tsc --noEmit -p . 2>&1 | head -40`,
	`bash -c 'cd web && npm run build' > build.log 2>&1`,
}

// BenchmarkDecide judges the commands above with the default policy.
func BenchmarkDecide(b *testing.B) {
	p := Default()
	req := testReq
	for b.Loop() {
		for _, c := range benchCommands {
			req.Command = c
			p.Decide(req)
		}
	}
	n := float64(b.N * len(benchCommands))
	b.ReportMetric(n/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/decision")
}

// decideLatency times n decisions one by one and returns the 50th and
// 99th percentiles.
func decideLatency(n int) (p50, p99 time.Duration) {
	p := Default()
	req := testReq
	times := make([]time.Duration, n)
	for i := range times {
		req.Command = benchCommands[i%len(benchCommands)]
		start := time.Now()
		p.Decide(req)
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[n/2], times[n*99/100]
}

// BenchmarkDecideLatency reports the tail latency of single decisions;
// the budget is 200µs at the 99th percentile.
func BenchmarkDecideLatency(b *testing.B) {
	var p99 time.Duration
	for b.Loop() {
		_, p99 = decideLatency(20000)
	}
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	if p99 > 200*time.Microsecond {
		b.Errorf("p99 %v is over the 200µs budget", p99)
	}
}

// TestDecideLatency prints the latency of 20,000 decisions. It does not
// fail on a slow or busy machine; BenchmarkDecideLatency holds the budget.
func TestDecideLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	p50, p99 := decideLatency(20000)
	t.Logf("20000 decisions: p50 %v, p99 %v (budget 200µs)", p50, p99)
}
