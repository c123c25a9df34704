package awsfetch

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// kmsAPI is what the key reader calls.
type kmsAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, optFns ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
}

func (f *Fetcher) fetchKey(ctx context.Context, t target) (observation, error) {
	c := f.kms.get(t.region)
	out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(t.name)})
	if err != nil {
		return observation{}, fmt.Errorf("key %s: %w", t.name, err)
	}
	md := out.KeyMetadata
	if md == nil {
		return observation{}, fmt.Errorf("key %s: %w: DescribeKey returned no metadata", t.name, errNotFound)
	}
	keyID := aws.ToString(md.KeyId)
	doc := &awsres.KMSKey{
		ID:          keyID,
		ARN:         aws.ToString(md.Arn),
		Description: aws.ToString(md.Description),
		Manager:     string(md.KeyManager),
		Spec:        string(md.KeySpec),
		Usage:       string(md.KeyUsage),
		State:       string(md.KeyState),
		Origin:      string(md.Origin),
		Tags:        map[string]string{},
	}
	if md.DeletionDate != nil {
		doc.DeletionDate = md.DeletionDate.UTC()
	}
	// AWS managed keys rotate on AWS's schedule and cannot be tagged; their
	// rotation and tags are not the account's to read or change.
	customer := md.KeyManager == kmstypes.KeyManagerTypeCustomer
	g := newGroup(ctx, 0)
	if customer && rotationApplies(md) {
		g.Go(func(ctx context.Context) error {
			out, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyID)})
			if err != nil {
				return err
			}
			doc.RotationEnabled = out.KeyRotationEnabled
			doc.RotationPeriodDays = int64(aws.ToInt32(out.RotationPeriodInDays))
			return nil
		})
	}
	if customer {
		g.Go(func(ctx context.Context) error {
			p := kms.NewListResourceTagsPaginator(c, &kms.ListResourceTagsInput{KeyId: aws.String(keyID)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, tag := range page.Tags {
					doc.Tags[aws.ToString(tag.TagKey)] = aws.ToString(tag.TagValue)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("key %s: %w", doc.ARN, err)
	}
	// The key's ARN names its Region, which an alias reference may not.
	region := t.region
	if a, err := arn.Parse(doc.ARN); err == nil && a.Region != "" {
		region = a.Region
	}
	return observation{
		id:      awsres.CanonicalID(awsres.TypeKMSKey, f.opts.Partition, region, t.account, doc.ARN),
		name:    keyID,
		region:  region,
		account: firstNonEmpty(aws.ToString(md.AWSAccountId), accountFromARN(doc.ARN)),
		tags:    doc.Tags,
		doc:     doc,
	}, nil
}

// rotationApplies reports whether GetKeyRotationStatus answers for the key:
// automatic rotation exists only for symmetric keys with AWS-generated
// material, and KMS refuses the call for a key pending deletion.
func rotationApplies(md *kmstypes.KeyMetadata) bool {
	return md.KeySpec == kmstypes.KeySpecSymmetricDefault &&
		md.Origin == kmstypes.OriginTypeAwsKms &&
		md.KeyState != kmstypes.KeyStatePendingDeletion
}
