package gcpfunc_test

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/driftwatch/driftwatch/shared/gcpfunc"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestListenAddr(t *testing.T) {
	for _, tt := range []struct {
		port, want, err string
	}{
		{"8080", ":8080", ""},
		{" 9000 ", ":9000", ""},
		{"", "", "PORT is not set: Cloud Run sets it (set it to run the function on its own)"},
		{"http", "", `PORT: "http" is not a port number`},
		{"0", "", `PORT: "0" is not a port number`},
		{"65536", "", `PORT: "65536" is not a port number`},
	} {
		got, err := gcpfunc.ListenAddr(env(map[string]string{gcpfunc.EnvPort: tt.port}))
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("PORT=%q: %v, want %q", tt.port, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("PORT=%q: %q, %v, want %q", tt.port, got, err, tt.want)
		}
	}
}

func TestAuthFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name, aud, sa, err string
	}{
		{"ok", audience, pushSA, ""},
		{"no audience", "", pushSA, "DRIFTWATCH_PUSH_AUDIENCE is not set: the push subscription's OIDC token audience (its push endpoint URL or custom audience)"},
		{"no service account", audience, " ", "DRIFTWATCH_PUSH_SERVICE_ACCOUNT is not set: the service account the push subscription's OIDC token is issued for"},
		{"not an email", audience, "driftwatch-push", `DRIFTWATCH_PUSH_SERVICE_ACCOUNT: "driftwatch-push" is not a service account email`},
		{"two accounts", audience, pushSA + "," + otherSA, `DRIFTWATCH_PUSH_SERVICE_ACCOUNT: "` + pushSA + "," + otherSA + `" is not a service account email`},
	} {
		v, err := gcpfunc.AuthFromEnv(env(map[string]string{gcpfunc.EnvPushAudience: tt.aud, gcpfunc.EnvPushServiceAccount: tt.sa}), nil)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.err)
		case tt.err == "" && (err != nil || v == nil):
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestLinksNoOtherCloudSDK: gcpfunc goes into the GCP function only; it
// must not link the Azure or AWS SDKs (which is why it does not import
// azfunc's key set).
func TestLinksNoOtherCloudSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !strings.Contains(string(out), "github.com/golang-jwt/jwt/v5") {
		t.Fatalf("dependency listing is wrong: %v", deps)
	}
	for _, p := range deps {
		for _, forbidden := range []string{"github.com/Azure/", "github.com/AzureAD/", "github.com/aws/", "github.com/driftwatch/driftwatch/shared/az"} {
			if strings.HasPrefix(p, forbidden) {
				t.Errorf("gcpfunc links %s", p)
			}
		}
	}
}

// The certs URL override reaches a local key server: a token it signed is
// accepted. A clear-text URL off the loopback is refused at start.
func TestAuthFromEnvCertsURL(t *testing.T) {
	google := newGoogleFake(t, "k1")
	v, err := gcpfunc.AuthFromEnv(env(map[string]string{
		gcpfunc.EnvPushAudience: audience, gcpfunc.EnvPushServiceAccount: pushSA, gcpfunc.EnvGoogleCertsURL: google.url(),
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Authorization", "Bearer "+mint(t, testKeys(t)[0], "k1", nowClaims()))
	if err := v.Authenticate(req); err != nil {
		t.Errorf("a token of the local key server was refused: %v", err)
	}
	_, err = gcpfunc.AuthFromEnv(env(map[string]string{
		gcpfunc.EnvPushAudience: audience, gcpfunc.EnvPushServiceAccount: pushSA, gcpfunc.EnvGoogleCertsURL: "http://keys.example.com/certs",
	}), nil)
	if err == nil || !strings.Contains(err.Error(), gcpfunc.EnvGoogleCertsURL) {
		t.Errorf("a clear-text key server was accepted: %v", err)
	}
}

// nowClaims are claims() moved to the real clock (AuthFromEnv's verifier
// has no test clock).
func nowClaims() jwt.MapClaims {
	c := claims()
	now := time.Now()
	c["iat"], c["exp"] = now.Add(-time.Minute).Unix(), now.Add(time.Hour).Unix()
	return c
}
