package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/cordon-sh/cordon/audit"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cordon-sh/cordon/mcp"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
)

// tokenEnv holds the bearer token of the HTTP transport. A token is never
// a flag: flags show in the process list.
const tokenEnv = "CORDON_MCP_TOKEN"

// minTokenLen keeps tokens out of guessing range.
const minTokenLen = 16

type mcpFlags struct {
	execFlags // workspace, policy, audit and agent flags, as cordon exec has them
	http      string
	unix      string
	tokenFile string
	noSession bool
}

func newMCP() *cobra.Command {
	f := &mcpFlags{}
	cmd := &cobra.Command{
		Use:   "mcp [flags]",
		Short: "Serve cordon's pipeline to an agent as MCP tools",
		Long: `Serve the Model Context Protocol on stdin and stdout (the default), on
streamable HTTP (--http ADDR), or on a unix socket (--unix PATH). The tools
run_command, read_file, list_directory, write_file and apply_patch go
through the policy, the sandbox, the output checks and the audit log, as
cordon exec does. When the policy asks about a command, the user is asked
through the client (MCP elicitation); a client that cannot ask gets a
refusal.

Each MCP session keeps one sandbox session for its commands: files in the
workspace and /tmp persist between them, processes do not, and a command
starts in a couple of milliseconds. The sandbox ends with the MCP session
or after the idle timeout. --no-session builds a sandbox per command.

Over HTTP, a bearer token is taken from $CORDON_MCP_TOKEN or --token-file
and required on every request. Without one, cordon listens only on a
loopback address. The unix socket is made with mode 0600.`,
		Example: `  cordon mcp --workspace ~/src/app
  CORDON_MCP_TOKEN=$(openssl rand -hex 32) cordon mcp --http 127.0.0.1:8765
  cordon mcp --unix $XDG_RUNTIME_DIR/cordon-mcp.sock`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMCP(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.workspace, "workspace", "w", ".", "the directory commands may write to and files are written in")
	fl.StringVar(&f.policyFile, "policy", "", "read this project policy instead of the workspace's .cordon.yaml")
	fl.StringVar(&f.auditLog, "audit-log", "", "append records to this log (default: $XDG_STATE_HOME/cordon/audit.jsonl)")
	fl.StringVar(&f.auditKey, "audit-key", "", "sign the log's head with this ed25519 private key")
	fl.BoolVar(&f.noAudit, "no-audit", false, "record nothing")
	fl.StringVar(&f.agent, "agent", os.Getenv("CORDON_AGENT"), "the agent's name, for the audit record (default: the name the client gives)")
	fl.StringVar(&f.http, "http", "", "serve streamable HTTP on this address (host:port) instead of stdio")
	fl.StringVar(&f.unix, "unix", "", "serve streamable HTTP on this unix socket instead of stdio")
	fl.BoolVar(&f.noSession, "no-session", false, "run every command in a sandbox of its own instead of one per MCP session")
	fl.StringVar(&f.tokenFile, "token-file", "", "read the HTTP bearer token from this file (default: $"+tokenEnv+")")
	return cmd
}

func runMCP(cmd *cobra.Command, f *mcpFlags) error {
	if f.http != "" && f.unix != "" {
		return usageErr("--http and --unix: one transport at a time")
	}
	token, err := mcpToken(f.tokenFile)
	if err != nil {
		return err
	}
	if f.http != "" && token == "" && !mcp.Loopback(f.http) {
		return usageErr("--http %s: refusing to listen beyond this machine without a token; set $%s or --token-file, or listen on 127.0.0.1", f.http, tokenEnv)
	}
	ws, err := filepath.Abs(f.workspace)
	if err != nil {
		return usageErr("--workspace: %v", err)
	}
	if st, err := os.Stat(ws); err != nil {
		return usageErr("--workspace %s: %v", f.workspace, errors.Unwrap(err))
	} else if !st.IsDir() {
		return usageErr("--workspace %s: not a directory", f.workspace)
	}
	g, closeGuard, err := f.newGuard(ws, &lockedWriter{w: cmd.ErrOrStderr()}, audit.SyncBehind)
	if err != nil {
		return err
	}
	defer closeGuard()
	srv := mcp.New(g, mcp.Options{Workspace: ws, Agent: f.agent, Version: Version, NoSessions: f.noSession})
	ctx := cmd.Context()

	if f.http == "" && f.unix == "" {
		err := srv.Run(ctx, &sdk.IOTransport{Reader: stdinCloser{cmd.InOrStdin()}, Writer: nopWriteCloser{cmd.OutOrStdout()}})
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			return &exitError{code: ExitCordon, err: fmt.Errorf("mcp: %w", err)}
		}
		return nil
	}
	var ln net.Listener
	if f.unix != "" {
		ln, err = listenUnix(f.unix)
	} else {
		ln, err = net.Listen("tcp", f.http)
	}
	if err != nil {
		return &exitError{code: ExitCordon, err: fmt.Errorf("mcp: %w", err)}
	}
	hs := &http.Server{Handler: mcp.Handler(srv, token), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(cmd.ErrOrStderr(), "cordon: serving MCP on %s (workspace %s)\n", ln.Addr(), ws)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &exitError{code: ExitCordon, err: fmt.Errorf("mcp: %w", err)}
	}
	return nil
}

// mcpToken reads the bearer token from file, else from the environment,
// which it then clears so that nothing started later inherits it.
func mcpToken(file string) (string, error) {
	token := os.Getenv(tokenEnv)
	os.Unsetenv(tokenEnv)
	given := token != ""
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErr("--token-file: %v", err)
		}
		token, given = string(b), true
	}
	token = strings.TrimSpace(token)
	if given && token == "" {
		// A token was asked for; serving without one would let in every
		// local user, with no word of it.
		return "", usageErr("the MCP token is empty")
	}
	if token != "" && len(token) < minTokenLen {
		return "", usageErr("the MCP token is %d characters; use at least %d (openssl rand -hex 32)", len(token), minTokenLen)
	}
	return token, nil
}

// listenUnix listens on a unix socket only its owner may connect to. The
// umask is narrowed around bind(2), so that the socket never exists with
// a wider mode, even for a moment; nothing else creates files while the
// command starts up.
func listenUnix(path string) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another server is listening there", path)
		}
		os.Remove(path) // left behind by a server that is gone
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	return ln, err
}

// stdinCloser and nopWriteCloser adapt the command's streams to the
// transport, which closes them when the session ends.
type stdinCloser struct{ r io.Reader }

func (s stdinCloser) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s stdinCloser) Close() error               { return nil }

type nopWriteCloser struct{ w io.Writer }

func (n nopWriteCloser) Write(p []byte) (int, error) { return n.w.Write(p) }
func (n nopWriteCloser) Close() error                { return nil }
