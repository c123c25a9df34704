package awsremedy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3controltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

func bucketFromDoc(d *awsres.S3Bucket) loc { return loc{Name: d.Name, Region: d.Region} }

func bucketFromRef(ref change.ResourceRef, _ string) loc {
	return loc{Name: refName(ref), Region: ref.Region}
}

// pabFlags names the Block Public Access settings that are off.
func pabFlags(p awsres.PublicAccessBlock) (off []string) {
	for _, f := range []struct {
		on   bool
		name string
	}{
		{p.BlockPublicAcls, "BlockPublicAcls"},
		{p.IgnorePublicAcls, "IgnorePublicAcls"},
		{p.BlockPublicPolicy, "BlockPublicPolicy"},
		{p.RestrictPublicBuckets, "RestrictPublicBuckets"},
	} {
		if !f.on {
			off = append(off, f.name)
		}
	}
	return off
}

// planPAB words the plan of turning every Block Public Access setting on
// for what; note follows the sentence.
func planPAB(what, note string, p awsres.PublicAccessBlock) remediation.Plan {
	off := pabFlags(p)
	switch {
	case len(off) == 0:
		return remediation.Plan{Noop: true, Change: "All four Block Public Access settings are already on for " + what}
	case !p.Configured:
		return remediation.Plan{Change: "Turn on all four Block Public Access settings for " + what +
			" (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets; none is configured now)" + note}
	case len(off) == 4:
		return remediation.Plan{Change: "Turn on all four Block Public Access settings for " + what +
			" (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets; all are off now)" + note}
	}
	return remediation.Plan{Change: fmt.Sprintf("Turn on Block Public Access %s %s for %s (the others are already on)%s",
		map[bool]string{true: "setting", false: "settings"}[len(off) == 1], joinAnd(off), what, note)}
}

func allOn(p awsres.PublicAccessBlock) bool { return len(pabFlags(p)) == 0 }

// bucketPABAPI is what s3_block_public_access calls.
type bucketPABAPI interface {
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	DeletePublicAccessBlock(ctx context.Context, in *s3.DeletePublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.DeletePublicAccessBlockOutput, error)
}

// s3BlockPublicAccess turns on the four bucket-level Block Public Access
// settings. The snapshot is the previous configuration, or none; Undo puts
// it back exactly, deleting the configuration when there was none.
func s3BlockPublicAccess(b *builder) remediation.Action {
	perms := []string{"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"}
	return &action[awsres.S3Bucket, awsres.PublicAccessBlock, bucketPABAPI]{
		name: S3BlockPublicAccess, resourceType: awsres.TypeS3Bucket, service: s3.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.s3(S3BlockPublicAccess, perms), func(c *s3.Client) bucketPABAPI { return c }),
		fromDoc: bucketFromDoc, fromRef: bucketFromRef,
		plan: func(d *awsres.S3Bucket) (remediation.Plan, error) {
			return planPAB("bucket "+d.Name, "", d.PublicAccessBlock), nil
		},
		apply: func(ctx context.Context, c bucketPABAPI, l loc) (awsres.PublicAccessBlock, bool, error) {
			out, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(l.Name)})
			configured, err := optional(err)
			if err != nil {
				return awsres.PublicAccessBlock{}, false, err
			}
			var before awsres.PublicAccessBlock
			if configured && out.PublicAccessBlockConfiguration != nil {
				before = bucketPAB(out.PublicAccessBlockConfiguration)
			}
			if allOn(before) {
				return before, false, nil
			}
			_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
				Bucket:                         aws.String(l.Name),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
			})
			return before, true, err
		},
		undo: func(ctx context.Context, c bucketPABAPI, l loc, before awsres.PublicAccessBlock) error {
			if !before.Configured {
				_, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(l.Name)})
				_, err = optional(err)
				return err
			}
			_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
				Bucket: aws.String(l.Name),
				PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
					BlockPublicAcls: aws.Bool(before.BlockPublicAcls), IgnorePublicAcls: aws.Bool(before.IgnorePublicAcls),
					BlockPublicPolicy: aws.Bool(before.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(before.RestrictPublicBuckets),
				},
			})
			return err
		},
	}
}

func bucketPAB(p *s3types.PublicAccessBlockConfiguration) awsres.PublicAccessBlock {
	return awsres.PublicAccessBlock{
		Configured:            true,
		BlockPublicAcls:       aws.ToBool(p.BlockPublicAcls),
		IgnorePublicAcls:      aws.ToBool(p.IgnorePublicAcls),
		BlockPublicPolicy:     aws.ToBool(p.BlockPublicPolicy),
		RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets),
	}
}

// accountPABAPI is what s3_account_block_public_access calls.
type accountPABAPI interface {
	GetPublicAccessBlock(ctx context.Context, in *s3control.GetPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3control.PutPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.PutPublicAccessBlockOutput, error)
	DeletePublicAccessBlock(ctx context.Context, in *s3control.DeletePublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.DeletePublicAccessBlockOutput, error)
}

func accountFromDoc(d *awsres.Account) loc { return loc{Name: d.ID, Account: d.ID} }

func accountFromRef(ref change.ResourceRef, _ string) loc {
	id := firstNonEmpty(ref.Account, ref.ID)
	return loc{Name: id, Account: id}
}

// s3AccountBlockPublicAccess turns on the four account-level Block Public
// Access settings (S3 Control). Snapshot and Undo as for the bucket.
func s3AccountBlockPublicAccess(b *builder) remediation.Action {
	perms := []string{"s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"}
	return &action[awsres.Account, awsres.PublicAccessBlock, accountPABAPI]{
		name: S3AccountBlockPublicAccess, resourceType: awsres.TypeAccount, service: s3control.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.s3control(S3AccountBlockPublicAccess, perms), func(c *s3control.Client) accountPABAPI { return c }),
		fromDoc: accountFromDoc, fromRef: accountFromRef,
		plan: func(d *awsres.Account) (remediation.Plan, error) {
			return planPAB("account "+d.ID, "; they apply to every bucket in the account, over any bucket setting", d.PublicAccessBlock), nil
		},
		apply: func(ctx context.Context, c accountPABAPI, l loc) (awsres.PublicAccessBlock, bool, error) {
			out, err := c.GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(l.Name)})
			configured, err := optional(err)
			if err != nil {
				return awsres.PublicAccessBlock{}, false, err
			}
			var before awsres.PublicAccessBlock
			if configured && out.PublicAccessBlockConfiguration != nil {
				before = accountPAB(out.PublicAccessBlockConfiguration)
			}
			if allOn(before) {
				return before, false, nil
			}
			_, err = c.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
				AccountId:                      aws.String(l.Name),
				PublicAccessBlockConfiguration: &s3controltypes.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
			})
			return before, true, err
		},
		undo: func(ctx context.Context, c accountPABAPI, l loc, before awsres.PublicAccessBlock) error {
			if !before.Configured {
				_, err := c.DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(l.Name)})
				_, err = optional(err)
				return err
			}
			_, err := c.PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
				AccountId: aws.String(l.Name),
				PublicAccessBlockConfiguration: &s3controltypes.PublicAccessBlockConfiguration{
					BlockPublicAcls: aws.Bool(before.BlockPublicAcls), IgnorePublicAcls: aws.Bool(before.IgnorePublicAcls),
					BlockPublicPolicy: aws.Bool(before.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(before.RestrictPublicBuckets),
				},
			})
			return err
		},
	}
}

func accountPAB(p *s3controltypes.PublicAccessBlockConfiguration) awsres.PublicAccessBlock {
	return awsres.PublicAccessBlock{
		Configured:            true,
		BlockPublicAcls:       aws.ToBool(p.BlockPublicAcls),
		IgnorePublicAcls:      aws.ToBool(p.IgnorePublicAcls),
		BlockPublicPolicy:     aws.ToBool(p.BlockPublicPolicy),
		RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets),
	}
}

// bucketACLAPI is what s3_acl_private calls.
type bucketACLAPI interface {
	GetBucketOwnershipControls(ctx context.Context, in *s3.GetBucketOwnershipControlsInput, optFns ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error)
	GetBucketAcl(ctx context.Context, in *s3.GetBucketAclInput, optFns ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
	PutBucketAcl(ctx context.Context, in *s3.PutBucketAclInput, optFns ...func(*s3.Options)) (*s3.PutBucketAclOutput, error)
}

// aclPolicy is a bucket's whole access control policy: what Undo puts back.
type aclPolicy struct {
	Owner  aclOwner   `json:"owner"`
	Grants []aclGrant `json:"grants"`
}

type aclOwner struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name,omitempty"`
}

type aclGrant struct {
	// Type is CanonicalUser, Group or AmazonCustomerByEmail.
	Type        string `json:"type"`
	ID          string `json:"id,omitempty"`
	URI         string `json:"uri,omitempty"`
	Email       string `json:"email,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Permission  string `json:"permission"`
}

func publicURI(uri string) bool {
	return uri == awsres.AllUsersURI || uri == awsres.AuthenticatedUsersURI
}

// groupName shortens a group URI to the name the console shows.
func groupName(uri string) string {
	switch uri {
	case awsres.AllUsersURI:
		return "AllUsers"
	case awsres.AuthenticatedUsersURI:
		return "AuthenticatedUsers"
	}
	return uri
}

// s3ACLPrivate replaces a bucket ACL that grants anything to AllUsers or
// AuthenticatedUsers with the canned ACL private (the owner keeps
// FULL_CONTROL; every other grant goes). The snapshot is the whole previous
// policy (owner and grants), which Undo puts back. A bucket whose object
// ownership is BucketOwnerEnforced has ACLs disabled: nothing to do.
func s3ACLPrivate(b *builder) remediation.Action {
	perms := []string{"s3:GetBucketAcl", "s3:GetBucketOwnershipControls", "s3:PutBucketAcl"}
	return &action[awsres.S3Bucket, aclPolicy, bucketACLAPI]{
		name: S3ACLPrivate, resourceType: awsres.TypeS3Bucket, service: s3.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.s3(S3ACLPrivate, perms), func(c *s3.Client) bucketACLAPI { return c }),
		fromDoc: bucketFromDoc, fromRef: bucketFromRef,
		plan: func(d *awsres.S3Bucket) (remediation.Plan, error) {
			if d.ObjectOwnership == string(s3types.ObjectOwnershipBucketOwnerEnforced) {
				return remediation.Plan{Noop: true, Change: "ACLs are disabled on bucket " + d.Name + " (object ownership BucketOwnerEnforced): nothing to change"}, nil
			}
			var public []string
			for _, g := range d.ACLGrants {
				if g.Public {
					public = append(public, groupName(g.Grantee)+" "+g.Permission)
				}
			}
			if len(public) == 0 {
				return remediation.Plan{Noop: true, Change: "The ACL of bucket " + d.Name + " grants nothing to AllUsers or AuthenticatedUsers"}, nil
			}
			return remediation.Plan{Change: "Set the ACL of bucket " + d.Name + " to private (removes " + joinAnd(public) +
				"; afterwards only the bucket owner has access through the ACL)"}, nil
		},
		apply: func(ctx context.Context, c bucketACLAPI, l loc) (aclPolicy, bool, error) {
			bucket := aws.String(l.Name)
			oc, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: bucket})
			configured, err := optional(err)
			if err != nil {
				return aclPolicy{}, false, err
			}
			if configured && oc.OwnershipControls != nil {
				for _, r := range oc.OwnershipControls.Rules {
					if r.ObjectOwnership == s3types.ObjectOwnershipBucketOwnerEnforced {
						return aclPolicy{}, false, nil
					}
				}
			}
			out, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: bucket})
			if err != nil {
				return aclPolicy{}, false, err
			}
			before := aclPolicy{Grants: []aclGrant{}}
			if o := out.Owner; o != nil {
				before.Owner = aclOwner{ID: aws.ToString(o.ID), DisplayName: aws.ToString(o.DisplayName)}
			}
			public := false
			for _, g := range out.Grants {
				ag := aclGrant{Permission: string(g.Permission)}
				if ge := g.Grantee; ge != nil {
					ag.Type, ag.ID, ag.URI = string(ge.Type), aws.ToString(ge.ID), aws.ToString(ge.URI)
					ag.Email, ag.DisplayName = aws.ToString(ge.EmailAddress), aws.ToString(ge.DisplayName)
				}
				public = public || publicURI(ag.URI)
				before.Grants = append(before.Grants, ag)
			}
			if !public {
				return before, false, nil
			}
			_, err = c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: bucket, ACL: s3types.BucketCannedACLPrivate})
			return before, true, err
		},
		undo: func(ctx context.Context, c bucketACLAPI, l loc, before aclPolicy) error {
			policy := &s3types.AccessControlPolicy{Owner: &s3types.Owner{ID: aws.String(before.Owner.ID)}}
			if before.Owner.DisplayName != "" {
				policy.Owner.DisplayName = aws.String(before.Owner.DisplayName)
			}
			for _, g := range before.Grants {
				ge := &s3types.Grantee{Type: s3types.Type(g.Type)}
				// S3 identifies a grantee by exactly one of id, URI or
				// email; the display name is output only.
				switch {
				case g.ID != "":
					ge.ID = aws.String(g.ID)
				case g.URI != "":
					ge.URI = aws.String(g.URI)
				case g.Email != "":
					ge.EmailAddress = aws.String(g.Email)
				}
				policy.Grants = append(policy.Grants, s3types.Grant{Grantee: ge, Permission: s3types.Permission(g.Permission)})
			}
			_, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(l.Name), AccessControlPolicy: policy})
			return err
		},
	}
}

// bucketVersioningAPI is what s3_enable_versioning calls.
type bucketVersioningAPI interface {
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error)
}

// versioning is a bucket's versioning status: "" (never enabled), Enabled
// or Suspended.
type versioning struct {
	Status string `json:"status"`
}

// s3EnableVersioning enables versioning. S3 cannot return a bucket to
// "never versioned", so Undo of a bucket that never had versioning suspends
// it, which keeps the existing versions and stops creating new ones; the
// plan says so.
func s3EnableVersioning(b *builder) remediation.Action {
	perms := []string{"s3:GetBucketVersioning", "s3:PutBucketVersioning"}
	return &action[awsres.S3Bucket, versioning, bucketVersioningAPI]{
		name: S3EnableVersioning, resourceType: awsres.TypeS3Bucket, service: s3.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.s3(S3EnableVersioning, perms), func(c *s3.Client) bucketVersioningAPI { return c }),
		fromDoc: bucketFromDoc, fromRef: bucketFromRef,
		plan: func(d *awsres.S3Bucket) (remediation.Plan, error) {
			switch d.VersioningStatus {
			case string(s3types.BucketVersioningStatusEnabled):
				return remediation.Plan{Noop: true, Change: "Versioning is already enabled on bucket " + d.Name}, nil
			case string(s3types.BucketVersioningStatusSuspended):
				return remediation.Plan{Change: "Enable versioning on bucket " + d.Name + " (suspended now)"}, nil
			}
			return remediation.Plan{Change: "Enable versioning on bucket " + d.Name + " (never enabled; Undo can only suspend it again, " +
				"as S3 cannot make a bucket unversioned)"}, nil
		},
		apply: func(ctx context.Context, c bucketVersioningAPI, l loc) (versioning, bool, error) {
			out, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(l.Name)})
			if err != nil {
				return versioning{}, false, err
			}
			before := versioning{Status: string(out.Status)}
			if out.Status == s3types.BucketVersioningStatusEnabled {
				return before, false, nil
			}
			// MFADelete is left out: it can only be changed with the root
			// user's MFA, and leaving it out keeps it as it is.
			_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
				Bucket:                  aws.String(l.Name),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
			})
			return before, true, err
		},
		undo: func(ctx context.Context, c bucketVersioningAPI, l loc, _ versioning) error {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
				Bucket:                  aws.String(l.Name),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended},
			})
			return err
		},
	}
}

// bucketEncryptionAPI is what s3_enable_default_encryption calls.
type bucketEncryptionAPI interface {
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
	DeleteBucketEncryption(ctx context.Context, in *s3.DeleteBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketEncryptionOutput, error)
}

// encryptionConfig is a bucket's default encryption configuration, or none.
type encryptionConfig struct {
	Configured bool             `json:"configured"`
	Rules      []encryptionRule `json:"rules"`
}

type encryptionRule struct {
	Algorithm        string `json:"algorithm,omitempty"`
	KMSKeyID         string `json:"kms_key_id,omitempty"`
	BucketKeyEnabled bool   `json:"bucket_key_enabled"`
}

func (e encryptionConfig) enabled() bool {
	for _, r := range e.Rules {
		if r.Algorithm != "" {
			return true
		}
	}
	return false
}

// s3EnableDefaultEncryption sets SSE-S3 (AES256) default encryption on a
// bucket that has none. It never replaces an existing default (SSE-KMS
// included). Undo puts the previous configuration back, or deletes it when
// there was none.
func s3EnableDefaultEncryption(b *builder) remediation.Action {
	perms := []string{"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"}
	return &action[awsres.S3Bucket, encryptionConfig, bucketEncryptionAPI]{
		name: S3EnableDefaultEncryption, resourceType: awsres.TypeS3Bucket, service: s3.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.s3(S3EnableDefaultEncryption, perms), func(c *s3.Client) bucketEncryptionAPI { return c }),
		fromDoc: bucketFromDoc, fromRef: bucketFromRef,
		plan: func(d *awsres.S3Bucket) (remediation.Plan, error) {
			if d.Encryption.Enabled {
				return remediation.Plan{Noop: true, Change: "Bucket " + d.Name + " already has default encryption (" + d.Encryption.Algorithm + ")"}, nil
			}
			return remediation.Plan{Change: "Set default encryption of bucket " + d.Name +
				" to SSE-S3 (AES256); objects already stored keep the encryption they have"}, nil
		},
		apply: func(ctx context.Context, c bucketEncryptionAPI, l loc) (encryptionConfig, bool, error) {
			out, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(l.Name)})
			configured, err := optional(err)
			if err != nil {
				return encryptionConfig{}, false, err
			}
			before := encryptionConfig{Configured: configured, Rules: []encryptionRule{}}
			if configured && out.ServerSideEncryptionConfiguration != nil {
				for _, r := range out.ServerSideEncryptionConfiguration.Rules {
					er := encryptionRule{BucketKeyEnabled: aws.ToBool(r.BucketKeyEnabled)}
					if d := r.ApplyServerSideEncryptionByDefault; d != nil {
						er.Algorithm, er.KMSKeyID = string(d.SSEAlgorithm), aws.ToString(d.KMSMasterKeyID)
					}
					before.Rules = append(before.Rules, er)
				}
			}
			if before.enabled() {
				return before, false, nil
			}
			_, err = c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
				Bucket: aws.String(l.Name),
				ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
					ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
				}}},
			})
			return before, true, err
		},
		undo: func(ctx context.Context, c bucketEncryptionAPI, l loc, before encryptionConfig) error {
			if !before.Configured || len(before.Rules) == 0 {
				_, err := c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(l.Name)})
				_, err = optional(err)
				return err
			}
			cfg := &s3types.ServerSideEncryptionConfiguration{}
			for _, r := range before.Rules {
				sr := s3types.ServerSideEncryptionRule{BucketKeyEnabled: aws.Bool(r.BucketKeyEnabled)}
				if r.Algorithm != "" {
					sr.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(r.Algorithm)}
					if r.KMSKeyID != "" {
						sr.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(r.KMSKeyID)
					}
				}
				cfg.Rules = append(cfg.Rules, sr)
			}
			_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(l.Name), ServerSideEncryptionConfiguration: cfg})
			return err
		},
	}
}
