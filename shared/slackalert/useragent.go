package slackalert

import (
	"strings"
)

// maxUserAgent bounds the shortened user agent: the reader needs the tool
// and its version, not the platform string.
const maxUserAgent = 60

// uaProducts are the product tokens that say which tool made a call, in
// order of preference: Terraform's user agent also names the AWS SDK it
// embeds, and the tool is what the reader wants.
var uaProducts = [...]string{
	"Terraform/", "terraform-provider-aws/", "Pulumi/", "aws-cli/", "Boto3/",
	"aws-sdk-go-v2/", "aws-sdk-go/", "aws-sdk-java/", "aws-sdk-js/",
	"aws-sdk-dotnet", "aws-sdk-ruby", "aws-sdk-php", "botocore/",
}

// shortUserAgent reduces a user agent to the tool that made the call:
// "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io)
// terraform-provider-aws/5.31.0 ..." becomes "Terraform/1.6.6
// terraform-provider-aws/5.31.0", a browser string becomes "Chrome 131" and
// anything else its first token, at most 60 characters.
func shortUserAgent(ua string) string {
	ua = strings.TrimSpace(ua)
	ua = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(ua, "["), "]"))
	if ua == "" {
		return ""
	}
	fields := strings.Fields(ua)
	if strings.Contains(ua, "Terraform/") {
		var parts []string
		for _, f := range fields {
			if strings.HasPrefix(f, "Terraform/") || strings.HasPrefix(f, "terraform-provider-") {
				parts = append(parts, strings.TrimRight(f, ",;"))
			}
		}
		return truncate(strings.Join(parts, " "), maxUserAgent)
	}
	if strings.Contains(fields[0], "Console") {
		// "S3Console/0.4, aws-internal/3 aws-sdk-java/...": the console
		// called the SDK on the user's behalf.
		return truncate(strings.TrimRight(fields[0], ",;"), maxUserAgent)
	}
	if strings.HasPrefix(ua, "Mozilla/") {
		if b := browser(ua); b != "" {
			return b
		}
	}
	for _, p := range uaProducts {
		for _, f := range fields {
			if strings.HasPrefix(f, p) {
				return truncate(strings.TrimRight(f, ",;"), maxUserAgent)
			}
		}
	}
	return truncate(strings.TrimRight(fields[0], ",;"), maxUserAgent)
}

// browser names a browser and its major version from a Mozilla-style user
// agent. The order matters: Edge and Opera also claim Chrome, Chrome also
// claims Safari.
func browser(ua string) string {
	for _, b := range [...]struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Version/", "Safari"},
	} {
		i := strings.Index(ua, b.token)
		if i < 0 {
			continue
		}
		v := ua[i+len(b.token):]
		if j := strings.IndexAny(v, ". ;)"); j >= 0 {
			v = v[:j]
		}
		if v == "" {
			return b.name
		}
		return truncate(b.name+" "+v, maxUserAgent)
	}
	return ""
}
