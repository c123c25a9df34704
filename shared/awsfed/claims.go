package awsfed

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// maxTokenLen bounds what tokenClaims decodes: STS accepts tokens of at
// most 20,000 characters.
const maxTokenLen = 20000

// claims are the identity token claims an AWS trust policy is written
// against (the provider's :aud and :sub condition keys), read for the logs
// and for the message of a rejection. They are NOT verified: STS verifies
// the token; these only help a person see why it did not match.
type claims struct {
	parsed   bool
	Issuer   string
	Audience string // several audiences are joined with ","
	Subject  string
}

// tokenClaims reads the claims of a compact JWT (header.payload.signature)
// without verifying it. Anything else gives zero claims, never an error:
// diagnostics must not fail a refresh.
func tokenClaims(token string) claims {
	if len(token) > maxTokenLen {
		return claims{}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}
	}
	// A map, not a struct: claim names are case-sensitive (encoding/json
	// matches struct fields case-insensitively), and a claim of another
	// type than expected is left empty rather than failing the rest.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil || raw == nil {
		return claims{}
	}
	c := claims{parsed: true}
	json.Unmarshal(raw["iss"], &c.Issuer)
	json.Unmarshal(raw["sub"], &c.Subject)
	// aud is a string or an array of strings (RFC 7519, 4.1.3).
	var many []string
	if json.Unmarshal(raw["aud"], &c.Audience) != nil && json.Unmarshal(raw["aud"], &many) == nil {
		c.Audience = strings.Join(many, ",")
	}
	return c
}
