package approval

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	HeaderTimestamp = "X-Cordon-Timestamp" // unix seconds when the request was signed
	HeaderSignature = "X-Cordon-Signature" // "sha256=" and the hex HMAC-SHA256
)

// MaxClockSkew is how far a request's timestamp may be from the
// receiver's clock. It bounds how long a captured request can be replayed.
const MaxClockSkew = 5 * time.Minute

// Sign returns the X-Cordon-Signature value for body sent at timestamp
// (unix seconds, as in X-Cordon-Timestamp): "sha256=" and the hex
// HMAC-SHA256, keyed with secret, of "<timestamp>.<body>".
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a webhook request as a receiver gets it: the
// X-Cordon-Timestamp value, the raw body, and the X-Cordon-Signature
// value. It fails when the signature is not that of secret over
// "<timestamp>.<body>", or when the timestamp is more than MaxClockSkew
// from now. The timestamp is covered by the signature, so it cannot be
// moved forward to replay an old request later.
func VerifySignature(secret []byte, timestamp string, body []byte, header string) error {
	if len(secret) == 0 {
		return errors.New("no secret to verify with")
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: expected unix seconds", HeaderTimestamp, timestamp)
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("%s: expected sha256=<hex>", HeaderSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%s: expected sha256=<hex>", HeaderSignature)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(Sign(secret, timestamp, body), "sha256="))
	// Constant time, so that the signature cannot be guessed a byte at a
	// time from response times.
	if !hmac.Equal(got, want) {
		return errors.New("signature does not match")
	}
	// The age is checked after the signature, so that a forged request
	// learns nothing about the receiver's clock.
	skew := time.Since(time.Unix(ts, 0))
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		return fmt.Errorf("timestamp is %s from now, more than %s", skew.Round(time.Second), MaxClockSkew)
	}
	return nil
}
