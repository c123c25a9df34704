package gcpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Operation is one REST method a driftwatch component calls, with the IAM
// permissions Google checks before answering it.
type Operation struct {
	// ID is the method id of Google's discovery document
	// ("storage.buckets.getIamPolicy").
	ID string
	// HTTPMethod is the request's method (GET, PATCH, ...).
	HTTPMethod string
	// Path is the request path pattern relative to the host, including
	// the service's base path: "/storage/v1/b/{bucket}/iam",
	// "/v3/projects/{project}:getIamPolicy". A {variable} matches one
	// non-empty path segment (or, followed by a literal such as
	// ":getIamPolicy", a segment ending in that literal).
	Path string
	// Permissions are the IAM permissions the call needs; most need one.
	Permissions []string
}

// Matches reports whether a request with this method and (unescaped) path
// is a call of op.
func (op Operation) Matches(method, path string) bool {
	if !strings.EqualFold(op.HTTPMethod, method) {
		return false
	}
	_, ok := MatchPath(op.Path, path)
	return ok
}

// validate reports a declaration that could never match, or that would
// leave a call out of the generated role.
func (op Operation) validate() error {
	switch {
	case op.ID == "", op.HTTPMethod == "", !strings.HasPrefix(op.Path, "/"):
		return fmt.Errorf("gcpapi: operation %+v needs an id, an HTTP method and a path starting with /", op)
	case len(op.Permissions) == 0 || slices.Contains(op.Permissions, ""):
		return fmt.Errorf("gcpapi: operation %s declares no IAM permission", op.ID)
	}
	return nil
}

// Find returns the first operation of ops a request is a call of.
func Find(ops []Operation, method, path string) (Operation, bool) {
	for _, op := range ops {
		if op.Matches(method, path) {
			return op, true
		}
	}
	return Operation{}, false
}

// MatchPath matches an unescaped request path against a pattern (see
// Operation.Path) and returns the values of its variables. A trailing
// slash on either side is not ignored: Google's APIs do not ignore it
// either.
func MatchPath(pattern, path string) (map[string]string, bool) {
	ps, ss := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(ss) {
		return nil, false
	}
	var vars map[string]string
	for i, p := range ps {
		s := ss[i]
		open := strings.IndexByte(p, '{')
		if open < 0 {
			if p != s {
				return nil, false
			}
			continue
		}
		end := strings.IndexByte(p, '}')
		if end < open {
			return nil, false
		}
		prefix, name, suffix := p[:open], p[open+1:end], p[end+1:]
		if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) || len(s) <= len(prefix)+len(suffix) {
			return nil, false
		}
		v := s[len(prefix) : len(s)-len(suffix)]
		if suffix != "" && strings.Contains(v, suffix) {
			// "a:getIamPolicy:getIamPolicy" is not a project called
			// "a:getIamPolicy".
			return nil, false
		}
		if vars == nil {
			vars = map[string]string{}
		}
		vars[name] = v
	}
	return vars, true
}

// Permissions returns the IAM permissions of ops, sorted and without
// duplicates: the custom role the component needs.
func Permissions(ops ...[]Operation) []string {
	var out []string
	for _, list := range ops {
		for _, op := range list {
			out = append(out, op.Permissions...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Validate checks a list of declarations: each has an id, a method, a path
// and a permission, and no two share an id.
func Validate(ops []Operation) error {
	seen := map[string]bool{}
	var errs []error
	for _, op := range ops {
		if err := op.validate(); err != nil {
			errs = append(errs, err)
		}
		if seen[op.ID] {
			errs = append(errs, fmt.Errorf("gcpapi: operation %s declared twice", op.ID))
		}
		seen[op.ID] = true
	}
	return errors.Join(errs...)
}

// The operations driftwatch calls, as Google documents them. Components
// declare the subset they call; the permissions are those of each
// method's reference page (and of the IAM permissions reference for the
// Compute and Cloud SQL methods).
var (
	// Cloud Storage JSON API v1.
	StorageBucketsGet = Operation{ID: "storage.buckets.get", HTTPMethod: http.MethodGet,
		Path: "/storage/v1/b/{bucket}", Permissions: []string{"storage.buckets.get"}}
	StorageBucketsPatch = Operation{ID: "storage.buckets.patch", HTTPMethod: http.MethodPatch,
		Path: "/storage/v1/b/{bucket}", Permissions: []string{"storage.buckets.update"}}
	StorageBucketsGetIamPolicy = Operation{ID: "storage.buckets.getIamPolicy", HTTPMethod: http.MethodGet,
		Path: "/storage/v1/b/{bucket}/iam", Permissions: []string{"storage.buckets.getIamPolicy"}}
	StorageBucketsSetIamPolicy = Operation{ID: "storage.buckets.setIamPolicy", HTTPMethod: http.MethodPut,
		Path: "/storage/v1/b/{bucket}/iam", Permissions: []string{"storage.buckets.setIamPolicy"}}

	// Compute Engine API v1. Patching a firewall rule changes its
	// network's policy, which needs a permission of its own.
	ComputeFirewallsGet = Operation{ID: "compute.firewalls.get", HTTPMethod: http.MethodGet,
		Path: "/compute/v1/projects/{project}/global/firewalls/{firewall}", Permissions: []string{"compute.firewalls.get"}}
	ComputeFirewallsPatch = Operation{ID: "compute.firewalls.patch", HTTPMethod: http.MethodPatch,
		Path:        "/compute/v1/projects/{project}/global/firewalls/{firewall}",
		Permissions: []string{"compute.firewalls.update", "compute.networks.updatePolicy"}}
	ComputeGlobalOperationsGet = Operation{ID: "compute.globalOperations.get", HTTPMethod: http.MethodGet,
		Path: "/compute/v1/projects/{project}/global/operations/{operation}", Permissions: []string{"compute.globalOperations.get"}}
	ComputeGlobalOperationsWait = Operation{ID: "compute.globalOperations.wait", HTTPMethod: http.MethodPost,
		Path: "/compute/v1/projects/{project}/global/operations/{operation}/wait", Permissions: []string{"compute.globalOperations.get"}}

	// Cloud SQL Admin API v1.
	SQLInstancesGet = Operation{ID: "sql.instances.get", HTTPMethod: http.MethodGet,
		Path: "/v1/projects/{project}/instances/{instance}", Permissions: []string{"cloudsql.instances.get"}}
	SQLInstancesPatch = Operation{ID: "sql.instances.patch", HTTPMethod: http.MethodPatch,
		Path: "/v1/projects/{project}/instances/{instance}", Permissions: []string{"cloudsql.instances.update"}}
	SQLOperationsGet = Operation{ID: "sql.operations.get", HTTPMethod: http.MethodGet,
		Path: "/v1/projects/{project}/operations/{operation}", Permissions: []string{"cloudsql.instances.get"}}

	// Resource Manager API v3.
	ResourceManagerProjectsGet = Operation{ID: "cloudresourcemanager.projects.get", HTTPMethod: http.MethodGet,
		Path: "/v3/projects/{project}", Permissions: []string{"resourcemanager.projects.get"}}
	ResourceManagerProjectsGetIamPolicy = Operation{ID: "cloudresourcemanager.projects.getIamPolicy", HTTPMethod: http.MethodPost,
		Path: "/v3/projects/{project}:getIamPolicy", Permissions: []string{"resourcemanager.projects.getIamPolicy"}}
	ResourceManagerProjectsSetIamPolicy = Operation{ID: "cloudresourcemanager.projects.setIamPolicy", HTTPMethod: http.MethodPost,
		Path: "/v3/projects/{project}:setIamPolicy", Permissions: []string{"resourcemanager.projects.setIamPolicy"}}

	// IAM API v1.
	IAMServiceAccountsGet = Operation{ID: "iam.projects.serviceAccounts.get", HTTPMethod: http.MethodGet,
		Path: "/v1/projects/{project}/serviceAccounts/{account}", Permissions: []string{"iam.serviceAccounts.get"}}
	IAMServiceAccountKeysList = Operation{ID: "iam.projects.serviceAccounts.keys.list", HTTPMethod: http.MethodGet,
		Path: "/v1/projects/{project}/serviceAccounts/{account}/keys", Permissions: []string{"iam.serviceAccountKeys.list"}}

	// Cloud KMS API v1.
	KMSCryptoKeysGet = Operation{ID: "cloudkms.projects.locations.keyRings.cryptoKeys.get", HTTPMethod: http.MethodGet,
		Path:        "/v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}",
		Permissions: []string{"cloudkms.cryptoKeys.get"}}
	KMSCryptoKeysPatch = Operation{ID: "cloudkms.projects.locations.keyRings.cryptoKeys.patch", HTTPMethod: http.MethodPatch,
		Path:        "/v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}",
		Permissions: []string{"cloudkms.cryptoKeys.update"}}
)
