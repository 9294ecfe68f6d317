// Command cordon runs an AI agent's commands in a sandbox.
package main

import (
	"os"

	"github.com/cordon-sh/cordon/internal/cli"
	"github.com/cordon-sh/cordon/sandbox/linux"
)

func main() {
	// The same binary is the sandbox's init: Init takes over when this
	// process was started as one, before anything else runs.
	linux.Init()
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
