package audit_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cordon-sh/cordon/audit"
)

func Example() {
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "audit.jsonl")

	log, err := audit.Open(path, audit.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, cmd := range []string{"go test ./...", "rm -rf ~"} {
		rec := &audit.Record{Agent: "claude-code", Command: cmd}
		if err := log.Append(rec); err != nil {
			fmt.Println(err)
		}
		fmt.Println(rec.Seq, rec.Command)
	}
	log.Close()

	rep, err := audit.Verify(path, audit.VerifyOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("records:", rep.Records, "ok:", rep.OK())
	// Output:
	// 1 go test ./...
	// 2 rm -rf ~
	// records: 2 ok: true
}
