package gcpevent

import (
	"encoding/json"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// How a call was made (change.Actor.Via): the same values as awsevent's.
const (
	ViaConsole   = "console"
	ViaTerraform = "terraform"
	ViaCLI       = "cli"
	ViaSDK       = "sdk"
	ViaService   = "service"
	ViaUnknown   = "unknown"
)

// Principal types (change.Actor.Type).
const (
	TypeUser           = "User"
	TypeServiceAccount = "ServiceAccount"
	// TypeServiceAgent is a Google-managed service account acting for a
	// Google service (…@system.gserviceaccount.com, service-…@gcp-sa-…).
	TypeServiceAgent = "ServiceAgent"
)

// authenticationInfo is AuthenticationInfo's part the actor needs.
type authenticationInfo struct {
	PrincipalEmail   string `json:"principalEmail"`
	PrincipalSubject string `json:"principalSubject"`
	// The chain of principals a service account's caller went through
	// when it impersonated the account; the first is the original caller.
	ServiceAccountDelegationInfo []struct {
		FirstPartyPrincipal *struct {
			PrincipalEmail string `json:"principalEmail"`
		} `json:"firstPartyPrincipal"`
		PrincipalSubject string `json:"principalSubject"`
	} `json:"serviceAccountDelegationInfo"`
}

type requestMetadata struct {
	CallerIP                string `json:"callerIp"`
	CallerSuppliedUserAgent string `json:"callerSuppliedUserAgent"`
}

// actorOf builds the Actor from an AuditLog's raw authenticationInfo and
// requestMetadata. Either may be absent or odd (hand-edited samples); what
// cannot be read is left empty.
//
// Principal is the identity the call was authorized as (principalEmail,
// else principalSubject). When that identity is a service account a caller
// impersonated, SessionIssuer is the original caller, the first principal
// of serviceAccountDelegationInfo: the person behind the change.
func actorOf(rawAuth, rawMeta json.RawMessage) change.Actor {
	var auth authenticationInfo
	decodeObject(rawAuth, &auth)
	var meta requestMetadata
	decodeObject(rawMeta, &meta)

	principal := first(auth.PrincipalEmail, strings.TrimSpace(auth.PrincipalSubject))
	var issuer string
	for _, d := range auth.ServiceAccountDelegationInfo {
		if d.FirstPartyPrincipal != nil {
			issuer = first(d.FirstPartyPrincipal.PrincipalEmail, d.PrincipalSubject)
		} else {
			issuer = d.PrincipalSubject
		}
		if issuer != "" {
			break
		}
	}
	typ := principalType(auth.PrincipalEmail, auth.PrincipalSubject)
	ip := meta.CallerIP
	if ip == "private" || ip == "gce-internal-ip" {
		// Cloud Audit Logs' placeholders for an internal caller.
		ip = ""
	}
	return change.Actor{
		Principal:     principal,
		Type:          typ,
		Name:          principalName(principal, typ),
		SessionIssuer: issuer,
		SourceIP:      ip,
		UserAgent:     meta.CallerSuppliedUserAgent,
		Via:           classifyVia(meta.CallerSuppliedUserAgent, typ),
	}
}

// principalType tells users, service accounts and Google's service
// agents apart, from principalSubject's prefix (user:, serviceAccount:)
// or the email's domain.
func principalType(email, subject string) string {
	switch {
	case isServiceAgent(email):
		return TypeServiceAgent
	case strings.HasPrefix(subject, "serviceAccount:"), strings.HasSuffix(email, ".gserviceaccount.com"):
		return TypeServiceAccount
	case strings.HasPrefix(subject, "user:"), strings.Contains(email, "@"):
		return TypeUser
	}
	return ""
}

// isServiceAgent recognises Google-managed accounts: the system and
// cloudservices domains, gcp-sa-* service agents, and
// service-{project number}@….gserviceaccount.com.
func isServiceAgent(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	if !ok {
		return false
	}
	number, isService := strings.CutPrefix(local, "service-")
	return domain == "system.gserviceaccount.com" || domain == "cloudservices.gserviceaccount.com" ||
		strings.HasPrefix(domain, "gcp-sa-") ||
		(isService && isDigits(number) && strings.HasSuffix(domain, ".gserviceaccount.com"))
}

// principalName is a short name: a service account's account id (the
// email's local part), a user's email.
func principalName(principal, typ string) string {
	if typ == TypeServiceAccount || typ == TypeServiceAgent {
		if local, _, ok := strings.Cut(principal, "@"); ok {
			return local
		}
	}
	return principal
}

// classifyVia says how a call was made from callerSuppliedUserAgent, most
// specific first: Terraform (its provider's agent can embed the Go SDK's),
// the gcloud/gsutil/bq CLIs (google-cloud-sdk), the console (a browser's
// agent), a Google service agent, and any other agent is code (sdk).
func classifyVia(userAgent, typ string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.Contains(ua, "terraform") || strings.Contains(ua, "opentofu"):
		return ViaTerraform
	case strings.Contains(ua, "google-cloud-sdk") || strings.Contains(ua, "gcloud") || strings.Contains(ua, "gsutil"):
		return ViaCLI
	case strings.Contains(ua, "mozilla") || strings.Contains(ua, "console"):
		return ViaConsole
	case typ == TypeServiceAgent:
		return ViaService
	case ua != "":
		return ViaSDK
	}
	return ViaUnknown
}

// decodeObject decodes raw into v when it is a JSON object and leaves v
// unchanged otherwise; a member of an unexpected type is left empty
// (encoding/json goes on with the others).
func decodeObject(raw json.RawMessage, v any) {
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, v) // best effort: the caller is optional information
	}
}
