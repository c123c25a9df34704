package azevent

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// How a call was made (change.Actor.Via). ARM events carry no user agent:
// Via comes from the client application of the caller's token.
const (
	ViaConsole = "console"
	ViaCLI     = "cli"
	ViaSDK     = "sdk"
	ViaUnknown = "unknown"
)

// Principal types (change.Actor.Type).
const (
	TypeUser             = "User"
	TypeServicePrincipal = "ServicePrincipal"
	TypeManagedIdentity  = "ManagedIdentity"
)

// firstPartyApps are Microsoft's public client applications whose app id
// (the token's appid claim) says which tool made the call. The ids are
// Microsoft's well-known client ids: the Azure portal's is listed in
// Microsoft Learn's MFA enforcement notice (it is also the Entra admin
// center's), the CLI's and PowerShell's are the clients both tools sign in
// with. Cloud Shell runs the CLI, and Terraform and other tools using CLI
// credentials inherit its id.
var firstPartyApps = map[string]string{
	"c44b4083-3bb0-49c1-b47d-974e53cbdf3c": ViaConsole, // Azure Portal
	"04b07795-8ddb-461a-bbee-02f9e1bf7b46": ViaCLI,     // Microsoft Azure CLI
	"1950a258-227b-4e31-a9cf-717495945fc2": ViaCLI,     // Microsoft Azure PowerShell
}

// claims are the token claims an Actor is built from, under both their
// SAML-style URIs (what ARM writes for v1 tokens) and their short names.
// Every value is read with flexString: a claim of another JSON type must
// not cost the event.
type claims struct {
	UPNURI    flexString `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"`
	UPN       flexString `json:"upn"`
	Name      flexString `json:"name"`
	NameURI   flexString `json:"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"`
	OIDURI    flexString `json:"http://schemas.microsoft.com/identity/claims/objectidentifier"`
	OID       flexString `json:"oid"`
	AppID     flexString `json:"appid"`
	AZP       flexString `json:"azp"` // v2 tokens' appid
	IDType    flexString `json:"idtyp"`
	ManagedID flexString `json:"xms_mirid"` // the managed identity's ARM id
	IPAddr    flexString `json:"ipaddr"`
}

// authorization is data.authorization, for the role assignment's
// principal type.
type authorization struct {
	Evidence struct {
		PrincipalType flexString `json:"principalType"`
	} `json:"evidence"`
}

// httpRequest is data.httpRequest. azsystemevents.ResourceHTTPRequest
// stops at its first invalid member, in map order, so whether it still
// yields the address would vary from run to run.
type httpRequest struct {
	ClientIPAddress flexString `json:"clientIpAddress"`
}

// actorOf builds the Actor from the raw claims, authorization and
// httpRequest members of an event's data. Each may be absent or, in old
// samples, a placeholder string; whatever cannot be read is left empty.
func actorOf(rawClaims, rawAuthz, rawRequest json.RawMessage) change.Actor {
	var c claims
	decodeObject(rawClaims, &c)
	var authz authorization
	decodeObject(rawAuthz, &authz)
	var req httpRequest
	decodeObject(rawRequest, &req)

	upn := first(string(c.UPNURI), string(c.UPN))
	appID := strings.ToLower(first(string(c.AppID), string(c.AZP)))
	typ := principalType(&c, upn, string(authz.Evidence.PrincipalType))
	return change.Actor{
		Principal: first(upn, appID, string(c.OIDURI), string(c.OID)),
		Type:      typ,
		Name:      first(string(c.Name), upn, managedIdentityName(string(c.ManagedID))),
		SourceIP:  first(string(req.ClientIPAddress), string(c.IPAddr)),
		Via:       classifyVia(appID, typ),
	}
}

// principalType tells users, service principals and managed identities
// apart: a managed identity's token names its resource (xms_mirid), a
// user's has a UPN, and the idtyp claim and the role assignment's
// principal type decide the rest.
func principalType(c *claims, upn, evidence string) string {
	switch {
	case c.ManagedID != "":
		return TypeManagedIdentity
	case upn != "" || strings.EqualFold(string(c.IDType), "user"):
		return TypeUser
	case strings.EqualFold(string(c.IDType), "app"):
		return TypeServicePrincipal
	case strings.EqualFold(evidence, TypeUser), strings.EqualFold(evidence, TypeServicePrincipal):
		return evidence
	case (c.AppID != "" || c.AZP != "") && c.Name == "" && c.NameURI == "":
		// An app-only token has no user claims at all.
		return TypeServicePrincipal
	}
	return ""
}

// classifyVia says how a call was made from its client application: a
// first-party tool by its well-known id, otherwise an application calling
// ARM with its own identity is code ("sdk"), and a person signed in to an
// application we do not recognise is unknown.
func classifyVia(appID, typ string) string {
	if via, ok := firstPartyApps[appID]; ok {
		return via
	}
	if appID != "" && (typ == TypeServicePrincipal || typ == TypeManagedIdentity) {
		return ViaSDK
	}
	return ViaUnknown
}

// managedIdentityName is the last segment of a managed identity's ARM id:
// the user-assigned identity's name, or the resource a system-assigned
// identity belongs to.
func managedIdentityName(armID string) string {
	armID = strings.TrimRight(armID, "/")
	return armID[strings.LastIndex(armID, "/")+1:]
}

// decodeObject decodes raw into v when it is a JSON object and leaves v
// unchanged otherwise.
func decodeObject(raw json.RawMessage, v any) {
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, v) // best effort: the caller is optional information
	}
}

// flexString decodes a JSON string, or the literal text of a number or
// boolean ("iat": 1630306600); anything else decodes as "". It never fails,
// so one odd claim cannot fail the others.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
	case b[0] == '"':
		*f = flexString(strings.TrimSpace(unquote(b)))
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9') || string(b) == "true" || string(b) == "false":
		*f = flexString(b)
	}
	return nil
}

// unquote returns the value of a valid JSON string literal, or "" for
// anything else; most claims have no escapes and skip the decoder.
func unquote(b []byte) string {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return ""
	}
	if inner := b[1 : len(b)-1]; !bytes.ContainsAny(inner, `\"`) {
		return string(inner)
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return ""
	}
	return s
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
