package gcpfunc

import (
	"time"

	"github.com/driftwatch/driftwatch/shared/jwks"
)

// Key set defaults.
const (
	// GoogleCertsURL is the JWKS document of the keys signing Google's
	// OIDC ID tokens, among them Pub/Sub push tokens.
	GoogleCertsURL = "https://www.googleapis.com/oauth2/v3/certs"
	// DefaultKeyRefresh is how long fetched keys are used before they are
	// fetched again. Google rotates its keys about every two weeks and
	// publishes the next one in advance; its Cache-Control max-age is a
	// few hours.
	DefaultKeyRefresh = 6 * time.Hour
	// DefaultKeyMinRefresh bounds how often a token signed with an
	// unknown key id makes the key set fetch again.
	DefaultKeyMinRefresh = jwks.DefaultMinRefresh
)

// KeySetOptions tune a KeySet (jwks.Options); Refresh is
// DefaultKeyRefresh when zero.
type KeySetOptions = jwks.Options

// KeySet holds Google's token signing keys (jwks.KeySet, shared with the
// Azure function's Entra verifier; it links no cloud SDK).
type KeySet = jwks.KeySet

// NewJWKS returns the key set served at jwksURL (GoogleCertsURL for
// Google's ID tokens). It must be https, or http to a loopback address (a
// local test server): keys fetched in clear text could be anyone's.
func NewJWKS(jwksURL string, opts *KeySetOptions) (*KeySet, error) {
	var o KeySetOptions
	if opts != nil {
		o = *opts
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultKeyRefresh
	}
	return jwks.New(jwksURL, &o)
}
