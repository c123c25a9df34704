package jwks

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		ok      bool
	}{
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", true},
		{"scheme in other case", []string{"bearer abc"}, "abc", true},
		{"none", nil, "", false},
		{"two", []string{"Bearer a", "Bearer b"}, "", false},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", false},
		{"empty token", []string{"Bearer "}, "", false},
		{"no scheme", []string{"abc.def.ghi"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := BearerToken(r)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("BearerToken = %q, %v; want %q, ok %v", got, err, tt.want, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "dXNlcjpwYXNz") {
				t.Errorf("the error quotes the header: %v", err)
			}
		})
	}
}

// A key set whose provider cannot be reached: a token naming a key fails
// with ErrUnavailable, one naming none fails before any fetch.
func TestKeyfunc(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ks, err := New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	kf := ks.Keyfunc(t.Context())
	if _, err := kf(&jwt.Token{Header: map[string]any{"alg": "RS256"}}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("no kid: %v, want an error before any fetch", err)
	}
	if _, err := kf(&jwt.Token{Header: map[string]any{"alg": "RS256", "kid": "k1"}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("keys unreachable: %v, want ErrUnavailable", err)
	}
	if _, err := New("http://example.com/keys", nil); err == nil {
		t.Error("New accepted a JWKS URL in clear text to a remote host")
	}
}
