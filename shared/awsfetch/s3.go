package awsfetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3controltypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// s3API is what the bucket reader calls. GetBucketPolicyStatus is
// deliberately absent: no emulator implements it, and the parsed policy
// (awsres.Statement.Public) carries the same information.
type s3API interface {
	GetBucketLocation(ctx context.Context, in *s3.GetBucketLocationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketOwnershipControls(ctx context.Context, in *s3.GetBucketOwnershipControlsInput, optFns ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error)
	GetBucketAcl(ctx context.Context, in *s3.GetBucketAclInput, optFns ...func(*s3.Options)) (*s3.GetBucketAclOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetBucketLogging(ctx context.Context, in *s3.GetBucketLoggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketLoggingOutput, error)
	GetBucketTagging(ctx context.Context, in *s3.GetBucketTaggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
}

// s3controlAPI reads the account-level Block Public Access setting.
type s3controlAPI interface {
	GetPublicAccessBlock(ctx context.Context, in *s3control.GetPublicAccessBlockInput, optFns ...func(*s3control.Options)) (*s3control.GetPublicAccessBlockOutput, error)
}

func (f *Fetcher) fetchBucket(ctx context.Context, t target) (observation, error) {
	name := t.name
	region, err := f.bucketRegion(ctx, name, t.region)
	if err != nil {
		return observation{}, err
	}
	account, err := f.account(ctx, t)
	if err != nil {
		return observation{}, err
	}
	c := f.s3.get(region)
	id := awsres.CanonicalID(awsres.TypeS3Bucket, f.opts.Partition, "", "", name)
	doc := &awsres.S3Bucket{Name: name, ARN: id, Region: region, ACLGrants: []awsres.Grant{}, Tags: map[string]string{}}
	bucket := aws.String(name)

	// Each read fills its own fields of doc, so they need no lock.
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		out, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
		if ok, err := optional(err); !ok {
			return err
		}
		if p := out.PublicAccessBlockConfiguration; p != nil {
			doc.PublicAccessBlock = awsres.PublicAccessBlock{
				Configured:            true,
				BlockPublicAcls:       aws.ToBool(p.BlockPublicAcls),
				IgnorePublicAcls:      aws.ToBool(p.IgnorePublicAcls),
				BlockPublicPolicy:     aws.ToBool(p.BlockPublicPolicy),
				RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets),
			}
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		pab, err := f.accountPublicAccessBlock(ctx, account)
		doc.AccountPublicAccessBlock = pab
		return err
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: bucket})
		if ok, err := optional(err); !ok {
			return err
		}
		if oc := out.OwnershipControls; oc != nil && len(oc.Rules) > 0 {
			doc.ObjectOwnership = string(oc.Rules[0].ObjectOwnership)
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: bucket})
		if err != nil {
			return err
		}
		for _, gr := range out.Grants {
			doc.ACLGrants = append(doc.ACLGrants, grant(gr))
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
		if ok, err := optional(err); !ok {
			return err
		}
		p, err := awsres.ParsePolicy(aws.ToString(out.Policy))
		if err != nil {
			return fmt.Errorf("bucket %s policy: %w", name, err)
		}
		doc.Policy = p
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
		if ok, err := optional(err); !ok {
			return err
		}
		if sse := out.ServerSideEncryptionConfiguration; sse != nil && len(sse.Rules) > 0 {
			r := sse.Rules[0]
			doc.Encryption.BucketKeyEnabled = aws.ToBool(r.BucketKeyEnabled)
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				doc.Encryption.Enabled = true
				doc.Encryption.Algorithm = string(d.SSEAlgorithm)
				doc.Encryption.KMSKeyID = aws.ToString(d.KMSMasterKeyID)
			}
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
		if err != nil {
			return err
		}
		doc.VersioningStatus = string(out.Status)
		doc.MFADelete = string(out.MFADelete)
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: bucket})
		if err != nil {
			return err
		}
		if l := out.LoggingEnabled; l != nil {
			doc.Logging = awsres.S3Logging{Enabled: true, TargetBucket: aws.ToString(l.TargetBucket), TargetPrefix: aws.ToString(l.TargetPrefix)}
		}
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
		if ok, err := optional(err); !ok {
			return err
		}
		doc.Tags = tagMap(out.TagSet, func(t s3types.Tag) (string, string) { return aws.ToString(t.Key), aws.ToString(t.Value) })
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("bucket %s: %w", name, err)
	}
	return observation{id: id, name: name, region: region, account: account, tags: doc.Tags, doc: doc}, nil
}

// bucketRegion asks S3 where the bucket lives. A request sent to the wrong
// Region fails with a response naming the right one in x-amz-bucket-region;
// the lookup is then repeated there.
func (f *Fetcher) bucketRegion(ctx context.Context, bucket, hint string) (string, error) {
	in := &s3.GetBucketLocationInput{Bucket: aws.String(bucket)}
	out, err := f.s3.get(hint).GetBucketLocation(ctx, in)
	if err != nil {
		r := bucketRegionHeader(err)
		if r == "" || r == hint {
			return "", fmt.Errorf("bucket %s location: %w", bucket, err)
		}
		if out, err = f.s3.get(r).GetBucketLocation(ctx, in); err != nil {
			return "", fmt.Errorf("bucket %s location: %w", bucket, err)
		}
	}
	switch loc := string(out.LocationConstraint); loc {
	case "":
		return "us-east-1", nil // S3 reports the first Region as an empty constraint.
	case "EU":
		return "eu-west-1", nil // the legacy name of eu-west-1
	default:
		return loc, nil
	}
}

func bucketRegionHeader(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

func grant(g s3types.Grant) awsres.Grant {
	out := awsres.Grant{Permission: string(g.Permission)}
	if ge := g.Grantee; ge != nil {
		out.GranteeType = string(ge.Type)
		out.Grantee = firstNonEmpty(aws.ToString(ge.ID), aws.ToString(ge.URI), aws.ToString(ge.EmailAddress))
		uri := aws.ToString(ge.URI)
		out.Public = uri == awsres.AllUsersURI || uri == awsres.AuthenticatedUsersURI
	}
	return out
}

// accountPublicAccessBlock reads the account-wide S3 Block Public Access.
func (f *Fetcher) accountPublicAccessBlock(ctx context.Context, account string) (awsres.PublicAccessBlock, error) {
	out, err := f.s3control().GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(account)})
	if ok, err := optional(err); !ok {
		if err != nil {
			err = fmt.Errorf("account %s public access block: %w", account, err)
		}
		return awsres.PublicAccessBlock{}, err
	}
	return accountPAB(out.PublicAccessBlockConfiguration), nil
}

func accountPAB(p *s3controltypes.PublicAccessBlockConfiguration) awsres.PublicAccessBlock {
	if p == nil {
		return awsres.PublicAccessBlock{}
	}
	return awsres.PublicAccessBlock{
		Configured:            true,
		BlockPublicAcls:       aws.ToBool(p.BlockPublicAcls),
		IgnorePublicAcls:      aws.ToBool(p.IgnorePublicAcls),
		BlockPublicPolicy:     aws.ToBool(p.BlockPublicPolicy),
		RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets),
	}
}

// accountInHeader resolves S3 Control endpoints without the account-id host
// label. S3 Control puts the account in the host name
// ({account}.s3-control...), which a local emulator's address cannot carry;
// the account still travels in the x-amz-account-id header the operation
// sends anyway. Used only with Options.S3UsePathStyle.
type accountInHeader struct {
	next s3control.EndpointResolverV2
}

func (r accountInHeader) ResolveEndpoint(ctx context.Context, p s3control.EndpointParameters) (smithyendpoints.Endpoint, error) {
	ep, err := r.next.ResolveEndpoint(ctx, p)
	if err != nil || p.AccountId == nil {
		return ep, err
	}
	ep.URI.Host = strings.TrimPrefix(ep.URI.Host, *p.AccountId+".")
	return ep, nil
}

// WithAccountInHeader is an S3 Control client option that addresses a local
// emulator: the account travels in the x-amz-account-id header instead of
// the host name. Fetchers apply it themselves with Options.S3UsePathStyle;
// it is exported for the tools that set up emulator state.
func WithAccountInHeader(o *s3control.Options) {
	o.EndpointResolverV2 = accountInHeader{next: s3control.NewDefaultEndpointResolverV2()}
}
