package verify_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cordon-sh/cordon/verify"
)

func ExampleSnapshot() {
	ws, _ := os.MkdirTemp("", "workspace-")
	defer os.RemoveAll(ws)
	os.WriteFile(filepath.Join(ws, "main.go"), []byte("package main\n"), 0o644)

	s, err := verify.Snapshot(ws, verify.ChangeOptions{Skip: []string{"node_modules"}})
	if err != nil {
		panic(err)
	}

	// The command runs here; what it does, in this example:
	os.WriteFile(filepath.Join(ws, "main.go"), []byte("package main // edited\n"), 0o644)
	os.MkdirAll(filepath.Join(ws, ".github", "workflows"), 0o755)
	os.WriteFile(filepath.Join(ws, ".github", "workflows", "release.yml"), []byte("on: push\n"), 0o644)
	os.MkdirAll(filepath.Join(ws, "node_modules", "left-pad"), 0o755)

	r, err := s.Diff()
	if err != nil {
		panic(err)
	}
	for _, c := range r.Created {
		fmt.Println("created ", c.Path)
	}
	for _, c := range r.Modified {
		fmt.Println("modified", c.Path)
	}
	fmt.Println("skipped ", r.Counts.Skipped)
	for _, f := range r.Findings {
		fmt.Println(f.Severity, f.Rule, f.Path)
	}
	// Output:
	// created  .github
	// created  .github/workflows
	// created  .github/workflows/release.yml
	// modified main.go
	// skipped  2
	// high ci-workflow .github/workflows/release.yml
}
