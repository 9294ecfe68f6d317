package linux_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cordon-sh/cordon/sandbox"
)

// In proxy mode the command reaches the outside only through the proxy
// ports, whose connections arrive at Network.Connect outside the sandbox;
// everything else stays unreachable.
func TestProxyMode(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	var mu sync.Mutex
	var seen []string
	connect := func(proto string, c net.Conn) {
		defer c.Close()
		// A stand-in for the egress proxy: answers any plain HTTP
		// request with what it was asked.
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		mu.Lock()
		seen = append(seen, proto+" "+req.Method+" "+req.URL.String())
		mu.Unlock()
		body := "proxied " + req.URL.Host
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
	}
	ws := workspace(t, nil)

	// curl picks the proxy up from the environment the sandbox sets.
	spec := newSpec(t, ws, "curl", "-s", "-m", "5", "http://allowed.test/x")
	spec.Network = sandbox.Network{Mode: sandbox.NetworkProxy, Connect: connect}
	o := runSpec(t, spec)
	if o.res.ExitCode != 0 || o.stdout != "proxied allowed.test" {
		t.Fatalf("through the proxy: exit %d, stdout %q, stderr %q", o.res.ExitCode, o.stdout, o.stderr)
	}
	mu.Lock()
	got := strings.Join(seen, ";")
	mu.Unlock()
	if got != "http GET http://allowed.test/x" {
		t.Errorf("the proxy saw %q", got)
	}

	// Around the proxy there is nothing: --noproxy goes nowhere, and a
	// host listener stays unreachable.
	host := listenStream(t, "tcp4", "127.0.0.1:0")
	for _, args := range [][]string{
		{"curl", "-s", "-m", "3", "--noproxy", "*", "http://" + host.addr + "/"},
		{attackBin, "tcp-connect", host.addr},
	} {
		spec := newSpec(t, ws, args...)
		spec.Network = sandbox.Network{Mode: sandbox.NetworkProxy, Connect: connect}
		o := runSpec(t, spec)
		if args[0] == "curl" && o.res.ExitCode == 0 {
			t.Errorf("curl --noproxy reached %s: %q", host.addr, o.stdout)
		}
		if args[0] == attackBin {
			expectBlocked(t, o)
		}
	}
	if n := host.count.Load(); n != 0 {
		t.Errorf("SANDBOX ESCAPE: the host listener got %d connections in proxy mode", n)
	}
}
