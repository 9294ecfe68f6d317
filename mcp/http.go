package mcp

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Handler serves srv over streamable HTTP. With a token, every request
// must carry it as "Authorization: Bearer TOKEN", or is answered 401; an
// empty token lets every request through, which is only safe where the
// listener itself keeps others out (a loopback address on a single-user
// machine, a unix socket of mode 0600).
func Handler(srv *sdk.Server, token string) http.Handler {
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Constant time, so that the response time does not tell how
		// much of a guess was right.
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cordon"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Loopback reports whether a listen address (host:port) accepts
// connections from this machine only. An empty host listens on every
// interface; a host name other than localhost could resolve anywhere.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
