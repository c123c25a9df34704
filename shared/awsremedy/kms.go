package awsremedy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

func keyFromDoc(d *awsres.KMSKey) loc {
	return loc{Name: firstNonEmpty(d.ARN, d.ID), Region: regionOfARN(d.ARN), Account: accountOfARN(d.ARN)}
}

func keyFromRef(ref change.ResourceRef, _ string) loc {
	return loc{Name: firstNonEmpty(ref.ID, ref.Name), Region: firstNonEmpty(regionOfARN(ref.ID), ref.Region), Account: accountOfARN(ref.ID)}
}

// keyRotationAPI is what kms_enable_rotation calls.
type keyRotationAPI interface {
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	EnableKeyRotation(ctx context.Context, in *kms.EnableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
	DisableKeyRotation(ctx context.Context, in *kms.DisableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.DisableKeyRotationOutput, error)
}

// kmsEnableRotation turns on automatic rotation of a customer managed
// symmetric key, with KMS's default period (365 days). Undo turns it off
// again if it was off.
func kmsEnableRotation(b *builder) remediation.Action {
	perms := []string{"kms:DisableKeyRotation", "kms:EnableKeyRotation", "kms:GetKeyRotationStatus"}
	return &action[awsres.KMSKey, enabled, keyRotationAPI]{
		name: KMSEnableRotation, resourceType: awsres.TypeKMSKey, service: kms.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.kms(KMSEnableRotation, perms), func(c *kms.Client) keyRotationAPI { return c }),
		fromDoc: keyFromDoc, fromRef: keyFromRef,
		plan: func(d *awsres.KMSKey) (remediation.Plan, error) {
			// KMS rotates only these keys itself; EnableKeyRotation fails
			// on the others, so say why up front.
			switch {
			case d.Manager != string(kmstypes.KeyManagerTypeCustomer):
				return remediation.Plan{}, fmt.Errorf("%w: key %s is managed by %s, which rotates it", ErrInvalidTarget, d.ID, d.Manager)
			case d.Spec != string(kmstypes.KeySpecSymmetricDefault) || d.Origin != string(kmstypes.OriginTypeAwsKms):
				return remediation.Plan{}, fmt.Errorf("%w: key %s (%s, origin %s) does not support automatic rotation", ErrInvalidTarget, d.ID, d.Spec, d.Origin)
			case d.State != string(kmstypes.KeyStateEnabled):
				return remediation.Plan{}, fmt.Errorf("%w: key %s is %s: KMS turns rotation on only for an enabled key", ErrInvalidTarget, d.ID, d.State)
			case d.RotationEnabled:
				return remediation.Plan{Noop: true, Change: "Automatic rotation is already on for KMS key " + d.ID}, nil
			}
			return remediation.Plan{Change: "Turn on automatic rotation (every 365 days) for KMS key " + d.ID +
				" (nothing that uses the key has to change)"}, nil
		},
		apply: func(ctx context.Context, c keyRotationAPI, l loc) (enabled, bool, error) {
			out, err := c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(l.Name)})
			if err != nil {
				return enabled{}, false, err
			}
			before := enabled{Enabled: out.KeyRotationEnabled}
			if before.Enabled {
				return before, false, nil
			}
			_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(l.Name)})
			return before, true, err
		},
		undo: func(ctx context.Context, c keyRotationAPI, l loc, before enabled) error {
			if before.Enabled {
				return nil
			}
			_, err := c.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(l.Name)})
			return err
		},
	}
}
