package azdemo

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identity is a hand-written fake of the App Service managed identity
// endpoint (IDENTITY_ENDPOINT and IDENTITY_HEADER, which the Functions
// platform sets and azidentity's managed identity credential reads): no
// emulator serves it. It checks the secret header and the api-version, and
// issues JWT-shaped tokens (unsigned: nothing local verifies Entra
// signatures) for the requested resource with the identity's ids as
// claims, valid for an hour.
type Identity struct {
	// Header is the IDENTITY_HEADER secret.
	Header string
	// Tenant, ClientID and PrincipalID are the identity's ids (the
	// tokens' tid, appid and oid/sub).
	Tenant, ClientID, PrincipalID string

	srv *httptest.Server

	mu       sync.Mutex
	resource map[string]int // tokens issued by resource
}

// NewIdentity starts the endpoint (plain HTTP on loopback, as the
// platform's own).
func NewIdentity(header, tenant, clientID, principalID string) *Identity {
	id := &Identity{Header: header, Tenant: tenant, ClientID: clientID, PrincipalID: principalID, resource: map[string]int{}}
	id.srv = httptest.NewServer(http.HandlerFunc(id.serve))
	return id
}

// Endpoint is IDENTITY_ENDPOINT.
func (id *Identity) Endpoint() string { return id.srv.URL + "/msi/token" }

// Close stops the endpoint.
func (id *Identity) Close() { id.srv.Close() }

// Issued returns how many tokens were issued for each resource.
func (id *Identity) Issued() map[string]int {
	id.mu.Lock()
	defer id.mu.Unlock()
	out := make(map[string]int, len(id.resource))
	for k, v := range id.resource {
		out[k] = v
	}
	return out
}

func (id *Identity) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet || r.URL.Path != "/msi/token":
		http.NotFound(w, r)
		return
	case r.Header.Get("X-IDENTITY-HEADER") != id.Header:
		http.Error(w, `{"error":"unauthorized","error_description":"X-IDENTITY-HEADER is missing or wrong"}`, http.StatusUnauthorized)
		return
	case q.Get("api-version") == "" || q.Get("resource") == "":
		http.Error(w, `{"error":"invalid_request","error_description":"api-version and resource are required"}`, http.StatusBadRequest)
		return
	case q.Get("client_id") != "" && q.Get("client_id") != id.ClientID:
		http.Error(w, `{"error":"invalid_request","error_description":"no identity with that client_id"}`, http.StatusBadRequest)
		return
	}
	resource := q.Get("resource")
	exp := time.Now().Add(time.Hour)
	token := unsignedJWT(map[string]any{
		"aud": resource, "iss": "https://sts.windows.net/" + id.Tenant + "/", "tid": id.Tenant,
		"sub": id.PrincipalID, "oid": id.PrincipalID, "appid": id.ClientID, "idtyp": "app",
		"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": exp.Unix(), "ver": "1.0",
	})
	id.mu.Lock()
	id.resource[resource]++
	id.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"access_token": token, "expires_on": strconv.FormatInt(exp.Unix(), 10),
		"resource": resource, "token_type": "Bearer", "client_id": id.ClientID,
	})
}

// unsignedJWT is a JWT with the "none" algorithm.
func unsignedJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	body, _ := json.Marshal(claims)
	return strings.Join([]string{enc.EncodeToString(head), enc.EncodeToString(body), ""}, ".")
}
