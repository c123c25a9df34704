package gcpfunc

import (
	"fmt"
	"strconv"
	"strings"
)

// The environment the GCP function reads (its main calls ListenAddr and
// AuthFromEnv; the deployment sets the DRIFTWATCH_ ones).
const (
	// EnvPort is set by Cloud Run (and Cloud Functions 2nd gen): the
	// port to listen on.
	EnvPort = "PORT"
	// EnvPushAudience is the audience of the push subscription's OIDC
	// token: its push endpoint URL, or the custom audience it sets.
	EnvPushAudience = "DRIFTWATCH_PUSH_AUDIENCE"
	// EnvPushServiceAccount is the service account the push
	// subscription's token is issued for (its oidc_token
	// service_account_email).
	EnvPushServiceAccount = "DRIFTWATCH_PUSH_SERVICE_ACCOUNT"
	// EnvGoogleCertsURL overrides GoogleCertsURL, the keys the push
	// tokens are checked against (local runs only: a loopback key server
	// standing for Google's; NewJWKS refuses clear text elsewhere).
	EnvGoogleCertsURL = "DRIFTWATCH_GOOGLE_CERTS_URL"
)

// ListenAddr is the address the function listens on: every interface, on
// the port Cloud Run sets (it routes its own requests there).
func ListenAddr(getenv func(string) string) (string, error) {
	port := strings.TrimSpace(getenv(EnvPort))
	if port == "" {
		return "", fmt.Errorf("%s is not set: Cloud Run sets it (set it to run the function on its own)", EnvPort)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s: %q is not a port number", EnvPort, port)
	}
	return ":" + port, nil
}

// AuthFromEnv returns the verifier of the push tokens: Google's keys
// (GoogleCertsURL, fetched with opts), the audience of EnvPushAudience and
// the service account of EnvPushServiceAccount. Both are required: a
// verifier without them would accept any Google-signed token.
func AuthFromEnv(getenv func(string) string, opts *KeySetOptions) (*PushVerifier, error) {
	aud := strings.TrimSpace(getenv(EnvPushAudience))
	sa := strings.TrimSpace(getenv(EnvPushServiceAccount))
	switch {
	case aud == "":
		return nil, fmt.Errorf("%s is not set: the push subscription's OIDC token audience (its push endpoint URL or custom audience)", EnvPushAudience)
	case sa == "":
		return nil, fmt.Errorf("%s is not set: the service account the push subscription's OIDC token is issued for", EnvPushServiceAccount)
	case strings.Count(sa, "@") != 1 || strings.HasPrefix(sa, "@") || strings.HasSuffix(sa, "@") || strings.ContainsAny(sa, " \t,"):
		return nil, fmt.Errorf("%s: %q is not a service account email", EnvPushServiceAccount, sa)
	}
	certs := GoogleCertsURL
	if v := strings.TrimSpace(getenv(EnvGoogleCertsURL)); v != "" {
		certs = v
	}
	keys, err := NewJWKS(certs, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvGoogleCertsURL, err)
	}
	return NewPushVerifier(keys, aud, sa, nil)
}
