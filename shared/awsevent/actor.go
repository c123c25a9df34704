package awsevent

import (
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// How a call was made (change.Actor.Via).
const (
	ViaConsole        = "console"
	ViaTerraform      = "terraform"
	ViaCloudFormation = "cloudformation"
	ViaCLI            = "cli"
	ViaSDK            = "sdk"
	ViaService        = "service"
	ViaUnknown        = "unknown"
)

func actorOf(r *record) change.Actor {
	ui := &r.UserIdentity
	return change.Actor{
		Principal:     firstNonEmpty(ui.ARN, ui.InvokedBy, ui.PrincipalID),
		Type:          ui.Type,
		Name:          actorName(ui),
		SessionIssuer: ui.SessionContext.SessionIssuer.ARN,
		SourceIP:      r.SourceIPAddress,
		UserAgent:     r.UserAgent,
		Via:           classifyVia(r.UserAgent, ui.InvokedBy, ui.Type, bool(r.SessionCredentialFromConsole)),
	}
}

// actorName is the short name a person recognises: the IAM user, the role
// and session of an assumed role, "root", the service.
func actorName(ui *userIdentity) string {
	resource := ""
	if a, ok := parseARN(ui.ARN); ok {
		resource = a.resource
	}
	switch ui.Type {
	case "IAMUser":
		if ui.UserName != "" {
			return ui.UserName
		}
	case "AssumedRole":
		// assumed-role/ROLE/SESSION -> ROLE/SESSION; an IAM Identity Center
		// session is named after the person (their user name or email), which
		// is who on-call wants to see: the permission set stays in
		// SessionIssuer.
		if rest, ok := strings.CutPrefix(resource, "assumed-role/"); ok && rest != "" {
			if role, session, ok := strings.Cut(rest, "/"); ok && strings.HasPrefix(role, "AWSReservedSSO_") && session != "" {
				return session
			}
			return rest
		}
		if ui.SessionContext.SessionIssuer.UserName != "" {
			return ui.SessionContext.SessionIssuer.UserName
		}
	case "Root":
		return "root"
	case "FederatedUser":
		if rest, ok := strings.CutPrefix(resource, "federated-user/"); ok && rest != "" {
			return rest
		}
	case "AWSService":
		if ui.InvokedBy != "" {
			return ui.InvokedBy
		}
	}
	if ui.UserName != "" {
		return ui.UserName
	}
	if resource != "" {
		return resource[strings.LastIndex(resource, "/")+1:]
	}
	return ui.PrincipalID
}

// classifyVia says how a call was made from the user agent, the invoking
// service and whether the session came from the console. The checks run in
// order and the first match wins: tools that embed an SDK user agent
// (Terraform, the CLI) come before the SDKs, and the consoles, which call
// through AWS's internal Java SDK ("[S3Console/0.4, aws-internal/3
// aws-sdk-java/...]"), come before AWS's own services.
func classifyVia(userAgent, invokedBy, identityType string, consoleSession bool) string {
	ua := strings.ToLower(strings.TrimLeft(userAgent, "[ "))
	invokedBy = strings.ToLower(invokedBy)
	rules := [...]struct {
		via   string
		match func() bool
	}{
		{ViaCloudFormation, func() bool {
			return invokedBy == "cloudformation.amazonaws.com" || strings.HasPrefix(ua, "cloudformation.amazonaws.com")
		}},
		{ViaTerraform, func() bool { return strings.Contains(ua, "terraform") || strings.Contains(ua, "opentofu") }},
		{ViaCLI, func() bool {
			return strings.Contains(ua, "aws-cli/") || strings.HasPrefix(ua, "awspowershell") || strings.HasPrefix(ua, "ec2-api-tools")
		}},
		{ViaConsole, func() bool {
			return consoleSession || invokedBy == "signin.amazonaws.com" ||
				strings.Contains(ua, "console") || strings.HasPrefix(ua, "signin.amazonaws.com") ||
				strings.HasPrefix(ua, "mozilla")
		}},
		{ViaService, func() bool {
			return identityType == "AWSService" || invokedBy != "" ||
				ua == "aws internal" || strings.HasPrefix(ua, "aws-internal/") ||
				strings.HasSuffix(ua, ".amazonaws.com")
		}},
		{ViaSDK, func() bool {
			return strings.Contains(ua, "aws-sdk-") || strings.HasPrefix(ua, "boto3/") ||
				strings.HasPrefix(ua, "botocore/") || strings.Contains(ua, "aws-chalice")
		}},
	}
	for _, r := range rules {
		if r.match() {
			return r.via
		}
	}
	return ViaUnknown
}
