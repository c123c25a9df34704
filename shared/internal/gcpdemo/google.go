package gcpdemo

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The identities of the scenario's Google tokens.
const (
	// PushServiceAccount is the push subscriptions' OIDC token identity.
	PushServiceAccount = "driftwatch-push@" + Project + ".iam.gserviceaccount.com"
	// FunctionServiceAccount is the function's own, whose ID token the
	// metadata server issues for the posture table's AWS role.
	FunctionServiceAccount = "driftwatch-function@" + Project + ".iam.gserviceaccount.com"
	// functionUniqueID is its unique id (the token's sub and azp).
	functionUniqueID = "104729384756102938475"
	pushUniqueID     = "118273645091827364510"
	keyID            = "gcpdemo-1"
)

// Google stands for the two Google endpoints the function trusts and no
// emulator covers: the JWKS document of Google's token signing keys
// (/oauth2/v3/certs) and the metadata server's identity endpoint
// (/computeMetadata/v1/instance/service-accounts/default/identity). It is
// a hand-written fake serving their documented shapes: RS256 keys, tokens
// with accounts.google.com's claims.
type Google struct {
	key *rsa.PrivateKey
	srv *http.Server
	ln  net.Listener
}

// StartGoogle serves the fake on a loopback port until Close.
func StartGoogle() (*Google, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &Google{key: key, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/v3/certs", g.certs)
	mux.HandleFunc("GET /computeMetadata/v1/instance/service-accounts/default/identity", g.identity)
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go g.srv.Serve(ln)
	return g, nil
}

// Close stops the fake.
func (g *Google) Close() { g.srv.Close() }

// CertsURL is the JWKS URL (gcpfunc.EnvGoogleCertsURL).
func (g *Google) CertsURL() string { return "http://" + g.ln.Addr().String() + "/oauth2/v3/certs" }

// MetadataHost is the metadata server's host:port (GCE_METADATA_HOST).
func (g *Google) MetadataHost() string { return g.ln.Addr().String() }

// PushToken is the OIDC token a push subscription sends for audience.
func (g *Google) PushToken(audience string, now time.Time) (string, error) {
	return g.mint(audience, PushServiceAccount, pushUniqueID, now)
}

func (g *Google) mint(audience, email, uid string, now time.Time) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://accounts.google.com", "aud": audience, "azp": uid, "sub": uid,
		"email": email, "email_verified": true,
		"iat": now.Add(-time.Second).Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = keyID
	return tok.SignedString(g.key)
}

func (g *Google) certs(w http.ResponseWriter, _ *http.Request) {
	pub := g.key.PublicKey
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=21600")
	json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": keyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// identity answers as the metadata server does: the Metadata-Flavor
// header is required, the audience too; the token is the body.
func (g *Google) identity(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
		return
	}
	aud := r.URL.Query().Get("audience")
	if strings.TrimSpace(aud) == "" {
		http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
		return
	}
	tok, err := g.mint(aud, FunctionServiceAccount, functionUniqueID, time.Now())
	if err != nil {
		http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/text")
	w.Write([]byte(tok))
}
