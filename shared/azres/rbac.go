package azres

import (
	"net/http"
	"strings"
)

// RBACAction derives the Azure RBAC action ARM checks for a request the way
// ARM does: the resource type chain after the last "providers" segment (the
// namespace, then type/name pairs) and the HTTP verb; a POST names its
// action after the resource (.../storageAccounts/st1/listKeys →
// Microsoft.Storage/storageAccounts/listKeys/action). A path without
// "providers" addresses Microsoft.Resources (subscriptions, resource
// groups). It returns "" for a path it cannot read. The fetchers and the
// actions check every request they send against the action they declare.
func RBACAction(method, path string) string {
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	namespace, rest := "Microsoft.Resources", segs
	for i := len(segs) - 1; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") {
			if i+1 >= len(segs) {
				return ""
			}
			namespace, rest = segs[i+1], segs[i+2:]
			break
		}
	}
	var verb string
	switch method {
	case http.MethodGet, http.MethodHead:
		verb = "read"
	case http.MethodPut, http.MethodPatch:
		verb = "write"
	case http.MethodDelete:
		verb = "delete"
	case http.MethodPost:
		// A POST names its action after the resource: .../vaults/v1/keys/action.
		if len(rest)%2 == 0 || len(rest) < 2 {
			return ""
		}
		verb = rest[len(rest)-1] + "/action"
		rest = rest[:len(rest)-1]
	default:
		return ""
	}
	if len(rest) == 0 {
		return ""
	}
	parts := []string{namespace}
	for i := 0; i < len(rest); i += 2 {
		parts = append(parts, rest[i])
	}
	return strings.Join(parts, "/") + "/" + verb
}
