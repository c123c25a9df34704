package gcpfunc_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// The push subscription's identity.
const (
	audience  = "https://driftwatch-abc123-ew.a.run.app/"
	pushSA    = "driftwatch-push@my-project.iam.gserviceaccount.com"
	otherSA   = "intruder@other-project.iam.gserviceaccount.com"
	googleIss = "https://accounts.google.com"
)

// t0 is the tests' clock.
var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// rsaKeys are generated once per test binary: 2048-bit generation takes
// tens of milliseconds each.
var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for range 2 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
})

func testKeys(tb testing.TB) []*rsa.PrivateKey {
	tb.Helper()
	keys, err := rsaKeys()
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// googleFake is a hand-written fake of Google's JWKS endpoint
// (oauth2/v3/certs), serving the public halves of locally generated keys.
// It counts fetches and can be made to fail.
type googleFake struct {
	srv *httptest.Server

	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey // kid -> key, as served
	failing bool
	fetches int
}

func newGoogleFake(tb testing.TB, kids ...string) *googleFake {
	tb.Helper()
	f := &googleFake{keys: map[string]*rsa.PrivateKey{}}
	for i, kid := range kids {
		f.keys[kid] = testKeys(tb)[i]
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.fetches++
		if f.failing || r.URL.Path != "/oauth2/v3/certs" {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		var keys []map[string]any
		for _, kid := range slices.Sorted(maps.Keys(f.keys)) {
			pub := &f.keys[kid].PublicKey
			keys = append(keys, map[string]any{
				"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *googleFake) url() string { return f.srv.URL + "/oauth2/v3/certs" }

func (f *googleFake) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func (f *googleFake) fetchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// verifier is a PushVerifier of the fake's keys on the tests' clock.
func verifier(tb testing.TB, f *googleFake) *gcpfunc.PushVerifier {
	tb.Helper()
	keys, err := gcpfunc.NewJWKS(f.url(), &gcpfunc.KeySetOptions{Now: clock})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := gcpfunc.NewPushVerifier(keys, audience, pushSA, &gcpfunc.VerifierOptions{Now: clock})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// claims are those of a genuine push token, as Pub/Sub issues them.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":            googleIss,
		"aud":            audience,
		"azp":            "107517467455664443765",
		"sub":            "107517467455664443765",
		"email":          pushSA,
		"email_verified": true,
		"iat":            t0.Add(-5 * time.Minute).Unix(),
		"exp":            t0.Add(55 * time.Minute).Unix(),
	}
}

// mint signs claims with key under kid (RS256).
func mint(tb testing.TB, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// goodToken is a valid token of the fake's key k1.
func goodToken(tb testing.TB) string {
	return mint(tb, testKeys(tb)[0], "k1", claims())
}

// recorder is a Processor recording the changes it sees; it fails with
// err or panics when told to.
type recorder struct {
	mu    sync.Mutex
	seen  []change.Change
	err   error
	panic bool
	out   pipeline.Outcome
}

func (p *recorder) Process(_ context.Context, c change.Change) (pipeline.Outcome, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.panic {
		panic("processor bug")
	}
	p.seen = append(p.seen, c)
	if p.err != nil {
		return pipeline.Outcome{}, p.err
	}
	out := p.out
	out.EventID = c.EventID
	return out, nil
}

func (p *recorder) changes() []change.Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func newNormalizer(tb testing.TB) *gcpevent.Normalizer {
	tb.Helper()
	n, err := gcpevent.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log records.
func (b *logBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// fixture is a Server with a recorder processor, its verifier on the fake
// Google keys, and its logs.
type fixture struct {
	srv    *gcpfunc.Server
	proc   *recorder
	google *googleFake
	logs   *logBuffer
}

func newFixture(tb testing.TB, opts *gcpfunc.Options) *fixture {
	tb.Helper()
	f := &fixture{proc: &recorder{}, google: newGoogleFake(tb, "k1"), logs: &logBuffer{}}
	var o gcpfunc.Options
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(slog.NewJSONHandler(f.logs, nil))
	srv, err := gcpfunc.New(gcpfunc.Config{Normalizer: newNormalizer(tb), Processor: f.proc, Auth: verifier(tb, f.google)}, &o)
	if err != nil {
		tb.Fatal(err)
	}
	f.srv = srv
	return f
}

// post delivers body to path with token (none when empty) and headers.
func (f *fixture) post(tb testing.TB, path, token string, body []byte, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func answerOf(tb testing.TB, rec *httptest.ResponseRecorder) gcpfunc.Answer {
	tb.Helper()
	var a gcpfunc.Answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		tb.Fatalf("answer %q (status %d): %v", rec.Body.String(), rec.Code, err)
	}
	return a
}

// sample is one corpus body.
type sample struct {
	name string
	body []byte
}

// pushSamples are the push bodies of pubsub-push-derived.jsonl: real
// LogEntries in the envelope Pub/Sub pushes.
func pushSamples(tb testing.TB) []sample {
	tb.Helper()
	path := filepath.Join(corpus.Dir(tb, "gcp"), "pubsub-push-derived.jsonl")
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 16<<20)
	for i := 1; sc.Scan(); i++ {
		var line struct {
			Push json.RawMessage `json:"push"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Push == nil {
			tb.Fatalf("%s line %d: no push (%v)", path, i, err)
		}
		out = append(out, sample{name: "pubsub-push-derived.jsonl#" + strconv.Itoa(i), body: line.Push})
	}
	if err := sc.Err(); err != nil || len(out) == 0 {
		tb.Fatalf("%s: %d samples (%v)", path, len(out), err)
	}
	return out
}

// realSamples are Google's own Pub/Sub and Eventarc bodies.
func realSamples(tb testing.TB) []sample {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpus.Dir(tb, "gcp"), "pubsub-and-eventarc-real", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Pub/Sub or Eventarc samples (%v)", err)
	}
	var out []sample
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, sample{name: filepath.Base(f), body: b})
	}
	return out
}

// processable is the first push sample that normalizes to a change, and
// that change.
func processable(tb testing.TB) (sample, change.Change) {
	tb.Helper()
	n := newNormalizer(tb)
	for _, s := range pushSamples(tb) {
		if res, err := n.Decode(s.body); err == nil && res.Err == nil {
			return s, res.Change
		}
	}
	tb.Fatal("no push sample normalizes to a change")
	return sample{}, change.Change{}
}

// structured wraps a push body in a structured-mode messagePublished
// CloudEvent, as Eventarc sends it (the shape of Google's
// examples/structured/pubsub/MessagePublishedData.json).
func structured(tb testing.TB, push []byte) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{
		"specversion":     "1.0",
		"type":            gcpevent.EventTypeMessagePublished,
		"source":          "//pubsub.googleapis.com/projects/my-project/topics/driftwatch-audit",
		"id":              "3103425958877813",
		"time":            "2021-02-05T04:06:14.109Z",
		"datacontenttype": "application/json",
		"data":            json.RawMessage(push),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// binaryHeaders are the ce-* headers of a binary-mode messagePublished
// CloudEvent.
func binaryHeaders() http.Header {
	return http.Header{
		"Ce-Id":          {"3103425958877813"},
		"Ce-Specversion": {"1.0"},
		"Ce-Type":        {gcpevent.EventTypeMessagePublished},
		"Ce-Source":      {"//pubsub.googleapis.com/projects/my-project/topics/driftwatch-audit"},
		"Ce-Time":        {"2021-02-05T04:06:14.109Z"},
	}
}

func newJSONLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
