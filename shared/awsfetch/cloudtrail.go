package awsfetch

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// cloudtrailAPI is what the trail and account readers call.
type cloudtrailAPI interface {
	GetTrail(ctx context.Context, in *cloudtrail.GetTrailInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailOutput, error)
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *cloudtrail.GetTrailStatusInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *cloudtrail.GetEventSelectorsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetEventSelectorsOutput, error)
	ListTags(ctx context.Context, in *cloudtrail.ListTagsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.ListTagsOutput, error)
}

// Values of awsres.Trail.ManagementEvents.
const (
	mgmtAll       = "All"
	mgmtReadOnly  = "ReadOnly"
	mgmtWriteOnly = "WriteOnly"
	mgmtNone      = "None"
)

func (f *Fetcher) fetchTrail(ctx context.Context, t target) (observation, error) {
	out, err := f.cloudtrail.get(t.region).GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(t.name)})
	if err != nil {
		return observation{}, fmt.Errorf("trail %s: %w", t.name, err)
	}
	tr := out.Trail
	if tr == nil {
		return observation{}, fmt.Errorf("trail %s: %w: GetTrail returned no trail", t.name, errNotFound)
	}
	arnStr := aws.ToString(tr.TrailARN)
	home := firstNonEmpty(aws.ToString(tr.HomeRegion), t.region)
	doc := &awsres.Trail{
		Name:              aws.ToString(tr.Name),
		ARN:               arnStr,
		HomeRegion:        home,
		IsMultiRegion:     aws.ToBool(tr.IsMultiRegionTrail),
		IsOrganization:    aws.ToBool(tr.IsOrganizationTrail),
		LogFileValidation: aws.ToBool(tr.LogFileValidationEnabled),
		KMSKeyID:          aws.ToString(tr.KmsKeyId),
		S3Bucket:          aws.ToString(tr.S3BucketName),
		Tags:              map[string]string{},
	}
	// Status, selectors and tags are asked of the home Region by ARN: tags
	// can only be listed there, and the ARN also resolves shadow trails.
	c := f.cloudtrail.get(home)
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		logging, mgmt, err := trailState(ctx, c, arnStr)
		doc.IsLogging, doc.ManagementEvents = logging, mgmt
		return err
	})
	g.Go(func(ctx context.Context) error {
		p := cloudtrail.NewListTagsPaginator(c, &cloudtrail.ListTagsInput{ResourceIdList: []string{arnStr}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, rt := range page.ResourceTagList {
				for _, tag := range rt.TagsList {
					doc.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, fmt.Errorf("trail %s: %w", arnStr, err)
	}
	return observation{
		id:      awsres.CanonicalID(awsres.TypeTrail, f.opts.Partition, home, t.account, arnStr),
		name:    doc.Name,
		region:  home,
		account: accountFromARN(arnStr),
		tags:    doc.Tags,
		doc:     doc,
	}, nil
}

// trailState reads whether a trail logs and which management events it
// records, concurrently.
func trailState(ctx context.Context, c cloudtrailAPI, trailARN string) (logging bool, mgmt string, err error) {
	g := newGroup(ctx, 0)
	g.Go(func(ctx context.Context) error {
		out, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(trailARN)})
		if err != nil {
			return err
		}
		logging = aws.ToBool(out.IsLogging)
		return nil
	})
	g.Go(func(ctx context.Context) error {
		out, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(trailARN)})
		if err != nil {
			return err
		}
		mgmt = managementEvents(out.EventSelectors, out.AdvancedEventSelectors)
		return nil
	})
	err = g.Wait()
	return logging, mgmt, err
}

// managementEvents summarises which management events a trail records.
// Classic selectors say it with IncludeManagementEvents and ReadWriteType;
// advanced selectors with an eventCategory=Management field and an optional
// readOnly field. Several selectors add up: a read-only and a write-only
// selector together record all.
func managementEvents(classic []cttypes.EventSelector, advanced []cttypes.AdvancedEventSelector) string {
	var reads, writes bool
	for _, s := range classic {
		// IncludeManagementEvents defaults to true when omitted.
		if s.IncludeManagementEvents != nil && !*s.IncludeManagementEvents {
			continue
		}
		switch s.ReadWriteType {
		case cttypes.ReadWriteTypeReadOnly:
			reads = true
		case cttypes.ReadWriteTypeWriteOnly:
			writes = true
		default: // All, and the default when omitted
			reads, writes = true, true
		}
	}
	for _, s := range advanced {
		management := false
		r, w := true, true
		for _, fs := range s.FieldSelectors {
			switch aws.ToString(fs.Field) {
			case "eventCategory":
				management = slices.Contains(fs.Equals, "Management")
			case "readOnly":
				switch {
				case slices.Contains(fs.Equals, "true"), slices.Contains(fs.NotEquals, "false"):
					w = false
				case slices.Contains(fs.Equals, "false"), slices.Contains(fs.NotEquals, "true"):
					r = false
				}
			}
		}
		if management {
			reads, writes = reads || r, writes || w
		}
	}
	switch {
	case reads && writes:
		return mgmtAll
	case reads:
		return mgmtReadOnly
	case writes:
		return mgmtWriteOnly
	}
	return mgmtNone
}
