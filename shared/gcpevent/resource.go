package gcpevent

import (
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// resourceOf builds the reference of the evaluated resource of type typ
// from an entry's resourceName (and resource.labels where the name is
// incomplete). project is the entry's project (projectOf). It returns an
// error when the name is of another kind of resource (SetIamPolicy on an
// organization), and a reference without ID when the name is unusable.
//
// The canonical ids are gcpres's full resource names:
//
//	bucket           //storage.googleapis.com/projects/_/buckets/{bucket}            from projects/_/buckets/{bucket}[/objects/...]
//	firewall         //compute.googleapis.com/projects/{p}/global/firewalls/{name}   from projects/{p}/global/firewalls/{name}
//	SQL instance     //cloudsql.googleapis.com/projects/{p}/instances/{name}         from instances/{p}:{name} or projects/{p}/instances/{name}
//	project          //cloudresourcemanager.googleapis.com/projects/{p}              from projects/{p}
//	service account  //iam.googleapis.com/projects/{p}/serviceAccounts/{email}      from projects/{p|-}/serviceAccounts/{email|uniqueId}[/keys/{id}]
//	crypto key       //cloudkms.googleapis.com/projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}  from the same path [/cryptoKeyVersions/{v}]
func resourceOf(typ, resourceName string, labels map[string]string, project string) (change.ResourceRef, error) {
	segs := segments(resourceName)
	ref := change.ResourceRef{Cloud: change.GCP, Type: typ, Account: project}
	switch typ {
	case typeBucket:
		// The bucket's project is not in its name (projects/_): the
		// entry's resource labels name it.
		b := first(after(segs, "buckets"), labels["bucket_name"])
		if b != "" {
			ref.Name, ref.ID = b, gcpres.BucketID(b)
		}
	case typeFirewall:
		p := first(realProject(after(segs, "projects")), project)
		if name := after(segs, "firewalls"); name != "" && p != "" {
			ref.Name, ref.Account = name, p
			ref.ID = gcpres.FirewallID(p, name)
		}
	case typeSQLInstance:
		p, name := sqlInstance(segs, labels["database_id"])
		p = first(p, project)
		if name != "" && p != "" {
			ref.Name, ref.Account = name, p
			ref.ID = gcpres.SQLInstanceID(p, name)
		}
	case typeProject:
		if len(segs) >= 1 && segs[0] != "projects" {
			return ref, fmt.Errorf("resourceName %q is not a project", resourceName)
		}
		// A project number in the name (v3) is not the project id the
		// canonical name uses: the labels name the id.
		p := realProject(after(segs, "projects"))
		if p != "" && isDigits(p) && labels["project_id"] != "" {
			p = labels["project_id"]
		}
		if p != "" && len(segs) == 2 {
			ref.Name, ref.Account = p, p
			ref.ID = gcpres.ProjectID(p)
		}
	case typeServiceAccount:
		// A key's events name the key (…/keys/{id}); the evaluated
		// resource is its service account. Names with projects/- and the
		// account's unique id are resolved through the labels.
		p := first(realProject(after(segs, "projects")), project)
		sa := after(segs, "serviceAccounts")
		if sa != "" && !strings.Contains(sa, "@") && labels["email_id"] != "" {
			sa = labels["email_id"]
		}
		if sa != "" && p != "" {
			ref.Name, ref.Account = sa, p
			ref.ID = gcpres.ServiceAccountID(p, sa)
		}
	case typeCryptoKey:
		p, l, r, k := after(segs, "projects"), after(segs, "locations"), after(segs, "keyRings"), after(segs, "cryptoKeys")
		if p != "" && l != "" && r != "" && k != "" {
			ref.Name, ref.Account, ref.Region = k, p, l
			ref.ID = gcpres.CryptoKeyID(p, l, r, k)
		}
	default:
		return ref, fmt.Errorf("no canonical id for resource type %q", typ)
	}
	return ref, nil
}

// sqlInstance reads the project and name of a Cloud SQL instance from
// instances/{project}:{name} (what the audit logs write), from
// projects/{p}/instances/{name}, or from the database_id label
// ({project}:{name}). A domain-scoped project (example.com:proj) has a
// colon of its own: the name follows the last one.
func sqlInstance(segs []string, databaseID string) (project, name string) {
	inst := after(segs, "instances")
	if p := after(segs, "projects"); p != "" && inst != "" {
		return realProject(p), inst
	}
	for _, v := range []string{inst, databaseID} {
		if i := strings.LastIndex(v, ":"); i > 0 && i < len(v)-1 {
			return v[:i], v[i+1:]
		}
	}
	return "", inst
}

// segments splits a resourceName, without the service host of a full
// resource name (//storage.googleapis.com/...).
func segments(name string) []string {
	if rest, ok := strings.CutPrefix(name, "//"); ok {
		_, name, _ = strings.Cut(rest, "/")
	}
	if name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

// after returns the segment that follows the first segment equal to
// collection (the {id} of collection/{id}), or "".
func after(segs []string, collection string) string {
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == collection {
			return segs[i+1]
		}
	}
	return ""
}

// realProject drops the wildcards _ and - that stand for "any project".
func realProject(p string) string {
	if p == "_" || p == "-" {
		return ""
	}
	return p
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
