package azfunc_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/azfunc"
)

func TestListenAddr(t *testing.T) {
	tests := []struct {
		port, want, wantErr string
	}{
		{"7071", ":7071", ""},
		{" 35000 ", ":35000", ""},
		{"", "", "FUNCTIONS_CUSTOMHANDLER_PORT is not set: the Functions host sets it (set it to run the handler on its own)"},
		{"http", "", `FUNCTIONS_CUSTOMHANDLER_PORT: "http" is not a port number`},
		{"0", "", `FUNCTIONS_CUSTOMHANDLER_PORT: "0" is not a port number`},
		{"65536", "", `FUNCTIONS_CUSTOMHANDLER_PORT: "65536" is not a port number`},
	}
	for _, tt := range tests {
		got, err := azfunc.ListenAddr(env(map[string]string{azfunc.EnvPort: tt.port}))
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("port %q: error %v, want %q", tt.port, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("port %q: %q, %v; want %q", tt.port, got, err, tt.want)
		}
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEntraFromEnvErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"no tenant", map[string]string{azfunc.EnvEntraAudience: webhookURI},
			"DRIFTWATCH_EVENTGRID_TENANT is not set: the Entra tenant issuing Event Grid's delivery tokens"},
		{"a tenant name", map[string]string{azfunc.EnvEntraTenant: "contoso.onmicrosoft.com", azfunc.EnvEntraAudience: webhookURI},
			`DRIFTWATCH_EVENTGRID_TENANT: "contoso.onmicrosoft.com" is not a tenant id (a GUID)`},
		{"no audience", map[string]string{azfunc.EnvEntraTenant: tenantID},
			"DRIFTWATCH_EVENTGRID_AUDIENCE is not set: the webhook application's ID URI or client id"},
		{"only separators", map[string]string{azfunc.EnvEntraTenant: tenantID, azfunc.EnvEntraAudience: " , ,"},
			"DRIFTWATCH_EVENTGRID_AUDIENCE is not set: the webhook application's ID URI or client id"},
	}
	for _, tt := range tests {
		if _, err := azfunc.EntraFromEnv(env(tt.env), nil); err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// toFake sends every request to the fake Entra, whatever its host: the
// verifier EntraFromEnv builds fetches the tenant's real metadata URL.
type toFake struct{ fake *url.URL }

func (r toFake) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.fake.Scheme, r.fake.Host
	return http.DefaultTransport.RoundTrip(req)
}

// The verifier from the environment discovers the tenant's keys from its
// metadata document and accepts Event Grid's tokens for either audience
// only: issued to Event Grid, with the subscriber role.
func TestEntraFromEnv(t *testing.T) {
	entra := newEntraFake(t, "k1")
	fake, err := url.Parse(entra.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := azfunc.EntraFromEnv(env(map[string]string{
		azfunc.EnvEntraTenant:   " " + tenantID + " ",
		azfunc.EnvEntraAudience: webhookURI + ", " + webhookApp,
	}), &azfunc.KeySetOptions{HTTPClient: &http.Client{Transport: toFake{fake}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	token := func(edit func(map[string]any)) string {
		c := claims()
		c["nbf"], c["iat"], c["exp"] = now.Add(-time.Minute).Unix(), now.Add(-time.Minute).Unix(), now.Add(time.Hour).Unix()
		c["appid"] = azfunc.EventGridAppID
		edit(c)
		return mint(t, testKeys(t)[0], "k1", c)
	}
	tests := []struct {
		name string
		tok  string
		ok   bool
	}{
		{"Event Grid, v1.0, URI audience", token(func(c map[string]any) { c["aud"] = webhookURI }), true},
		{"Event Grid, v2.0, client id audience", token(func(c map[string]any) {
			delete(c, "appid")
			c["azp"], c["aud"], c["ver"] = azfunc.EventGridAppID, webhookApp, "2.0"
			c["iss"] = "https://login.microsoftonline.com/" + tenantID + "/v2.0"
		}), true},
		{"the subscription's writer", token(func(c map[string]any) { c["appid"] = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" }), false},
		{"no client", token(func(c map[string]any) { delete(c, "appid") }), false},
		{"without the role", token(func(c map[string]any) { delete(c, "roles") }), false},
		{"another audience", token(func(c map[string]any) { c["aud"] = "api://other" }), false},
	}
	for _, tt := range tests {
		_, err := v.Verify(t.Context(), tt.tok)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && !errors.Is(err, azfunc.ErrUnauthenticated):
			t.Errorf("%s: error %v, want ErrUnauthenticated", tt.name, err)
		}
	}
	if m, j := entra.fetches(); m != 1 || j != 1 {
		t.Errorf("%d metadata and %d JWKS fetches, want one of each", m, j)
	}
}

// A shared secret replaces the Entra variables; both at once, or a weak
// secret, is refused.
func TestAuthFromEnv(t *testing.T) {
	const secret = "a-long-enough-delivery-secret"
	a, err := azfunc.AuthFromEnv(env(map[string]string{azfunc.EnvSecret: " old-but-still-long-secret , " + secret}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		code string
		ok   bool
	}{{secret, true}, {"old-but-still-long-secret", true}, {"a-long-enough-delivery-secreT", false}, {"", false}} {
		r, _ := http.NewRequest(http.MethodPost, "http://h/api/resource-events?code="+url.QueryEscape(tt.code), nil)
		if err := a.Authenticate(r); (err == nil) != tt.ok {
			t.Errorf("code %q: %v", tt.code, err)
		}
	}
	if _, err := azfunc.AuthFromEnv(env(map[string]string{azfunc.EnvSecret: secret, azfunc.EnvEntraTenant: tenantID}), nil); err == nil ||
		err.Error() != "set only one of DRIFTWATCH_EVENTGRID_SECRET and DRIFTWATCH_EVENTGRID_TENANT" {
		t.Errorf("both: %v", err)
	}
	if _, err := azfunc.AuthFromEnv(env(map[string]string{azfunc.EnvSecret: "short"}), nil); !errors.Is(err, azfunc.ErrWeakSecret) {
		t.Errorf("weak secret: %v", err)
	}
	if _, err := azfunc.AuthFromEnv(env(nil), nil); err == nil || err.Error() != "DRIFTWATCH_EVENTGRID_TENANT is not set: the Entra tenant issuing Event Grid's delivery tokens" {
		t.Errorf("neither: %v", err)
	}
}
