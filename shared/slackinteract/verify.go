// Package slackinteract is driftwatch's Slack interactivity endpoint: a
// net/http handler that verifies Slack's request signature before it looks
// at anything else, rejects replays, parses block_actions (the Remediate,
// Accept risk and Undo buttons of an alert) and view_submission (the
// Accept risk modal), hands each to a small Controller and answers within
// Slack's 3-second budget. FunctionURL runs the same handler on AWS Lambda
// behind a Function URL.
package slackinteract

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Slack's signing headers and the limits Verify applies.
const (
	// HeaderSignature carries "v0=" + hex(HMAC-SHA256(secret, basestring)).
	HeaderSignature = "X-Slack-Signature"
	// HeaderTimestamp carries the Unix time Slack signed the request at.
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	// Window is how far a request's timestamp may be from now, in either
	// direction (Slack's documented five minutes).
	Window = 5 * time.Minute
	// MaxBody is the largest request body Verify reads. Interactivity
	// payloads are a few kilobytes; a view submission with its blocks
	// stays well under 100 KB.
	MaxBody = 1 << 20
)

// Verification errors. Each is returned wrapped with detail; branch with
// errors.Is. None of them says anything about the secret.
var (
	// ErrNoSecret: the handler was configured without a signing secret.
	ErrNoSecret = errors.New("slack signing secret is empty")
	// ErrMissingSignature and ErrMissingTimestamp: the header is absent,
	// empty or repeated.
	ErrMissingSignature = errors.New("missing X-Slack-Signature header")
	ErrMissingTimestamp = errors.New("missing X-Slack-Request-Timestamp header")
	// ErrSignatureVersion: the signature is not a "v0=" signature.
	ErrSignatureVersion = errors.New("unsupported Slack signature version (want v0)")
	// ErrMalformedSignature: not 64 hex digits after "v0=".
	ErrMalformedSignature = errors.New("malformed Slack signature (want v0= and 64 hex digits)")
	// ErrMalformedTimestamp: not a decimal Unix time.
	ErrMalformedTimestamp = errors.New("malformed X-Slack-Request-Timestamp (want decimal Unix seconds)")
	// ErrStaleTimestamp: the timestamp is more than Window from now.
	ErrStaleTimestamp = errors.New("Slack request timestamp outside the 5-minute window")
	// ErrBodyTooLarge: the body exceeds MaxBody.
	ErrBodyTooLarge = errors.New("request body larger than 1 MiB")
	// ErrBodyRead: the body could not be read.
	ErrBodyRead = errors.New("reading request body")
	// ErrInvalidSignature: the signature does not match the body.
	ErrInvalidSignature = errors.New("Slack signature does not match the request")
)

// Sign returns Slack's v0 signature of body sent at timestamp (decimal
// Unix seconds): "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":"
// + body)). Verify checks it; tests and the demo use it to send signed
// clicks.
func Sign(secret, timestamp string, body []byte) string {
	return "v0=" + hex.EncodeToString(mac(secret, timestamp, body))
}

// SignRequest sets the signature headers of r for body, signed at now.
func SignRequest(r *http.Request, secret string, now time.Time, body []byte) {
	ts := strconv.FormatInt(now.Unix(), 10)
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderSignature, Sign(secret, ts, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("v0:"))
	h.Write([]byte(timestamp))
	h.Write([]byte(":"))
	h.Write(body)
	return h.Sum(nil)
}

// Verify authenticates a request from Slack and returns its body, read in
// full (at most MaxBody bytes). It checks, in this order and before
// anything parses the body: the secret is set; both headers are present
// once; the signature is "v0=" and 64 hex digits; the timestamp is decimal
// and within Window of now, in the past or the future; the body fits
// MaxBody; and the signature equals the HMAC-SHA256 of "v0:<timestamp>:<body>"
// under secret, compared in constant time (hmac.Equal).
//
// slack-go's SecretsVerifier does the same comparison but reads the clock
// itself and returns errors without detail; this one takes now so the
// window is testable and says precisely what failed.
//
// A valid signature can be replayed within the window; the Handler claims
// each signature once (see Replays).
func Verify(r *http.Request, secret string, now time.Time) ([]byte, error) {
	if secret == "" {
		return nil, ErrNoSecret
	}
	sigs, tss := r.Header.Values(HeaderSignature), r.Header.Values(HeaderTimestamp)
	if len(sigs) != 1 || sigs[0] == "" {
		return nil, fmt.Errorf("%w (%d values)", ErrMissingSignature, len(sigs))
	}
	if len(tss) != 1 || tss[0] == "" {
		return nil, fmt.Errorf("%w (%d values)", ErrMissingTimestamp, len(tss))
	}
	sig, ts := sigs[0], tss[0]
	if len(sig) < 3 || sig[:3] != "v0=" {
		return nil, ErrSignatureVersion
	}
	want := make([]byte, sha256.Size)
	if len(sig) != 3+2*sha256.Size {
		return nil, fmt.Errorf("%w: %d characters", ErrMalformedSignature, len(sig))
	}
	if _, err := hex.Decode(want, []byte(sig[3:])); err != nil {
		return nil, fmt.Errorf("%w: not hexadecimal", ErrMalformedSignature)
	}
	sent, err := parseUnix(ts)
	if err != nil {
		return nil, err
	}
	switch age := now.Sub(time.Unix(sent, 0)); {
	case age > Window:
		return nil, fmt.Errorf("%w: signed %s ago", ErrStaleTimestamp, age.Truncate(time.Second))
	case age < -Window:
		return nil, fmt.Errorf("%w: signed %s in the future", ErrStaleTimestamp, (-age).Truncate(time.Second))
	}
	if r.ContentLength > MaxBody {
		return nil, fmt.Errorf("%w: Content-Length %d", ErrBodyTooLarge, r.ContentLength)
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	if len(body) > MaxBody {
		return nil, ErrBodyTooLarge
	}
	if !hmac.Equal(mac(secret, ts, body), want) {
		return nil, ErrInvalidSignature
	}
	return body, nil
}

// parseUnix accepts 1 to 12 decimal digits (Unix seconds until the year
// 33658), nothing else: no sign, no spaces, no fraction.
func parseUnix(s string) (int64, error) {
	if len(s) > 12 {
		return 0, fmt.Errorf("%w: %d characters", ErrMalformedTimestamp, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrMalformedTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformedTimestamp, err)
	}
	return n, nil
}
