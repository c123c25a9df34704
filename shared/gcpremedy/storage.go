package gcpremedy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// publicMember reports whether an IAM member is one of the public
// principals the bucket rule fails.
func publicMember(m string) bool { return m == gcpres.AllUsers || m == gcpres.AllAuthenticatedUsers }

func bucketID(d *gcpres.Bucket) string {
	if d.ID != "" {
		return d.ID
	}
	if d.Name != "" {
		return gcpres.BucketID(d.Name)
	}
	return ""
}

func bucketProject(d *gcpres.Bucket) string { return d.Project }

func bucketLabel(d *gcpres.Bucket) string { return "bucket " + inProject(d.Name, d.Project) }

// bucketIAMAPI is what gcp_storage_remove_public_members calls.
type bucketIAMAPI interface {
	GetIamPolicy(ctx context.Context, bucket string) (*storage.Policy, error)
	SetIamPolicy(ctx context.Context, bucket string, p *storage.Policy) (*storage.Policy, error)
}

// condition is an IAM condition as the policy carries it; it is part of a
// binding's identity (one role may be bound once unconditionally and once
// per condition).
type condition struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Expression  string `json:"expression"`
	Location    string `json:"location,omitempty"`
}

func conditionOf(e *storage.Expr) *condition {
	if e == nil {
		return nil
	}
	return &condition{Title: e.Title, Description: e.Description, Expression: e.Expression, Location: e.Location}
}

func (c *condition) expr() *storage.Expr {
	if c == nil {
		return nil
	}
	return &storage.Expr{Title: c.Title, Description: c.Description, Expression: c.Expression, Location: c.Location}
}

func sameCondition(a, b *condition) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// removedMember is one public member Apply removed, as the snapshot keeps
// it: the binding (role and condition) it was in and the positions it had,
// so that Undo puts it back where it was.
type removedMember struct {
	Role      string     `json:"role"`
	Condition *condition `json:"condition,omitempty"`
	Member    string     `json:"member"`
	// Binding is the binding's index in the policy Apply read, Index the
	// member's index in the binding.
	Binding int `json:"binding"`
	Index   int `json:"index"`
}

// stripPublic removes the public members from p's bindings, dropping the
// bindings left empty, and returns what it removed.
func stripPublic(p *storage.Policy) []removedMember {
	removed := []removedMember{}
	kept := p.Bindings[:0:0]
	for i, b := range p.Bindings {
		if b == nil {
			continue
		}
		var members []string
		for j, m := range b.Members {
			if publicMember(m) {
				removed = append(removed, removedMember{Role: b.Role, Condition: conditionOf(b.Condition), Member: m, Binding: i, Index: j})
				continue
			}
			members = append(members, m)
		}
		if len(members) == len(b.Members) {
			kept = append(kept, b)
			continue
		}
		if len(members) > 0 {
			nb := *b
			nb.Members = members
			kept = append(kept, &nb)
		}
	}
	p.Bindings = kept
	return removed
}

// restorePublic puts the removed members back into p where they were:
// into the binding of the same role and condition, or into a binding of
// their own at its former index when Apply dropped it. It reports whether
// p changed (a member already present is not added twice).
func restorePublic(p *storage.Policy, removed []removedMember) bool {
	changed := false
	// removed is in policy order: binding by binding, member by member,
	// so inserting in that order rebuilds the former positions.
	for _, r := range removed {
		i := slices.IndexFunc(p.Bindings, func(b *storage.PolicyBindings) bool {
			return b != nil && b.Role == r.Role && sameCondition(conditionOf(b.Condition), r.Condition)
		})
		if i < 0 {
			nb := &storage.PolicyBindings{Role: r.Role, Condition: r.Condition.expr(), Members: []string{r.Member}}
			p.Bindings = slices.Insert(p.Bindings, min(max(r.Binding, 0), len(p.Bindings)), nb)
			changed = true
			continue
		}
		b := p.Bindings[i]
		if slices.Contains(b.Members, r.Member) {
			continue
		}
		b.Members = slices.Insert(b.Members, min(max(r.Index, 0), len(b.Members)), r.Member)
		changed = true
	}
	return changed
}

// isPreconditionFailed reports a write refused because the etag or
// metageneration it carried is no longer current.
func isPreconditionFailed(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed
}

// readModifyWrite runs one read-modify-write of a bucket IAM policy,
// conditional on the etag read, and repeats it (up to attempts times) when
// the etag changed in between. modify edits the policy and reports whether
// there is anything to write.
func readModifyWrite(ctx context.Context, c bucketIAMAPI, bucket string, attempts int, modify func(p *storage.Policy) bool) error {
	var err error
	for range attempts {
		var p *storage.Policy
		if p, err = c.GetIamPolicy(ctx, bucket); err != nil {
			return err
		}
		if !modify(p) {
			return nil
		}
		// Version 3 keeps conditional bindings; the etag read makes the
		// write fail rather than overwrite a concurrent change.
		p.Version = 3
		if _, err = c.SetIamPolicy(ctx, bucket, p); err == nil || !isPreconditionFailed(err) {
			return err
		}
	}
	return fmt.Errorf("the bucket IAM policy changed under each of %d attempts: %w", attempts, err)
}

// describeRemoval words the removal of public members for people:
// "allUsers from roles/storage.objectViewer".
func describeRemoval(member, role, cond string) string {
	s := member + " from " + role
	if cond != "" {
		s += " (binding with condition " + cond + ")"
	}
	return s
}

// storageRemovePublicMembers removes allUsers and allAuthenticatedUsers
// from every binding of the bucket's IAM policy, dropping the bindings
// left empty; every other member and binding stays. The write carries the
// etag read, so a concurrent change is never overwritten: the
// read-modify-write is redone, a bounded number of times. The snapshot
// keeps exactly the (role, condition, member) removed, with their
// positions; Undo adds those back, again by read-modify-write, skipping
// members someone has since re-added.
func storageRemovePublicMembers(b *builder) (remediation.Action, error) {
	ops, perms := declare("GetIamPolicy", "SetIamPolicy")
	c, err := newStorageClient(b, StorageRemovePublicMembers, ops)
	if err != nil {
		return nil, err
	}
	attempts := b.opts.Attempts
	return &action[gcpres.Bucket, []removedMember, bucketIAMAPI]{
		name: StorageRemovePublicMembers, resourceType: gcpres.TypeBucket, perms: perms, opts: &b.opts, api: c,
		docID: bucketID, docProject: bucketProject,
		plan: func(d *gcpres.Bucket) (remediation.Plan, error) {
			var removals []string
			for _, bd := range d.IAMBindings {
				for _, m := range bd.Members {
					if publicMember(m) {
						removals = append(removals, describeRemoval(m, bd.Role, bd.Condition))
					}
				}
			}
			if len(removals) == 0 {
				return remediation.Plan{Noop: true, Change: "The IAM policy of " + bucketLabel(d) + " grants nothing to allUsers or allAuthenticatedUsers"}, nil
			}
			return remediation.Plan{Change: "Remove " + strings.Join(removals, "; ") + " on " + bucketLabel(d) +
				" (every other member stays); anonymous and any-Google-account readers lose access"}, nil
		},
		apply: func(ctx context.Context, c bucketIAMAPI, l loc) ([]removedMember, bool, error) {
			var removed []removedMember
			err := readModifyWrite(ctx, c, l.Name, attempts, func(p *storage.Policy) bool {
				removed = stripPublic(p)
				return len(removed) > 0
			})
			if err != nil {
				return nil, false, err
			}
			return removed, len(removed) > 0, nil
		},
		undo: func(ctx context.Context, c bucketIAMAPI, l loc, removed []removedMember) error {
			return readModifyWrite(ctx, c, l.Name, attempts, func(p *storage.Policy) bool { return restorePublic(p, removed) })
		},
		check: func(removed []removedMember) error {
			for _, r := range removed {
				if !publicMember(r.Member) || r.Role == "" || r.Binding < 0 || r.Index < 0 {
					return fmt.Errorf("removed member %q of role %q is not a public member this action removes", r.Member, r.Role)
				}
			}
			return nil
		},
	}, nil
}

// bucketAPI is what gcp_storage_enforce_public_access_prevention calls.
type bucketAPI interface {
	GetBucket(ctx context.Context, bucket string) (*storage.Bucket, error)
	PatchBucket(ctx context.Context, bucket string, patch *storage.Bucket, metageneration int64) (*storage.Bucket, error)
}

// Public access prevention values.
const (
	papEnforced  = "enforced"
	papInherited = "inherited"
)

// papBefore is gcp_storage_enforce_public_access_prevention's snapshot:
// the value as the API returned it ("" when absent).
type papBefore struct {
	PublicAccessPrevention string `json:"public_access_prevention"`
}

func papOf(b *storage.Bucket) string {
	if b.IamConfiguration == nil {
		return ""
	}
	return b.IamConfiguration.PublicAccessPrevention
}

// setPAP patches the bucket's public access prevention to v, conditional
// on the metageneration read (a concurrent change of the bucket makes the
// write fail rather than be silently merged).
func setPAP(ctx context.Context, c bucketAPI, bucket string, metageneration int64, v string) error {
	_, err := c.PatchBucket(ctx, bucket, &storage.Bucket{IamConfiguration: &storage.BucketIamConfiguration{PublicAccessPrevention: v}}, metageneration)
	return err
}

// storageEnforcePublicAccessPrevention sets the bucket's
// iamConfiguration.publicAccessPrevention to "enforced": no IAM binding or
// ACL can then grant allUsers or allAuthenticatedUsers anything, and those
// that exist stop working. The write is conditional on the metageneration
// read. The snapshot keeps the former value; Undo restores it while the
// bucket is still enforced: "inherited" for the legacy "unspecified", which
// means the same, and no value at all when there was none.
func storageEnforcePublicAccessPrevention(b *builder) (remediation.Action, error) {
	ops, perms := declare("GetBucket", "PatchBucket")
	c, err := newStorageClient(b, StorageEnforcePublicAccessPrevention, ops)
	if err != nil {
		return nil, err
	}
	return &action[gcpres.Bucket, papBefore, bucketAPI]{
		name: StorageEnforcePublicAccessPrevention, resourceType: gcpres.TypeBucket, perms: perms, opts: &b.opts, api: c,
		docID: bucketID, docProject: bucketProject,
		plan: func(d *gcpres.Bucket) (remediation.Plan, error) {
			if d.PublicAccessPrevention == papEnforced {
				return remediation.Plan{Noop: true, Change: "Public access prevention is already enforced on " + bucketLabel(d)}, nil
			}
			from := d.PublicAccessPrevention
			if from == "" {
				from = papInherited
			}
			return remediation.Plan{Change: "Enforce public access prevention on " + bucketLabel(d) + " (publicAccessPrevention: " + from + " -> " + papEnforced +
				"); existing grants to allUsers and allAuthenticatedUsers stop working"}, nil
		},
		apply: func(ctx context.Context, c bucketAPI, l loc) (papBefore, bool, error) {
			bk, err := c.GetBucket(ctx, l.Name)
			if err != nil {
				return papBefore{}, false, err
			}
			before := papBefore{PublicAccessPrevention: papOf(bk)}
			if before.PublicAccessPrevention == papEnforced {
				return before, false, nil
			}
			return before, true, setPAP(ctx, c, l.Name, bk.Metageneration, papEnforced)
		},
		undo: func(ctx context.Context, c bucketAPI, l loc, before papBefore) error {
			want := before.PublicAccessPrevention
			if want == "unspecified" {
				want = papInherited
			}
			bk, err := c.GetBucket(ctx, l.Name)
			if err != nil {
				return err
			}
			if papOf(bk) != papEnforced {
				// Restored already, or changed since by someone else.
				return nil
			}
			if before.PublicAccessPrevention == "" {
				// The bucket had no value: clear it rather than write the
				// default, so the bucket reads back as it did.
				_, err := c.PatchBucket(ctx, l.Name, &storage.Bucket{IamConfiguration: &storage.BucketIamConfiguration{NullFields: []string{"PublicAccessPrevention"}}}, bk.Metageneration)
				return err
			}
			return setPAP(ctx, c, l.Name, bk.Metageneration, want)
		},
		check: func(before papBefore) error {
			switch before.PublicAccessPrevention {
			case "", "unspecified", papInherited:
				return nil
			}
			return fmt.Errorf("public access prevention %q is not a value Apply changes", before.PublicAccessPrevention)
		},
	}, nil
}
