package awsfed

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/internal/corpus"
)

// TestTokenFile: the file is read at every call (the platform rotates it),
// trimmed, and a missing or empty file is a clear error.
func TestTokenFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "token")
	src := TokenFile(path)

	if _, err := src.Token(ctx); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "read token file: open "+path) {
		t.Errorf("missing file: err = %v, want a read error wrapping fs.ErrNotExist", err)
	}
	for _, tc := range []struct{ content, want string }{
		{"first.jwt.token\n", "first.jwt.token"},
		{"  rotated.jwt.token \r\n", "rotated.jwt.token"},
	} {
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := src.Token(ctx)
		if err != nil || got != tc.want {
			t.Errorf("Token() = %q, %v; want %q", got, err, tc.want)
		}
	}
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(ctx); err == nil || err.Error() != "token file "+path+" is empty" {
		t.Errorf("empty file: err = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := src.Token(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
}

// TestTokenFileRefresh: a TokenFile in Config hands STS (moto) what the
// file holds at each refresh.
func TestTokenFileRefresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("projected.service-account.token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	cfg, err := Config(testOptions(TokenFile(path), rec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls := rec.assumeCalls(); len(calls) != 1 || calls[0].WebIdentityToken != "projected.service-account.token" {
		t.Errorf("STS calls = %+v, want one with the file's token", calls)
	}
}

func TestTokenClaims(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, tc := range []struct {
		name  string
		token string
		want  claims
	}{
		{name: "Entra v1", token: azureLikeToken(t), want: claims{parsed: true,
			Issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/", Audience: "api://driftwatch-aws",
			Subject: "9f4b2a1c-5d6e-4f70-8a9b-0c1d2e3f4a5b"}},
		{name: "audience list", token: testJWT(t, map[string]any{"iss": "i", "aud": []string{"a", "b"}, "sub": "s"}),
			want: claims{parsed: true, Issuer: "i", Audience: "a,b", Subject: "s"}},
		{name: "padded payload", token: "h." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + ".s",
			want: claims{parsed: true, Issuer: "x"}},
		{name: "no claims", token: "h." + enc([]byte(`{}`)) + ".s", want: claims{parsed: true}},
		{name: "numeric audience", token: "h." + enc([]byte(`{"iss":"x","aud":7}`)) + ".s", want: claims{parsed: true, Issuer: "x"}},
		{name: "numeric issuer", token: "h." + enc([]byte(`{"iss":7,"sub":"s"}`)) + ".s", want: claims{parsed: true, Subject: "s"}},
		{name: "claim names are case-sensitive", token: "h." + enc([]byte(`{"ISS":"x"}`)) + ".s", want: claims{parsed: true}},
		{name: "payload not an object", token: "h." + enc([]byte(`null`)) + ".s"},
		{name: "opaque", token: "opaque-token"},
		{name: "two parts", token: "a.b"},
		{name: "bad base64", token: "h.!!!.s"},
		{name: "not JSON", token: "h." + enc([]byte("not json")) + ".s"},
		{name: "too long", token: "h." + enc([]byte(`{"iss":"`+strings.Repeat("x", maxTokenLen)+`"}`)) + ".s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokenClaims(tc.token); got != tc.want {
				t.Errorf("tokenClaims = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzTokenClaims: no input makes the diagnostics parser panic, and what it
// reads is what the payload says. Seeds are JWTs whose payloads are the
// caller claims of the Azure corpus's Activity Log events (real Entra token
// claims: iss, aud, appid, oid, ...).
func FuzzTokenClaims(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	for _, payload := range corpusClaims(f) {
		f.Add("eyJhbGciOiJSUzI1NiJ9." + enc(payload) + ".c2ln")
	}
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		c := tokenClaims(token)
		if !c.parsed {
			if c != (claims{}) {
				t.Fatalf("unparsed token gave claims %+v", c)
			}
			return
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.Split(token, ".")[1], "="))
		if err != nil {
			t.Fatalf("parsed a token whose payload does not decode: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("parsed a payload that is not a JSON object: %v", err)
		}
		if iss, _ := m["iss"].(string); iss != c.Issuer {
			t.Fatalf("Issuer = %q, payload iss = %q", c.Issuer, iss)
		}
	})
}

// corpusClaims returns the "claims" objects of the Azure corpus's events,
// re-encoded as JSON.
func corpusClaims(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if k == "claims" {
					if b, err := json.Marshal(sub); err == nil {
						out = append(out, b)
					}
				}
				walk(sub)
			}
		case []any:
			for _, sub := range v {
				walk(sub)
			}
		}
	}
	err := filepath.WalkDir(corpus.Dir(tb, "azure"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if json.Unmarshal(b, &v) == nil { // the corpus keeps a deliberately broken sample
			walk(v)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatal("no claims found in the Azure corpus")
	}
	return out
}
