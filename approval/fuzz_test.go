package approval

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// VerifySignature reads headers a stranger controls: it must not panic,
// and must accept nothing but the signature cordon computes.
func FuzzVerifySignature(f *testing.F) {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	f.Add(now, []byte(`{"id":"1"}`), Sign(testSecret, now, []byte(`{"id":"1"}`)))
	f.Add("-1", []byte{}, "sha256=")
	f.Add("99999999999999999999", []byte("x"), "sha256=00")
	f.Fuzz(func(t *testing.T, ts string, body []byte, header string) {
		err := VerifySignature(testSecret, ts, body, header)
		if err == nil && !strings.EqualFold(header, Sign(testSecret, ts, body)) {
			t.Errorf("verified %q over %q at %q", header, body, ts)
		}
	})
}
