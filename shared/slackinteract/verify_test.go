package slackinteract

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Slack's worked example from "Verifying requests from Slack"
// (docs.slack.dev/authentication/verifying-requests-from-slack): a slash
// command body signed with the documentation's signing secret.
const (
	docSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	docTS     = "1531420618"
	docBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

var docTime = time.Unix(1531420618, 0)

func TestSignMatchesSlackExample(t *testing.T) {
	if got := Sign(docSecret, docTS, []byte(docBody)); got != docSig {
		t.Fatalf("Sign = %s, want %s", got, docSig)
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(docBody))
	r.Header.Set(HeaderSignature, docSig)
	r.Header.Set(HeaderTimestamp, docTS)
	body, err := Verify(r, docSecret, docTime.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify(Slack's example) = %v", err)
	}
	if string(body) != docBody {
		t.Errorf("Verify returned %q", body)
	}
}

// errReader fails mid-body.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestVerify(t *testing.T) {
	type req struct {
		sig, ts []string // header values; nil leaves the header out
		body    io.Reader
		length  int64 // Content-Length; 0 means len(body) when known
	}
	doc := func() req {
		return req{sig: []string{docSig}, ts: []string{docTS}, body: strings.NewReader(docBody)}
	}
	big := bytes.Repeat([]byte("a"), MaxBody+1)
	bigTS := strconv.FormatInt(docTime.Unix(), 10)
	tests := []struct {
		name    string
		req     func() req
		secret  string
		now     time.Time
		wantErr error
		wantMsg string
	}{
		{"valid", doc, docSecret, docTime, nil, ""},
		{"valid at the past edge of the window", doc, docSecret, docTime.Add(Window), nil, ""},
		{"valid at the future edge of the window", doc, docSecret, docTime.Add(-Window), nil, ""},
		{"stale: a second too old", doc, docSecret, docTime.Add(Window + time.Second), ErrStaleTimestamp,
			"Slack request timestamp outside the 5-minute window: signed 5m1s ago"},
		{"stale: a day old", doc, docSecret, docTime.Add(24 * time.Hour), ErrStaleTimestamp,
			"Slack request timestamp outside the 5-minute window: signed 24h0m0s ago"},
		{"stale: from the future", doc, docSecret, docTime.Add(-Window - time.Second), ErrStaleTimestamp,
			"Slack request timestamp outside the 5-minute window: signed 5m1s in the future"},
		{"forged: body changed", func() req {
			r := doc()
			r.body = strings.NewReader(strings.Replace(docBody, "roadrunner", "wile.e.coyote", 1))
			return r
		}, docSecret, docTime, ErrInvalidSignature, "Slack signature does not match the request"},
		{"forged: timestamp changed", func() req {
			r := doc()
			r.ts = []string{"1531420619"}
			return r
		}, docSecret, docTime, ErrInvalidSignature, "Slack signature does not match the request"},
		{"forged: signature changed", func() req {
			r := doc()
			r.sig = []string{docSig[:len(docSig)-1] + "4"}
			return r
		}, docSecret, docTime, ErrInvalidSignature, "Slack signature does not match the request"},
		{"upper-case hex of the right signature is the same signature", func() req {
			r := doc()
			r.sig = []string{"v0=" + strings.ToUpper(docSig[3:])}
			return r
		}, docSecret, docTime, nil, ""},
		{"wrong secret", doc, "another-apps-secret", docTime, ErrInvalidSignature, "Slack signature does not match the request"},
		{"no secret configured", doc, "", docTime, ErrNoSecret, "slack signing secret is empty"},
		{"missing signature", func() req { r := doc(); r.sig = nil; return r }, docSecret, docTime, ErrMissingSignature,
			"missing X-Slack-Signature header (0 values)"},
		{"empty signature", func() req { r := doc(); r.sig = []string{""}; return r }, docSecret, docTime, ErrMissingSignature,
			"missing X-Slack-Signature header (1 values)"},
		{"two signatures", func() req { r := doc(); r.sig = []string{docSig, docSig}; return r }, docSecret, docTime, ErrMissingSignature,
			"missing X-Slack-Signature header (2 values)"},
		{"missing timestamp", func() req { r := doc(); r.ts = nil; return r }, docSecret, docTime, ErrMissingTimestamp,
			"missing X-Slack-Request-Timestamp header (0 values)"},
		{"wrong version", func() req { r := doc(); r.sig = []string{"v1=" + docSig[3:]}; return r }, docSecret, docTime, ErrSignatureVersion,
			"unsupported Slack signature version (want v0)"},
		{"bare hex", func() req { r := doc(); r.sig = []string{docSig[3:]}; return r }, docSecret, docTime, ErrSignatureVersion,
			"unsupported Slack signature version (want v0)"},
		{"short signature", func() req { r := doc(); r.sig = []string{docSig[:40]}; return r }, docSecret, docTime, ErrMalformedSignature,
			"malformed Slack signature (want v0= and 64 hex digits): 40 characters"},
		{"not hex", func() req { r := doc(); r.sig = []string{"v0=" + strings.Repeat("zz", 32)}; return r }, docSecret, docTime, ErrMalformedSignature,
			"malformed Slack signature (want v0= and 64 hex digits): not hexadecimal"},
		{"timestamp with sign", func() req { r := doc(); r.ts = []string{"+" + docTS}; return r }, docSecret, docTime, ErrMalformedTimestamp,
			"malformed X-Slack-Request-Timestamp (want decimal Unix seconds)"},
		{"timestamp in milliseconds", func() req { r := doc(); r.ts = []string{docTS + "000"}; return r }, docSecret, docTime, ErrMalformedTimestamp,
			"malformed X-Slack-Request-Timestamp (want decimal Unix seconds): 13 characters"},
		{"timestamp with fraction", func() req { r := doc(); r.ts = []string{docTS + ".5"}; return r }, docSecret, docTime, ErrMalformedTimestamp,
			"malformed X-Slack-Request-Timestamp (want decimal Unix seconds)"},
		{"timestamp too long", func() req { r := doc(); r.ts = []string{strings.Repeat("9", 20)}; return r }, docSecret, docTime, ErrMalformedTimestamp,
			"malformed X-Slack-Request-Timestamp (want decimal Unix seconds): 20 characters"},
		{"oversized body by Content-Length", func() req {
			return req{sig: []string{Sign(docSecret, bigTS, big)}, ts: []string{bigTS}, body: bytes.NewReader(big)}
		}, docSecret, docTime, ErrBodyTooLarge, "request body larger than 1 MiB: Content-Length 1048577"},
		{"oversized body of unknown length", func() req {
			return req{sig: []string{Sign(docSecret, bigTS, big)}, ts: []string{bigTS}, body: io.MultiReader(bytes.NewReader(big)), length: -1}
		}, docSecret, docTime, ErrBodyTooLarge, "request body larger than 1 MiB"},
		{"body at the limit", func() req {
			b := big[:MaxBody]
			return req{sig: []string{Sign(docSecret, bigTS, b)}, ts: []string{bigTS}, body: bytes.NewReader(b)}
		}, docSecret, docTime, nil, ""},
		{"body read fails", func() req {
			r := doc()
			r.body, r.length = errReader{}, -1
			return r
		}, docSecret, docTime, ErrBodyRead, "reading request body: connection reset by peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.req()
			r := httptest.NewRequest(http.MethodPost, "/", in.body)
			if in.length != 0 {
				r.ContentLength = in.length
			}
			for _, v := range in.sig {
				r.Header.Add(HeaderSignature, v)
			}
			for _, v := range in.ts {
				r.Header.Add(HeaderTimestamp, v)
			}
			body, err := Verify(r, tt.secret, tt.now)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want success", err)
				}
				if len(body) == 0 {
					t.Error("Verify returned no body")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("error = %q\nwant    %q", err, tt.wantMsg)
			}
			if body != nil {
				t.Error("Verify returned a body with an error")
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := formBody(b, clickPayload(b, "driftwatch_remediate"))
	ts := strconv.FormatInt(testNow.Unix(), 10)
	sig := Sign(testSecret, ts, body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set(HeaderSignature, sig)
		r.Header.Set(HeaderTimestamp, ts)
		if _, err := Verify(r, testSecret, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
