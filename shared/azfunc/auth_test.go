package azfunc_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/azfunc"
)

func TestNewSharedSecret(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		wantErr error
	}{
		{"none", nil, azfunc.ErrWeakSecret},
		{"short", []string{"hunter2"}, azfunc.ErrWeakSecret},
		{"one short among two", []string{testSecret, "short"}, azfunc.ErrWeakSecret},
		{"one", []string{testSecret}, nil},
		{"two during a rotation", []string{testSecret, "the-next-secret-0123"}, nil},
	}
	for _, tt := range tests {
		_, err := azfunc.NewSharedSecret(tt.secrets, nil)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error reveals the secret: %v", tt.name, err)
		}
	}
}

func TestSharedSecretAuthenticate(t *testing.T) {
	const next = "the-next-secret-0123"
	rotating, err := azfunc.NewSharedSecret([]string{testSecret, next}, nil)
	if err != nil {
		t.Fatal(err)
	}
	custom, err := azfunc.NewSharedSecret([]string{testSecret}, &azfunc.SecretOptions{Param: "key", Header: "X-Key"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		auth   *azfunc.SharedSecret
		query  string
		header map[string][]string
		ok     bool
	}{
		{"in the query", rotating, "code=" + testSecret, nil, true},
		{"the other secret of a rotation", rotating, "code=" + next, nil, true},
		{"in the header", rotating, "", map[string][]string{azfunc.DefaultSecretHeader: {testSecret}}, true},
		{"missing", rotating, "", nil, false},
		{"empty", rotating, "code=", nil, false},
		{"wrong", rotating, "code=s3cr3t-0f-the-event-subscriptioN", nil, false},
		{"a prefix", rotating, "code=s3cr3t-0f-the-event", nil, false},
		{"longer", rotating, "code=" + testSecret + "x", nil, false},
		{"repeated", rotating, "code=" + testSecret + "&code=" + testSecret, nil, false},
		{"both places", rotating, "code=" + testSecret, map[string][]string{azfunc.DefaultSecretHeader: {testSecret}}, false},
		{"custom parameter", custom, "key=" + testSecret, nil, true},
		{"custom header", custom, "", map[string][]string{"X-Key": {testSecret}}, true},
		{"default parameter when customised", custom, "code=" + testSecret, nil, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/api/remediation?"+tt.query, nil)
		for k, vs := range tt.header {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
		err := tt.auth.Authenticate(r)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && !errors.Is(err, azfunc.ErrUnauthenticated):
			t.Errorf("%s: error = %v, want ErrUnauthenticated", tt.name, err)
		case err != nil && strings.Contains(err.Error(), "s3cr3t"):
			t.Errorf("%s: the error reveals the secret: %v", tt.name, err)
		}
	}
}

// Every way a token can be wrong is refused; valid tokens of both Entra
// token versions, for either audience, are accepted.
func TestEntraVerify(t *testing.T) {
	entra := newEntraFake(t, "k1")
	keys, err := azfunc.DiscoverJWKS(entra.metadataURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, keys, func() time.Time { return t0 })
	k1, other := testKeys(t)[0], testKeys(t)[1]
	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := claims()
		edit(c)
		return c
	}
	tests := []struct {
		name  string
		token string
		ok    bool
		// why is a fragment of the refusal, so that each case is refused
		// for its own reason.
		why string
	}{
		{"valid v1.0 token", mint(t, k1, "k1", claims()), true, ""},
		{"valid v2.0 token", mint(t, k1, "k1", with(func(c jwt.MapClaims) {
			c["iss"] = "https://login.microsoftonline.com/" + tenantID + "/v2.0"
			c["ver"] = "2.0"
		})), true, ""},
		{"audience as application ID URI", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["aud"] = webhookURI })), true, ""},
		{"audience list containing ours", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["aud"] = []string{"other", webhookApp} })), true, ""},
		{"expired within the skew", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-30 * time.Second).Unix() })), true, ""},
		{"wrong audience", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["aud"] = "https://management.core.windows.net/" })), false, "token has invalid audience"},
		{"expired", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-2 * time.Minute).Unix() })), false, "token is expired"},
		{"no expiry", mint(t, k1, "k1", with(func(c jwt.MapClaims) { delete(c, "exp") })), false, "exp claim is required"},
		{"not yet valid", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["nbf"] = t0.Add(5 * time.Minute).Unix() })), false, "token is not valid yet"},
		{"wrong issuer", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/" })), false, "issuer \"https://sts.windows.net/00000000-0000-0000-0000-000000000000/\" not accepted"},
		{"no issuer", mint(t, k1, "k1", with(func(c jwt.MapClaims) { delete(c, "iss") })), false, "issuer \"\" not accepted"},
		{"without the required role", mint(t, k1, "k1", with(func(c jwt.MapClaims) { c["roles"] = []string{"Reader"} })), false, "required roles"},
		{"bad signature: another key under the served kid", mint(t, other, "k1", claims()), false, "verification error"},
		{"tampered payload", tamper(t, mint(t, k1, "k1", claims())), false, "verification error"},
		{"unknown kid", mint(t, k1, "k9", claims()), false, "unknown signing key id \"k9\""},
		{"no kid", mint(t, k1, "", claims()), false, "no kid"},
		{"alg none", noneToken(t, claims()), false, "signing method none is invalid"},
		{"HS256 keyed with the public key", hmacToken(t, &k1.PublicKey, claims()), false, "signing method HS256 is invalid"},
		{"not a JWT", "eyJhbGciOi.not.a-token", false, "token is malformed"},
		{"oversized", strings.Repeat("a", 17<<10), false, "token of 17408 bytes"},
	}
	for _, tt := range tests {
		got, err := v.Verify(t.Context(), tt.token)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.ok && got.AppID != deliverer:
			t.Errorf("%s: claims %+v", tt.name, got)
		case !tt.ok && !errors.Is(err, azfunc.ErrUnauthenticated):
			t.Errorf("%s: error = %v, want ErrUnauthenticated", tt.name, err)
		case !tt.ok && !strings.Contains(err.Error(), tt.why):
			t.Errorf("%s: error = %v, want it to say %q", tt.name, err, tt.why)
		}
	}
}

// tamper changes one claim of a signed token without re-signing it.
func tamper(t *testing.T, token string) string {
	parts := strings.Split(token, ".")
	c := claims()
	c["roles"] = []string{subscriber, "Admin"}
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

func noneToken(t *testing.T, c jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, c)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hmacToken is the algorithm-confusion attack: HS256 with the RSA public
// key's bytes as the HMAC secret.
func hmacToken(t *testing.T, pub *rsa.PublicKey, c jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(pub.N.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEntraAuthenticateHeader(t *testing.T) {
	entra := newEntraFake(t, "k1")
	keys, err := azfunc.NewJWKS(entra.jwksURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, keys, func() time.Time { return t0 })
	token := mint(t, testKeys(t)[0], "k1", claims())
	tests := []struct {
		name    string
		headers []string
		ok      bool
	}{
		{"bearer", []string{"Bearer " + token}, true},
		{"scheme in lower case", []string{"bearer " + token}, true},
		{"missing", nil, false},
		{"twice", []string{"Bearer " + token, "Bearer " + token}, false},
		{"basic", []string{"Basic " + token}, false},
		{"no token", []string{"Bearer "}, false},
		{"token alone", []string{token}, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, azfunc.ResourceEventsPath, nil)
		for _, h := range tt.headers {
			r.Header.Add("Authorization", h)
		}
		err := v.Authenticate(r)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && !errors.Is(err, azfunc.ErrUnauthenticated):
			t.Errorf("%s: error = %v, want ErrUnauthenticated", tt.name, err)
		case err != nil && strings.Contains(err.Error(), token):
			t.Errorf("%s: the error contains the token", tt.name)
		}
	}
}

// Keys are fetched once and cached; a token signed by a new key makes the
// set fetch again (rollover); a retired key stops being accepted once the
// set has been refetched; forged key ids cannot make every request a
// fetch; after the refresh interval the keys are fetched again.
func TestKeySetCachingAndRotation(t *testing.T) {
	entra := newEntraFake(t, "k1")
	clk := &clock{t: t0}
	keys, err := azfunc.DiscoverJWKS(entra.metadataURL(), &azfunc.KeySetOptions{Now: clk.Now, MinRefresh: time.Minute, Refresh: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, keys, clk.Now)
	ks := testKeys(t)
	verify := func(key *rsa.PrivateKey, kid string) error {
		c := claims()
		c["exp"] = clk.Now().Add(time.Hour).Unix()
		_, err := v.Verify(t.Context(), mint(t, key, kid, c))
		return err
	}
	wantFetches := func(step string, metadata, jwks int) {
		t.Helper()
		if m, j := entra.fetches(); m != metadata || j != jwks {
			t.Errorf("%s: %d metadata and %d JWKS fetches, want %d and %d", step, m, j, metadata, jwks)
		}
	}

	// Concurrent first uses share one fetch.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := verify(ks[0], "k1"); err != nil {
				t.Errorf("k1: %v", err)
			}
		})
	}
	wg.Wait()
	wantFetches("first use", 1, 1)

	// Entra rolls over: k2 appears, k1 is retired. A new key id makes the
	// set fetch again once the minimum interval since the last fetch has
	// passed.
	entra.rotate(t, map[string]int{"k2": 1})
	clk.Advance(2 * time.Minute)
	if err := verify(ks[1], "k2"); err != nil {
		t.Fatalf("a token signed by the new key: %v", err)
	}
	wantFetches("rollover", 2, 2)
	if err := verify(ks[0], "k1"); !errors.Is(err, azfunc.ErrUnauthenticated) {
		t.Errorf("a token of the retired key: error = %v, want ErrUnauthenticated", err)
	}

	// Forged key ids within the minimum interval: no fetch.
	for i := range 20 {
		if err := verify(ks[1], fmt.Sprintf("forged-%d", i)); !errors.Is(err, azfunc.ErrUnauthenticated) {
			t.Fatalf("forged kid: error = %v", err)
		}
	}
	wantFetches("forged key ids", 2, 2)
	clk.Advance(2 * time.Minute)
	if err := verify(ks[1], "forged-again"); !errors.Is(err, azfunc.ErrUnauthenticated) {
		t.Fatalf("forged kid: error = %v", err)
	}
	wantFetches("a forged key id after the minimum interval", 3, 3)

	// Within the refresh interval, a known key needs no fetch; after it,
	// the keys are read again.
	clk.Advance(time.Hour)
	if err := verify(ks[1], "k2"); err != nil {
		t.Fatal(err)
	}
	wantFetches("a known key", 3, 3)
	clk.Advance(24 * time.Hour)
	if err := verify(ks[1], "k2"); err != nil {
		t.Fatal(err)
	}
	wantFetches("after the refresh interval", 4, 4)
}

// When the key endpoint fails, the keys held stay in use; when no key was
// ever fetched, the error says the keys are unavailable (not that the
// token is bad), and a later attempt after the minimum interval succeeds.
func TestKeySetUnavailable(t *testing.T) {
	entra := newEntraFake(t, "k1")
	clk := &clock{t: t0}
	keys, err := azfunc.NewJWKS(entra.jwksURL(), &azfunc.KeySetOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, keys, clk.Now)
	token := func() string {
		c := claims()
		c["exp"] = clk.Now().Add(time.Hour).Unix()
		return mint(t, testKeys(t)[0], "k1", c)
	}

	entra.setFailing(true)
	if _, err := v.Verify(t.Context(), token()); !errors.Is(err, azfunc.ErrKeysUnavailable) || errors.Is(err, azfunc.ErrUnauthenticated) {
		t.Fatalf("no keys ever fetched: error = %v, want ErrKeysUnavailable only", err)
	}
	entra.setFailing(false)
	if _, err := v.Verify(t.Context(), token()); !errors.Is(err, azfunc.ErrKeysUnavailable) {
		t.Errorf("within the minimum interval of the failure: error = %v, want ErrKeysUnavailable", err)
	}
	clk.Advance(2 * time.Minute)
	if _, err := v.Verify(t.Context(), token()); err != nil {
		t.Fatalf("after the endpoint recovered: %v", err)
	}

	// The endpoint fails again past the refresh interval: the held keys
	// still verify.
	entra.setFailing(true)
	clk.Advance(25 * time.Hour)
	if _, err := v.Verify(t.Context(), token()); err != nil {
		t.Errorf("stale keys while the endpoint fails: %v", err)
	}
}

func TestKeySetURLs(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://login.microsoftonline.com/" + tenantID + "/discovery/v2.0/keys", true},
		{"http://127.0.0.1:8080/keys", true},
		{"http://localhost/keys", true},
		{"http://[::1]:9/keys", true},
		{"http://login.microsoftonline.com/keys", false},
		{"ftp://example.com/keys", false},
		{"/keys", false},
		{"https://", false},
	}
	for _, tt := range tests {
		_, err1 := azfunc.NewJWKS(tt.url, nil)
		_, err2 := azfunc.DiscoverJWKS(tt.url, nil)
		if (err1 == nil) != tt.ok || (err2 == nil) != tt.ok {
			t.Errorf("%s: errors %v, %v; want ok=%v", tt.url, err1, err2, tt.ok)
		}
	}
}

// Only RSA signing keys of at least 2048 bits are used; a JWKS with none
// is an unavailable key set.
func TestKeySetSkipsUnusableKeys(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := publicJWK("good", &testKeys(t)[0].PublicKey)
	docs := map[string][]map[string]any{
		"only unusable keys": {
			publicJWK("weak", &weak.PublicKey),
			{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
			withField(good, "use", "enc", "enc"),
			withField(good, "alg", "RS512", "rs512"),
			withField(good, "e", "AQ", "e1"),
			withField(good, "n", "!!", "badn"),
			withField(good, "kid", "", ""),
		},
		"one usable key among them": {publicJWK("weak", &weak.PublicKey), good},
	}
	for name, doc := range docs {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, map[string]any{"keys": doc})
		}))
		keys, err := azfunc.NewJWKS(srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		v := newVerifier(t, keys, func() time.Time { return t0 })
		for _, kid := range []string{"weak", "ec", "enc", "rs512", "e1", "badn"} {
			if _, err := v.Verify(t.Context(), mint(t, weak, kid, claims())); err == nil {
				t.Errorf("%s: a token under unusable key %s was accepted", name, kid)
			}
		}
		_, err = v.Verify(t.Context(), mint(t, testKeys(t)[0], "good", claims()))
		switch name {
		case "only unusable keys":
			if !errors.Is(err, azfunc.ErrKeysUnavailable) {
				t.Errorf("%s: error = %v, want ErrKeysUnavailable", name, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: the usable key: %v", name, err)
			}
		}
		srv.Close()
	}
}

// withField copies a JWK with one field changed and a new kid.
func withField(k map[string]any, field, value, kid string) map[string]any {
	out := map[string]any{}
	for f, v := range k {
		out[f] = v
	}
	out[field] = value
	if field != "kid" {
		out["kid"] = kid
	}
	return out
}

func TestNewEntraVerifierRequiresConfiguration(t *testing.T) {
	keys, err := azfunc.NewJWKS("https://login.microsoftonline.com/"+tenantID+"/discovery/v2.0/keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string]struct {
		keys       *azfunc.KeySet
		iss, audit []string
	}{
		"no key set":     {nil, azfunc.EntraIssuers(tenantID), []string{webhookApp}},
		"no issuers":     {keys, nil, []string{webhookApp}},
		"empty issuer":   {keys, []string{""}, []string{webhookApp}},
		"no audiences":   {keys, azfunc.EntraIssuers(tenantID), nil},
		"empty audience": {keys, azfunc.EntraIssuers(tenantID), []string{""}},
	} {
		if _, err := azfunc.NewEntraVerifier(args.keys, args.iss, args.audit, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestEntraURLs(t *testing.T) {
	if got, want := azfunc.EntraIssuers(tenantID), []string{"https://sts.windows.net/" + tenantID + "/", "https://login.microsoftonline.com/" + tenantID + "/v2.0"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("EntraIssuers = %v, want %v", got, want)
	}
	if got, want := azfunc.EntraMetadataURL(tenantID), "https://login.microsoftonline.com/"+tenantID+"/v2.0/.well-known/openid-configuration"; got != want {
		t.Errorf("EntraMetadataURL = %s, want %s", got, want)
	}
}
