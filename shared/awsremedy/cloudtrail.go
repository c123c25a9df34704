package awsremedy

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// A trail is acted on in its home Region and named there by its name: AWS
// takes the name or the ARN, moto only the name.
func trailFromDoc(d *awsres.Trail) loc {
	return loc{Name: firstNonEmpty(d.Name, awsres.NameFromID(awsres.TypeTrail, d.ARN)), Region: firstNonEmpty(d.HomeRegion, regionOfARN(d.ARN)), Account: accountOfARN(d.ARN)}
}

func trailFromRef(ref change.ResourceRef, _ string) loc {
	return loc{Name: firstNonEmpty(refName(ref), ref.Name), Region: firstNonEmpty(regionOfARN(ref.ID), ref.Region), Account: accountOfARN(ref.ID)}
}

func trailLabel(d *awsres.Trail) string { return firstNonEmpty(d.Name, d.ARN) }

// trailLoggingAPI is what cloudtrail_start_logging calls.
type trailLoggingAPI interface {
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	StartLogging(ctx context.Context, in *cloudtrail.StartLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartLoggingOutput, error)
	StopLogging(ctx context.Context, in *cloudtrail.StopLoggingInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StopLoggingOutput, error)
}

// cloudtrailStartLogging starts a stopped trail. The snapshot says whether
// it was logging; Undo stops it only if it was stopped before.
func cloudtrailStartLogging(b *builder) remediation.Action {
	perms := []string{"cloudtrail:GetTrailStatus", "cloudtrail:StartLogging", "cloudtrail:StopLogging"}
	return &action[awsres.Trail, enabled, trailLoggingAPI]{
		name: CloudTrailStartLogging, resourceType: awsres.TypeTrail, service: cloudtrail.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.cloudtrail(CloudTrailStartLogging, perms), func(c *cloudtrail.Client) trailLoggingAPI { return c }),
		fromDoc: trailFromDoc, fromRef: trailFromRef,
		plan: func(d *awsres.Trail) (remediation.Plan, error) {
			if d.IsLogging {
				return remediation.Plan{Noop: true, Change: "Trail " + trailLabel(d) + " is already logging"}, nil
			}
			return remediation.Plan{Change: "Start logging on trail " + trailLabel(d) + " (events from the time it was stopped are not recovered)"}, nil
		},
		apply: func(ctx context.Context, c trailLoggingAPI, l loc) (enabled, bool, error) {
			out, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(l.Name)})
			if err != nil {
				return enabled{}, false, err
			}
			before := enabled{Enabled: aws.ToBool(out.IsLogging)}
			if before.Enabled {
				return before, false, nil
			}
			_, err = c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(l.Name)})
			return before, true, err
		},
		undo: func(ctx context.Context, c trailLoggingAPI, l loc, before enabled) error {
			if before.Enabled {
				return nil
			}
			_, err := c.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(l.Name)})
			return err
		},
	}
}

// trailValidationAPI is what cloudtrail_enable_log_file_validation calls.
type trailValidationAPI interface {
	GetTrail(ctx context.Context, in *cloudtrail.GetTrailInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error)
	UpdateTrail(ctx context.Context, in *cloudtrail.UpdateTrailInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.UpdateTrailOutput, error)
}

// cloudtrailEnableLogFileValidation turns on log file integrity validation
// (digest files). UpdateTrail changes only that setting. Undo turns it off
// again if it was off.
func cloudtrailEnableLogFileValidation(b *builder) remediation.Action {
	perms := []string{"cloudtrail:GetTrail", "cloudtrail:UpdateTrail"}
	return &action[awsres.Trail, enabled, trailValidationAPI]{
		name: CloudTrailEnableLogFileValidation, resourceType: awsres.TypeTrail, service: cloudtrail.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.cloudtrail(CloudTrailEnableLogFileValidation, perms), func(c *cloudtrail.Client) trailValidationAPI { return c }),
		fromDoc: trailFromDoc, fromRef: trailFromRef,
		plan: func(d *awsres.Trail) (remediation.Plan, error) {
			if d.LogFileValidation {
				return remediation.Plan{Noop: true, Change: "Log file validation is already on for trail " + trailLabel(d)}, nil
			}
			return remediation.Plan{Change: "Turn on log file validation for trail " + trailLabel(d) + " (covers log files delivered from now on)"}, nil
		},
		apply: func(ctx context.Context, c trailValidationAPI, l loc) (enabled, bool, error) {
			out, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(l.Name)})
			if err != nil {
				return enabled{}, false, err
			}
			var before enabled
			if out.Trail != nil {
				before.Enabled = aws.ToBool(out.Trail.LogFileValidationEnabled)
			}
			if before.Enabled {
				return before, false, nil
			}
			_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(l.Name), EnableLogFileValidation: aws.Bool(true)})
			return before, true, err
		},
		undo: func(ctx context.Context, c trailValidationAPI, l loc, before enabled) error {
			if before.Enabled {
				return nil
			}
			_, err := c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(l.Name), EnableLogFileValidation: aws.Bool(false)})
			return err
		},
	}
}
