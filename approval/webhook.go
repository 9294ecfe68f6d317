package approval

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTimeout is how long Webhook waits for an answer.
const DefaultWebhookTimeout = 30 * time.Second

// maxResponse bounds the webhook's answer; an answer is a line of JSON.
const maxResponse = 64 << 10

// Webhook asks a service over HTTPS: it POSTs the request as JSON, signed
// with Secret, and reads the answer from the response (see docs/approval.md
// for the protocol). Anything but a well-formed answer to this very
// request (another status than 200, a redirect, bad JSON, another id, no
// answer within Timeout) is a refusal.
//
// The URL must be https, except on a loopback host (localhost, 127.0.0.0/8,
// ::1), where plain http is allowed for a receiver on the same machine:
// the request carries the command and the agent's workspace, and the answer
// decides what runs, so neither may cross a network in the clear.
type Webhook struct {
	URL string
	// Secret keys the HMAC-SHA256 signature of every request.
	Secret []byte
	// Timeout bounds the whole exchange; zero means DefaultWebhookTimeout.
	Timeout time.Duration
	// Client sends the request; nil means a client with no other
	// settings. Redirects are refused whatever the client says.
	Client *http.Client
}

// webhookRequest is the JSON body cordon sends.
type webhookRequest struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	Kind      string          `json:"kind"`
	Command   string          `json:"command,omitempty"`
	Workspace string          `json:"workspace,omitempty"`
	Agent     string          `json:"agent,omitempty"`
	Decision  *webhookVerdict `json:"decision,omitempty"`
	Host      string          `json:"host,omitempty"`
	Port      int             `json:"port,omitempty"`
}

type webhookVerdict struct {
	Verdict  string `json:"verdict"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
	Commands any    `json:"commands"`
}

// webhookAnswer is the JSON body the receiver answers with.
type webhookAnswer struct {
	ID      string `json:"id"`
	Approve *bool  `json:"approve"`
	Always  bool   `json:"always"`
	By      string `json:"by"`
	Reason  string `json:"reason"`
}

// Approve sends req to the webhook and returns its answer. An error is a
// refusal: the channel failed, and the error says how.
func (w *Webhook) Approve(ctx context.Context, req *Request) (Answer, error) {
	u, err := CheckWebhookURL(w.URL)
	if err != nil {
		return Answer{}, err
	}
	if len(w.Secret) == 0 {
		return Answer{}, errors.New("webhook: no secret to sign the request with")
	}
	var idb [16]byte
	rand.Read(idb[:])
	body := webhookRequest{
		ID:        hex.EncodeToString(idb[:]),
		Time:      time.Now().UTC(),
		Kind:      req.Kind,
		Command:   req.Command,
		Workspace: req.Workspace,
		Agent:     req.Agent,
		Host:      req.Host,
		Port:      req.Port,
	}
	if body.Kind == "" {
		body.Kind = KindCommand
	}
	if d := req.Decision; d != nil {
		body.Decision = &webhookVerdict{Verdict: d.Verdict.String(), Rule: d.Rule, Reason: d.Reason, Commands: d.Commands}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return Answer{}, fmt.Errorf("webhook: encode the request: %w", err)
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(data))
	if err != nil {
		return Answer{}, fmt.Errorf("webhook: %w", err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "cordon")
	hr.Header.Set(HeaderTimestamp, ts)
	hr.Header.Set(HeaderSignature, Sign(w.Secret, ts, data))

	client := http.Client{}
	if w.Client != nil {
		client = *w.Client
	}
	// A redirect would send the signed request, with the command in it,
	// somewhere the URL does not name, and could turn an https URL into
	// a plain one: the 3xx response itself is returned, and refused below.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(hr)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return Answer{}, fmt.Errorf("webhook %s: no answer within %s", redact(u), timeout)
		}
		return Answer{}, fmt.Errorf("webhook %s: %w", redact(u), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return Answer{}, fmt.Errorf("webhook %s: answered with a redirect (%s), which is refused", redact(u), resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return Answer{}, fmt.Errorf("webhook %s: answered %s, expected 200 OK", redact(u), resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return Answer{}, fmt.Errorf("webhook %s: no answer within %s", redact(u), timeout)
		}
		return Answer{}, fmt.Errorf("webhook %s: read the answer: %w", redact(u), err)
	}
	if len(raw) > maxResponse {
		return Answer{}, fmt.Errorf("webhook %s: the answer is larger than %d bytes", redact(u), maxResponse)
	}
	var ans webhookAnswer
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&ans); err != nil {
		return Answer{}, fmt.Errorf("webhook %s: the answer is not the expected JSON: %v", redact(u), err)
	}
	if ans.ID != body.ID {
		return Answer{}, fmt.Errorf("webhook %s: the answer is for request %q, not %q", redact(u), ans.ID, body.ID)
	}
	if ans.Approve == nil {
		return Answer{}, fmt.Errorf("webhook %s: the answer has no \"approve\"", redact(u))
	}
	a := Answer{Granted: *ans.Approve, Always: *ans.Approve && ans.Always, By: ans.By, How: HowWebhook, At: time.Now().UTC(), Reason: ans.Reason}
	if a.By == "" {
		a.By = redact(u)
	}
	if a.Reason == "" {
		a.Reason = "refused by the webhook"
		if a.Granted {
			a.Reason = "approved by the webhook"
		}
	}
	return a, nil
}

// CheckWebhookURL parses a webhook URL and refuses one that would send
// requests in the clear over a network: the scheme must be https, or http
// with a loopback host.
func CheckWebhookURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("webhook URL: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("webhook URL %q: expected https://host/path", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("webhook URL %s: plain http is allowed only to a loopback address (localhost, 127.0.0.1, ::1); use https", redact(u))
		}
	default:
		return nil, fmt.Errorf("webhook URL %s: expected an https URL", redact(u))
	}
	return u, nil
}

// isLoopback reports whether host names this machine: localhost, or an
// address in 127.0.0.0/8 or ::1. Other names are not resolved: what a name
// resolves to can change between this check and the request.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactURL returns the URL s without credentials, query or fragment,
// which may carry tokens: the form a webhook's address takes in messages
// and in the audit log.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a webhook URL that does not parse)"
	}
	return redact(u)
}

func redact(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}
