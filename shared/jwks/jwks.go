// Package jwks is a cache of the RSA keys an OpenID provider signs its
// tokens with (Microsoft Entra for Event Grid's deliveries, Google for
// Pub/Sub push): fetched on first use from the provider's JWKS document
// (or found through its OpenID Connect metadata), held by key id,
// refreshed after a while, and fetched again, at a bounded rate, when a
// token names a key id it does not hold. It links no cloud SDK, so every
// cloud's function can verify its caller with it.
package jwks

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of Options.
const (
	// DefaultRefresh is how long fetched keys are used before they are
	// fetched again.
	DefaultRefresh = 24 * time.Hour
	// DefaultMinRefresh bounds how often a token signed with an unknown
	// key id makes the key set fetch again, so that forged key ids cannot
	// turn every request into a fetch.
	DefaultMinRefresh = time.Minute
	// maxKeyDoc bounds a fetched metadata or JWKS document.
	maxKeyDoc = 1 << 20
)

// ErrUnavailable: no keys could be fetched, so a token cannot be checked
// (the request may be genuine: answer so that the caller retries).
var ErrUnavailable = errors.New("token signing keys unavailable")

// ErrUnknownKey: the token names a key id the provider does not list.
var ErrUnknownKey = errors.New("unknown signing key id")

// Options tune a KeySet. The zero value is usable.
type Options struct {
	// HTTPClient fetches the documents; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Refresh is DefaultRefresh when zero.
	Refresh time.Duration
	// MinRefresh is DefaultMinRefresh when zero.
	MinRefresh time.Duration
	// Logger receives fetch failures; nil discards them.
	Logger *slog.Logger
}

// KeySet is an OpenID provider's RSA signing keys by key id, fetched from
// its JWKS document (directly, or through its metadata document's
// jwks_uri) on first use, cached, fetched again after Refresh, and fetched
// at once (at most every MinRefresh) when a token names a key id it does
// not know: that is how a key rollover is picked up. When a fetch fails the
// keys already held stay in use. It is safe for concurrent use; concurrent
// misses share one fetch.
type KeySet struct {
	jwksURL, metadataURL string
	client               *http.Client
	now                  func() time.Time
	refresh, minRefresh  time.Duration
	log                  *slog.Logger

	fetchMu sync.Mutex // one fetch at a time

	mu      sync.RWMutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time // last successful fetch
	tried   time.Time // last attempt
	lastErr error
}

// New returns the key set served at jwksURL (for Entra,
// https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys).
func New(jwksURL string, opts *Options) (*KeySet, error) {
	if err := checkKeyURL(jwksURL); err != nil {
		return nil, fmt.Errorf("jwks: JWKS URL: %w", err)
	}
	return newKeySet(jwksURL, "", opts), nil
}

// Discover returns the key set named by the jwks_uri of the OpenID
// metadata document at metadataURL (see EntraMetadataURL). The document is
// read at each fetch, so a moved jwks_uri is followed.
func Discover(metadataURL string, opts *Options) (*KeySet, error) {
	if err := checkKeyURL(metadataURL); err != nil {
		return nil, fmt.Errorf("jwks: OpenID metadata URL: %w", err)
	}
	return newKeySet("", metadataURL, opts), nil
}

func newKeySet(jwksURL, metadataURL string, opts *Options) *KeySet {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.MinRefresh <= 0 {
		o.MinRefresh = DefaultMinRefresh
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeySet{jwksURL: jwksURL, metadataURL: metadataURL, client: o.HTTPClient, now: o.Now,
		refresh: o.Refresh, minRefresh: o.MinRefresh, log: o.Logger}
}

// checkKeyURL accepts https URLs, and http only to a loopback address (a
// local test server): keys fetched in clear text could be anyone's.
func checkKeyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q is not https", raw)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Key returns the public key with id kid. It fetches when the keys are
// older than Refresh or kid is unknown (at most every MinRefresh). The
// error wraps ErrUnavailable when no keys could ever be fetched.
func (k *KeySet) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.RLock()
	key, ok := k.keys[kid]
	fresh := !k.fetched.IsZero() && k.now().Sub(k.fetched) < k.refresh
	k.mu.RUnlock()
	if ok && fresh {
		return key, nil
	}
	k.update(ctx)
	k.mu.RLock()
	defer k.mu.RUnlock()
	if key, ok := k.keys[kid]; ok {
		return key, nil
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, k.lastErr)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, truncate(kid, 80))
}

// update fetches the keys unless another caller did (or tried) within
// MinRefresh. Callers waiting on the lock find the result of the fetch in
// progress.
func (k *KeySet) update(ctx context.Context) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	now := k.now()
	k.mu.RLock()
	tried := k.tried
	k.mu.RUnlock()
	if !tried.IsZero() && now.Sub(tried) < k.minRefresh {
		return
	}
	keys, err := k.fetch(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil && ctx.Err() != nil {
		// The caller gave up, not the provider: let the next caller try.
		k.lastErr = err
		return
	}
	k.tried = now
	if err != nil {
		k.lastErr = err
		k.log.WarnContext(ctx, "fetching token signing keys failed", "err", err.Error(), "keys_held", len(k.keys))
		return
	}
	k.keys, k.fetched, k.lastErr = keys, now, nil
}

// fetch reads the JWKS document (through the metadata document when
// configured so).
func (k *KeySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	jwksURL := k.jwksURL
	if k.metadataURL != "" {
		var meta struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := k.getJSON(ctx, k.metadataURL, &meta); err != nil {
			return nil, fmt.Errorf("OpenID metadata: %w", err)
		}
		if err := checkKeyURL(meta.JWKSURI); err != nil {
			return nil, fmt.Errorf("OpenID metadata: jwks_uri: %w", err)
		}
		jwksURL = meta.JWKSURI
	}
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := k.getJSON(ctx, jwksURL, &doc); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	var skipped []string
	for _, j := range doc.Keys {
		pub, err := j.rsaKey()
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		keys[j.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS at %s has no usable RSA signing key (%d keys: %s)", jwksURL, len(doc.Keys), strings.Join(skipped, "; "))
	}
	return keys, nil
}

func (k *KeySet) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDoc+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxKeyDoc {
		return fmt.Errorf("GET %s: document larger than %d bytes", u, maxKeyDoc)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// jwk is the part of a JSON Web Key an RSA signature check needs.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// rsaKey accepts RSA keys for signatures (use "sig" or unset, alg RS256
// or unset) of at least 2048 bits with a sane public exponent.
func (j jwk) rsaKey() (*rsa.PublicKey, error) {
	switch {
	case j.Kid == "":
		return nil, errors.New("a key without kid")
	case j.Kty != "RSA":
		return nil, fmt.Errorf("key %q: kty %q", j.Kid, j.Kty)
	case j.Use != "" && j.Use != "sig":
		return nil, fmt.Errorf("key %q: use %q", j.Kid, j.Use)
	case j.Alg != "" && j.Alg != "RS256":
		return nil, fmt.Errorf("key %q: alg %q", j.Kid, j.Alg)
	}
	n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.N, "="))
	if err != nil {
		return nil, fmt.Errorf("key %q: modulus: %v", j.Kid, err)
	}
	e, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(j.E, "="))
	if err != nil {
		return nil, fmt.Errorf("key %q: exponent: %v", j.Kid, err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("key %q: %d-bit modulus, want at least 2048", j.Kid, pub.N.BitLen())
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, fmt.Errorf("key %q: invalid public exponent", j.Kid)
	}
	pub.E = int(exp.Int64())
	return pub, nil
}

// truncate bounds an untrusted value quoted in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// Keyfunc is the jwt.Keyfunc of tokens signed with this key set's keys:
// the token must name its key (kid), and the key is looked up (fetched if
// need be) under ctx. Its error wraps ErrUnavailable when no keys could be
// fetched.
func (k *KeySet) Keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token header has no kid")
		}
		return k.Key(ctx, kid)
	}
}

// BearerToken returns the token of a request's one Authorization header
// "Bearer <token>". Its error never quotes the header.
func BearerToken(r *http.Request) (string, error) {
	hs := r.Header.Values("Authorization")
	if len(hs) != 1 {
		return "", fmt.Errorf("%d Authorization headers, want one", len(hs))
	}
	scheme, token, ok := strings.Cut(hs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", errors.New("Authorization is not a bearer token")
	}
	return token, nil
}
