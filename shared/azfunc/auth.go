package azfunc

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/driftwatch/driftwatch/shared/jwks"
)

// Authenticator decides whether a request comes from the configured
// sender. The Server calls it before it reads the body; an error wrapping
// ErrKeysUnavailable is answered 503 (the request may be genuine: Event
// Grid retries it), any other error 401. Implementations never put the
// credential in the error.
type Authenticator interface {
	Authenticate(r *http.Request) error
}

// Authentication errors. Branch with errors.Is.
var (
	// ErrUnauthenticated: the request carries no valid credential.
	ErrUnauthenticated = errors.New("request not authenticated")
	// ErrKeysUnavailable: the token's signing keys could not be fetched,
	// so a token cannot be checked right now.
	ErrKeysUnavailable = jwks.ErrUnavailable
	// ErrWeakSecret: a configured shared secret is shorter than
	// MinSecretLength.
	ErrWeakSecret = errors.New("shared secret too short")
)

// Shared-secret defaults.
const (
	// DefaultSecretParam is the query parameter carrying the secret in the
	// event subscription's endpoint URL (…/api/resource-events?code=…).
	// With authLevel anonymous the Functions host passes it through
	// untouched.
	DefaultSecretParam = "code"
	// DefaultSecretHeader is the header that may carry the secret instead
	// (an event subscription's secret delivery attribute), which keeps it
	// out of URLs.
	DefaultSecretHeader = "X-Driftwatch-Secret"
	// MinSecretLength is the shortest secret NewSharedSecret accepts.
	MinSecretLength = 16
)

// SecretOptions tune a SharedSecret. The zero value is usable.
type SecretOptions struct {
	// Param is the query parameter; empty means DefaultSecretParam.
	Param string
	// Header is the header; empty means DefaultSecretHeader.
	Header string
}

// SharedSecret authenticates a request by a secret in a query parameter
// or a header (Event Grid's "client secret as a query parameter", or a
// secret delivery attribute).
type SharedSecret struct {
	digests       [][sha256.Size]byte
	param, header string
}

// NewSharedSecret accepts requests carrying any of secrets (two during a
// rotation). Each must be at least MinSecretLength bytes.
func NewSharedSecret(secrets []string, opts *SecretOptions) (*SharedSecret, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("azfunc: no shared secret: %w", ErrWeakSecret)
	}
	s := &SharedSecret{param: DefaultSecretParam, header: DefaultSecretHeader}
	if opts != nil && opts.Param != "" {
		s.param = opts.Param
	}
	if opts != nil && opts.Header != "" {
		s.header = opts.Header
	}
	for i, sec := range secrets {
		if len(sec) < MinSecretLength {
			return nil, fmt.Errorf("azfunc: shared secret %d has %d bytes, want at least %d: %w", i, len(sec), MinSecretLength, ErrWeakSecret)
		}
		s.digests = append(s.digests, sha256.Sum256([]byte(sec)))
	}
	return s, nil
}

// Authenticate requires exactly one presented secret (in the header or
// the query parameter, not both, not repeated) equal to a configured one.
// The comparison is of SHA-256 digests in constant time, so neither the
// secret's content nor its length leaks through timing, and every
// configured secret is compared.
func (s *SharedSecret) Authenticate(r *http.Request) error {
	presented := r.Header.Values(s.header)
	if r.URL != nil {
		presented = append(presented, r.URL.Query()[s.param]...)
	}
	switch {
	case len(presented) == 0:
		return fmt.Errorf("%w: no secret in the %s parameter or the %s header", ErrUnauthenticated, s.param, s.header)
	case len(presented) > 1:
		return fmt.Errorf("%w: %d secrets presented, want one", ErrUnauthenticated, len(presented))
	}
	got := sha256.Sum256([]byte(presented[0]))
	match := 0
	for _, d := range s.digests {
		match |= subtle.ConstantTimeCompare(got[:], d[:])
	}
	if match != 1 {
		return fmt.Errorf("%w: wrong secret", ErrUnauthenticated)
	}
	return nil
}
