package gcpres

import (
	"net/url"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// console is the Google Cloud console's address.
const console = "https://console.cloud.google.com/"

// ConsoleURL links to the resource in the Google Cloud console ("" when
// the id is not a full resource name of a known type).
func ConsoleURL(ref change.ResourceRef) string {
	rest, ok := strings.CutPrefix(ref.ID, "//")
	if !ok {
		return ""
	}
	_, path, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	seg := segments(path)
	project := url.QueryEscape(seg["projects"])
	esc := url.PathEscape
	switch ref.Type {
	case TypeBucket:
		if seg["buckets"] == "" {
			return ""
		}
		return console + "storage/browser/" + esc(seg["buckets"]) + ";tab=permissions"
	case TypeFirewall:
		if seg["firewalls"] == "" {
			return ""
		}
		return console + "networking/firewalls/details/" + esc(seg["firewalls"]) + "?project=" + project
	case TypeSQLInstance:
		if seg["instances"] == "" {
			return ""
		}
		return console + "sql/instances/" + esc(seg["instances"]) + "/overview?project=" + project
	case TypeProject:
		if project == "" {
			return ""
		}
		return console + "iam-admin/iam?project=" + project
	case TypeServiceAccount:
		if seg["serviceAccounts"] == "" {
			return ""
		}
		return console + "iam-admin/serviceaccounts/details/" + esc(seg["serviceAccounts"]) + "/keys?project=" + project
	case TypeCryptoKey:
		if seg["cryptoKeys"] == "" {
			return ""
		}
		return console + "security/kms/key/manage/" + esc(seg["locations"]) + "/" + esc(seg["keyRings"]) + "/" +
			esc(seg["cryptoKeys"]) + "?project=" + project
	}
	return ""
}

// segments reads a resource path ("projects/p/instances/i") as collection
// name to resource name. The "global" of global Compute resources is a
// scope, not a collection, and is skipped.
func segments(path string) map[string]string {
	parts := strings.Split(path, "/")
	out := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		if parts[i] == "global" {
			i--
			continue
		}
		out[parts[i]] = parts[i+1]
	}
	return out
}
