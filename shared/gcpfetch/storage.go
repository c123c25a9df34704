package gcpfetch

import (
	"context"
	"fmt"
	"strings"

	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// storageAPI is what the bucket reader calls.
type storageAPI interface {
	GetBucket(ctx context.Context, bucket string) (*storage.Bucket, error)
	// GetBucketPolicy asks for policy version 3: a lower version makes
	// Cloud Storage refuse a policy with conditional bindings.
	GetBucketPolicy(ctx context.Context, bucket string) (*storage.Policy, error)
}

type storageClient struct{ s *storage.Service }

func (c storageClient) GetBucket(ctx context.Context, bucket string) (*storage.Bucket, error) {
	return c.s.Buckets.Get(bucket).Context(ctx).Do()
}

func (c storageClient) GetBucketPolicy(ctx context.Context, bucket string) (*storage.Policy, error) {
	return c.s.Buckets.GetIamPolicy(bucket).OptionsRequestedPolicyVersion(3).Context(ctx).Do()
}

// fetchBucket reads a bucket and its IAM policy concurrently. The bucket's
// project is the reference's account: a bucket's name carries none, and
// the API reports only the project number. An unset
// publicAccessPrevention is "inherited", its documented meaning.
func (f *Fetcher) fetchBucket(ctx context.Context, t target) (observation, error) {
	var (
		b   *storage.Bucket
		pol *storage.Policy
	)
	g := newGroup(ctx)
	g.Go(func(ctx context.Context) (err error) {
		if b, err = f.storage.GetBucket(ctx, t.name); err != nil {
			return fmt.Errorf("bucket %s: %w", t.name, err)
		}
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		if pol, err = f.storage.GetBucketPolicy(ctx, t.name); err != nil {
			return fmt.Errorf("bucket %s IAM policy: %w", t.name, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, err
	}
	name := firstNonEmpty(b.Name, t.name)
	doc := &gcpres.Bucket{
		ID:                     gcpres.BucketID(name),
		Name:                   name,
		Project:                t.project,
		Location:               b.Location,
		IAMBindings:            []gcpres.Binding{},
		PublicAccessPrevention: "inherited",
		Labels:                 labelMap(b.Labels),
	}
	if c := b.IamConfiguration; c != nil {
		switch {
		case c.UniformBucketLevelAccess != nil:
			doc.UniformBucketLevelAccess = c.UniformBucketLevelAccess.Enabled
		case c.BucketPolicyOnly != nil: // the feature's former name
			doc.UniformBucketLevelAccess = c.BucketPolicyOnly.Enabled
		}
		doc.PublicAccessPrevention = firstNonEmpty(c.PublicAccessPrevention, doc.PublicAccessPrevention)
	}
	for _, pb := range pol.Bindings {
		if pb == nil {
			continue
		}
		bd := gcpres.Binding{Role: pb.Role, Members: orEmpty(pb.Members)}
		if pb.Condition != nil {
			bd.Condition = pb.Condition.Expression
		}
		doc.IAMBindings = append(doc.IAMBindings, bd)
	}
	return observation{id: doc.ID, name: name, region: strings.ToLower(doc.Location), labels: doc.Labels, doc: doc}, nil
}
