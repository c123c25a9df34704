package gcpfunc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/gcpfunc"
)

// TestVerify runs each token through PushVerifier.Verify: only a genuine
// push token passes; every other is ErrUnauthenticated, with a reason
// that never quotes the token.
func TestVerify(t *testing.T) {
	google := newGoogleFake(t, "k1")
	v := verifier(t, google)
	keys := testKeys(t)
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := claims()
		mod(c)
		return c
	}
	hs256 := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString([]byte("the-public-key-as-an-hmac-secret"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims())
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, token, reason string
	}{
		{"valid", mint(t, keys[0], "k1", claims()), ""},
		{"valid, short issuer", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["iss"] = "accounts.google.com" })), ""},
		{"valid, email in another case", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["email"] = strings.ToUpper(pushSA) })), ""},
		{"valid, expired within the skew", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-30 * time.Second).Unix() })), ""},
		{"forged: another key under a known kid", mint(t, keys[1], "k1", claims()), "verification error"},
		{"unknown kid", mint(t, keys[1], "k9", claims()), "unknown signing key id"},
		{"no kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims())
			s, _ := tok.SignedString(keys[0])
			return s
		}(), "no kid"},
		{"expired", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["exp"] = t0.Add(-2 * time.Minute).Unix() })), "token is expired"},
		{"no exp", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { delete(c, "exp") })), "exp claim is required"},
		{"issued in the future", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["iat"] = t0.Add(5 * time.Minute).Unix() })), "token used before issued"},
		{"no iat", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { delete(c, "iat") })), "no iat"},
		{"not yet valid", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["nbf"] = t0.Add(5 * time.Minute).Unix() })), "token is not valid yet"},
		{"wrong audience", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["aud"] = "https://elsewhere.example/" })), "token has invalid audience"},
		{"no audience", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { delete(c, "aud") })), "aud claim is required"},
		{"wrong issuer", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), `issuer "https://evil.example" not accepted`},
		{"wrong email", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["email"] = otherSA })), "is not the push service account"},
		{"no email", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { delete(c, "email") })), "is not the push service account"},
		{"email not verified", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { c["email_verified"] = false })), "not verified"},
		{"email_verified missing", mint(t, keys[0], "k1", with(func(c jwt.MapClaims) { delete(c, "email_verified") })), "not verified"},
		{"alg none", none(), "signing method none is invalid"},
		{"HS256", hs256(), "signing method HS256 is invalid"},
		{"garbage", "not.a.jwt", "token is malformed"},
		{"too long", strings.Repeat("a", 17<<10), "token of 17408 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if !strings.EqualFold(c.Email, pushSA) {
					t.Errorf("email %q", c.Email)
				}
				return
			}
			if !errors.Is(err, gcpfunc.ErrUnauthenticated) {
				t.Fatalf("error %v, want ErrUnauthenticated", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token[len(tt.token)-20:]) {
				t.Errorf("error quotes the token: %v", err)
			}
		})
	}
}

// TestAuthenticateHeader checks the Authorization header's shape.
func TestAuthenticateHeader(t *testing.T) {
	google := newGoogleFake(t, "k1")
	v := verifier(t, google)
	tok := goodToken(t)
	tests := []struct {
		name   string
		values []string
		ok     bool
	}{
		{"bearer", []string{"Bearer " + tok}, true},
		{"lower-case scheme", []string{"bearer " + tok}, true},
		{"none", nil, false},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, false},
		{"basic", []string{"Basic " + tok}, false},
		{"empty bearer", []string{"Bearer "}, false},
		{"no scheme", []string{tok}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header["Authorization"] = tt.values
			err := v.Authenticate(r)
			if tt.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, gcpfunc.ErrUnauthenticated) {
				t.Errorf("error %v is not ErrUnauthenticated", err)
			}
		})
	}
}

// TestKeySet: keys are fetched lazily, once, and again on an unknown kid
// at most every MinRefresh; an unreachable key server is
// ErrKeysUnavailable until keys were fetched, after which they stay in
// use.
func TestKeySet(t *testing.T) {
	google := newGoogleFake(t, "k1")
	now := t0
	keys, err := gcpfunc.NewJWKS(google.url(), &gcpfunc.KeySetOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if google.fetchCount() != 0 {
		t.Fatal("fetched before first use")
	}
	for range 3 {
		if _, err := keys.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := google.fetchCount(); n != 1 {
		t.Fatalf("%d fetches for one key, want 1", n)
	}
	// Unknown kids: no fetch within MinRefresh of the last one, then
	// one, however many tokens.
	if _, err := keys.Key(ctx, "k2"); err == nil {
		t.Fatal("unknown kid accepted")
	}
	if n := google.fetchCount(); n != 1 {
		t.Fatalf("%d fetches for an unknown kid right after a fetch, want 1", n)
	}
	now = now.Add(gcpfunc.DefaultKeyMinRefresh + time.Second)
	for range 5 {
		if _, err := keys.Key(ctx, "k2"); err == nil || errors.Is(err, gcpfunc.ErrKeysUnavailable) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := google.fetchCount(); n != 2 {
		t.Fatalf("%d fetches after unknown kids, want 2", n)
	}
	// A rollover is picked up after MinRefresh.
	google.mu.Lock()
	google.keys["k2"] = testKeys(t)[1]
	google.mu.Unlock()
	now = now.Add(gcpfunc.DefaultKeyMinRefresh + time.Second)
	if _, err := keys.Key(ctx, "k2"); err != nil {
		t.Fatalf("rolled-over key: %v", err)
	}
	// The server fails: the keys held stay in use, past Refresh too.
	google.setFailing(true)
	now = now.Add(gcpfunc.DefaultKeyRefresh + time.Second)
	if _, err := keys.Key(ctx, "k1"); err != nil {
		t.Fatalf("held key while the server fails: %v", err)
	}

	// No key ever fetched: ErrKeysUnavailable.
	down, err := gcpfunc.NewJWKS(google.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Key(ctx, "k1"); !errors.Is(err, gcpfunc.ErrKeysUnavailable) {
		t.Fatalf("server down: %v, want ErrKeysUnavailable", err)
	}
}

func TestNewJWKSURL(t *testing.T) {
	for url, ok := range map[string]bool{
		gcpfunc.GoogleCertsURL:           true,
		"http://127.0.0.1:8080/certs":    true,
		"http://localhost/certs":         true,
		"http://www.googleapis.com/x":    false,
		"https:///no-host":               false,
		"ftp://www.googleapis.com/certs": false,
	} {
		if _, err := gcpfunc.NewJWKS(url, nil); (err == nil) != ok {
			t.Errorf("NewJWKS(%q): %v, want ok=%v", url, err, ok)
		}
	}
}

func TestNewPushVerifier(t *testing.T) {
	keys, err := gcpfunc.NewJWKS(gcpfunc.GoogleCertsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name          string
		keys          *gcpfunc.KeySet
		aud, sa, want string
	}{
		{"no keys", nil, audience, pushSA, "gcpfunc: push verifier without a key set"},
		{"no audience", keys, "", pushSA, "gcpfunc: push verifier without an audience"},
		{"no service account", keys, audience, "", `gcpfunc: push verifier service account "" is not an email address`},
	} {
		if _, err := gcpfunc.NewPushVerifier(tt.keys, tt.aud, tt.sa, nil); err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
