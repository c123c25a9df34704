package azfunc

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The environment the custom handler reads (functions/azure's main calls
// ListenAddr and EntraFromEnv; infra/azure sets the DRIFTWATCH_ ones).
const (
	// EnvPort is set by the Functions host: the port it forwards
	// requests to.
	EnvPort = "FUNCTIONS_CUSTOMHANDLER_PORT"
	// EnvEntraTenant is the Entra tenant (GUID) issuing the delivery
	// tokens.
	EnvEntraTenant = "DRIFTWATCH_EVENTGRID_TENANT"
	// EnvEntraAudience is the webhook application's application ID URI
	// or client id, as the event subscriptions name it; several,
	// comma-separated, are accepted (a v2.0 token's aud is always the
	// client id).
	EnvEntraAudience = "DRIFTWATCH_EVENTGRID_AUDIENCE"
	// EnvSecret, instead of the Entra variables, authenticates deliveries
	// by a shared secret (Event Grid's "code" query parameter on the
	// webhook URL); two, comma-separated, while rotating. Entra tokens are
	// the default and what infra/azure deploys; the secret is for hosts
	// without an Entra application and for local runs.
	EnvSecret = "DRIFTWATCH_EVENTGRID_SECRET"
)

// AuthFromEnv returns the authenticator of both routes: a shared secret
// when EnvSecret is set, otherwise Event Grid's Entra token
// (EntraFromEnv). Setting both is an error: one of them would be silently
// ignored.
func AuthFromEnv(getenv func(string) string, opts *KeySetOptions) (Authenticator, error) {
	secret := strings.TrimSpace(getenv(EnvSecret))
	if secret == "" {
		return EntraFromEnv(getenv, opts)
	}
	if strings.TrimSpace(getenv(EnvEntraTenant)) != "" {
		return nil, fmt.Errorf("set only one of %s and %s", EnvSecret, EnvEntraTenant)
	}
	var secrets []string
	for _, s := range strings.Split(secret, ",") {
		if s = strings.TrimSpace(s); s != "" {
			secrets = append(secrets, s)
		}
	}
	a, err := NewSharedSecret(secrets, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvSecret, err)
	}
	return a, nil
}

// Event Grid's identity in its Entra-authenticated deliveries (public
// cloud), as Microsoft's set-up scripts for secure webhook delivery name
// them.
const (
	// EventGridAppID is the "Azure Event Grid" first-party application:
	// the client (appid, azp) of the delivery tokens.
	EventGridAppID = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
	// EventGridSubscriberRole is the application role Event Grid's
	// service principal holds on the webhook's application.
	EventGridSubscriberRole = "AzureEventGridSecureWebhookSubscriber"
)

// ListenAddr is the address the handler listens on: every interface, on
// the port the Functions host forwards to (as Microsoft's custom handler
// samples do; the port is not reachable from outside the host's sandbox,
// and every request is authenticated anyway).
func ListenAddr(getenv func(string) string) (string, error) {
	port := strings.TrimSpace(getenv(EnvPort))
	if port == "" {
		return "", fmt.Errorf("%s is not set: the Functions host sets it (set it to run the handler on its own)", EnvPort)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s: %q is not a port number", EnvPort, port)
	}
	return ":" + port, nil
}

// guidRE matches a tenant id.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// EntraFromEnv returns the verifier of the delivery tokens of both routes:
// issued by the tenant of EnvEntraTenant (v1.0 or v2.0, keys discovered
// from its metadata document), for an audience of EnvEntraAudience, to
// Event Grid (EventGridAppID) holding EventGridSubscriberRole. The
// subscriber role alone would also admit the event subscription's writer,
// who must hold it too; the client check leaves Event Grid only.
func EntraFromEnv(getenv func(string) string, opts *KeySetOptions) (*EntraVerifier, error) {
	tenant := strings.TrimSpace(getenv(EnvEntraTenant))
	switch {
	case tenant == "":
		return nil, fmt.Errorf("%s is not set: the Entra tenant issuing Event Grid's delivery tokens", EnvEntraTenant)
	case !guidRE.MatchString(tenant):
		return nil, fmt.Errorf("%s: %q is not a tenant id (a GUID)", EnvEntraTenant, tenant)
	}
	var audiences []string
	for _, a := range strings.Split(getenv(EnvEntraAudience), ",") {
		if a = strings.TrimSpace(a); a != "" {
			audiences = append(audiences, a)
		}
	}
	if len(audiences) == 0 {
		return nil, fmt.Errorf("%s is not set: the webhook application's ID URI or client id", EnvEntraAudience)
	}
	tenant = strings.ToLower(tenant)
	keys, err := DiscoverJWKS(EntraMetadataURL(tenant), opts)
	if err != nil {
		return nil, err
	}
	return NewEntraVerifier(keys, EntraIssuers(tenant), audiences, &EntraOptions{
		RequiredRoles:  []string{EventGridSubscriberRole},
		AllowedClients: []string{EventGridAppID},
	})
}
