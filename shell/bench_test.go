package shell

import "testing"

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
	`export PATH="$HOME/go/bin:$PATH" && staticcheck ./...`,
	`npx tsc --noEmit -p . 2>&1 | head -40`,
	`bash -c 'cd web && npm run build' > build.log 2>&1`,
}

// BenchmarkAnalyze analyses the commands above; ns/command is the figure
// to compare with the policy budget of 20µs per decision.
func BenchmarkAnalyze(b *testing.B) {
	for b.Loop() {
		for _, src := range benchCommands {
			if _, err := Analyze(src); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchCommands)), "ns/command")
}

// BenchmarkAnalyzer is BenchmarkAnalyze with a reused Analyzer, as a
// policy engine keeping one per worker would use it.
func BenchmarkAnalyzer(b *testing.B) {
	z := NewAnalyzer()
	for b.Loop() {
		for _, src := range benchCommands {
			if _, err := z.Analyze(src); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchCommands)), "ns/command")
}
