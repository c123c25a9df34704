package azfunc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// Identities of the fake Entra tenant and the webhook's application.
const (
	tenantID   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	webhookApp = "0d6f1e2a-3b4c-4d5e-8f60-718293a4b5c6"
	webhookURI = "api://driftwatch-events"
	deliverer  = "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7" // the client the token is issued to
	subscriber = "AzureEventGridSecureWebhookSubscriber"
	testSecret = "s3cr3t-0f-the-event-subscription"
)

// t0 is the tests' clock.
var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// rsaKeys are generated once per test binary: 2048-bit generation takes
// tens of milliseconds each.
var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for range 3 {
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

// entraFake is a hand-written fake of Entra's OpenID Connect endpoints
// (no Entra emulator exists): the tenant's metadata document and its JWKS
// key endpoint, serving the public halves of locally generated RSA keys.
// It counts fetches, and its keys can be rotated and its answers made to
// fail.
type entraFake struct {
	srv *httptest.Server

	mu             sync.Mutex
	keys           map[string]*rsa.PrivateKey // kid -> key, as served
	failing        bool
	jwksFetches    int
	metadataFetchs int
}

func newEntraFake(tb testing.TB, kids ...string) *entraFake {
	tb.Helper()
	f := &entraFake{keys: map[string]*rsa.PrivateKey{}}
	for i, kid := range kids {
		f.keys[kid] = testKeys(tb)[i]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+tenantID+"/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.metadataFetchs++
		failing := f.failing
		f.mu.Unlock()
		if failing {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, map[string]any{
			"issuer":   "https://login.microsoftonline.com/" + tenantID + "/v2.0",
			"jwks_uri": f.srv.URL + "/" + tenantID + "/discovery/v2.0/keys",
		})
	})
	mux.HandleFunc("GET /"+tenantID+"/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.jwksFetches++
		if f.failing {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		var keys []map[string]any
		for _, kid := range slices.Sorted(maps.Keys(f.keys)) {
			keys = append(keys, publicJWK(kid, &f.keys[kid].PublicKey))
		}
		writeJSON(w, map[string]any{"keys": keys})
	})
	f.srv = httptest.NewServer(mux)
	tb.Cleanup(f.srv.Close)
	return f
}

// publicJWK renders a public key as Entra's JWKS does.
func publicJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func (f *entraFake) metadataURL() string {
	return f.srv.URL + "/" + tenantID + "/v2.0/.well-known/openid-configuration"
}

func (f *entraFake) jwksURL() string { return f.srv.URL + "/" + tenantID + "/discovery/v2.0/keys" }

// rotate serves exactly the keys named (indexes into testKeys).
func (f *entraFake) rotate(tb testing.TB, kids map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = map[string]*rsa.PrivateKey{}
	for kid, i := range kids {
		f.keys[kid] = testKeys(tb)[i]
	}
}

func (f *entraFake) setFailing(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = b
}

func (f *entraFake) fetches() (metadata, jwks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.metadataFetchs, f.jwksFetches
}

// claims are the claims of a valid Event Grid delivery token at t0.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   "https://sts.windows.net/" + tenantID + "/",
		"aud":   webhookApp,
		"iat":   t0.Add(-5 * time.Minute).Unix(),
		"nbf":   t0.Add(-5 * time.Minute).Unix(),
		"exp":   t0.Add(55 * time.Minute).Unix(),
		"appid": deliverer,
		"oid":   "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
		"roles": []string{subscriber},
		"tid":   tenantID,
		"ver":   "1.0",
	}
}

// mint signs claims with key under kid (RS256).
func mint(tb testing.TB, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newVerifier returns the verifier of the fake tenant at clock now, with
// the role required.
func newVerifier(tb testing.TB, keys *azfunc.KeySet, now func() time.Time) *azfunc.EntraVerifier {
	tb.Helper()
	v, err := azfunc.NewEntraVerifier(keys, azfunc.EntraIssuers(tenantID), []string{webhookApp, webhookURI},
		&azfunc.EntraOptions{RequiredRoles: []string{subscriber}, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is a Processor that records the changes it is given and answers
// by event id. It stands in for pipeline.Detector, whose behaviour the
// pipeline's own tests and the lead's end-to-end test cover; here only the
// HTTP layer's handling around it is under test.
type recorder struct {
	fail      map[string]error
	duplicate map[string]bool
	panics    map[string]bool
	// block makes Process wait for its context to end.
	block   bool
	outcome []pipeline.ResourceOutcome

	mu   sync.Mutex
	seen []change.Change
}

func (r *recorder) Process(ctx context.Context, c change.Change) (pipeline.Outcome, error) {
	r.mu.Lock()
	r.seen = append(r.seen, c)
	r.mu.Unlock()
	if r.block {
		<-ctx.Done()
		return pipeline.Outcome{EventID: c.EventID}, ctx.Err()
	}
	if r.panics[c.EventID] {
		panic("processor bug on " + c.EventID)
	}
	if err := r.fail[c.EventID]; err != nil {
		return pipeline.Outcome{EventID: c.EventID}, err
	}
	if r.duplicate[c.EventID] {
		return pipeline.Outcome{EventID: c.EventID, Duplicate: true}, nil
	}
	return pipeline.Outcome{EventID: c.EventID, Resources: slices.Clone(r.outcome)}, nil
}

func (r *recorder) seenIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, c := range r.seen {
		ids = append(ids, c.EventID)
	}
	slices.Sort(ids)
	return ids
}

// executor is an Executor that records the requests it is given and
// answers with fail when set. It stands in for remediation.Executor, whose
// behaviour its own tests cover.
type executor struct {
	fail error

	mu   sync.Mutex
	seen []remediation.Request
}

func (x *executor) Handle(ctx context.Context, req remediation.Request) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.seen = append(x.seen, req)
	return x.fail
}

func (x *executor) requests() []remediation.Request {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.seen)
}

func newNormalizer(tb testing.TB) *azevent.Normalizer {
	tb.Helper()
	n, err := azevent.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func secretAuth(tb testing.TB) *azfunc.SharedSecret {
	tb.Helper()
	a, err := azfunc.NewSharedSecret([]string{testSecret}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// fixture reads a test delivery of testdata.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// logTo returns a JSON logger writing to a buffer and a function decoding
// what was written, one map per line.
func logTo(t *testing.T) (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// syncBuffer is a bytes.Buffer safe for concurrent loggers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	for dec.More() {
		var l map[string]any
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("log output is not JSON lines: %v", err)
		}
		out = append(out, l)
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
