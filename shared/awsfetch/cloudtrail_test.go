package awsfetch

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

const trailKey = "arn:aws:kms:us-east-1:123456789012:key/5e6f7a8b-1234-4cde-9f00-aabbccddeeff"

// createTrail creates a trail logging to a new bucket and returns its ARN.
func (e *env) createTrail(t testing.TB, in *cloudtrail.CreateTrailInput) string {
	t.Helper()
	e.createBucket(t, aws.ToString(in.S3BucketName))
	out, err := e.ct.CreateTrail(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TrailARN)
}

func managementSelector(readOnly string) cttypes.AdvancedEventSelector {
	s := cttypes.AdvancedEventSelector{Name: aws.String("management"), FieldSelectors: []cttypes.AdvancedFieldSelector{
		{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
	}}
	if readOnly != "" {
		s.FieldSelectors = append(s.FieldSelectors, cttypes.AdvancedFieldSelector{Field: aws.String("readOnly"), Equals: []string{readOnly}})
	}
	return s
}

func TestFetchTrail(t *testing.T) {
	tests := []struct {
		name string
		// region is where the event came from; the trail lives in us-east-1.
		region string
		setup  func(t *testing.T, e *env) *awsres.Trail
	}{
		{
			name:   "compliant: multi-Region, logging, validated, encrypted, all management events",
			region: "us-east-1",
			setup: func(t *testing.T, e *env) *awsres.Trail {
				arn := e.createTrail(t, &cloudtrail.CreateTrailInput{
					Name: aws.String(e.n("org-audit-trail")), S3BucketName: aws.String(e.n("acme-cloudtrail-logs")),
					IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true), KmsKeyId: aws.String(trailKey),
					TagsList: []cttypes.Tag{{Key: aws.String("owner"), Value: aws.String("security")}},
				})
				// moto starts and deletes trails by name only; AWS also takes the ARN.
				must(t)(e.ct.StartLogging(e.ctx, &cloudtrail.StartLoggingInput{Name: aws.String(e.n("org-audit-trail"))}))
				must(t)(e.ct.PutEventSelectors(e.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(e.n("org-audit-trail")), EventSelectors: []cttypes.EventSelector{
					{IncludeManagementEvents: aws.Bool(true), ReadWriteType: cttypes.ReadWriteTypeAll},
				}}))
				return &awsres.Trail{
					Name: e.n("org-audit-trail"), ARN: arn, HomeRegion: "us-east-1", IsMultiRegion: true, IsLogging: true,
					LogFileValidation: true, KMSKeyID: trailKey, S3Bucket: e.n("acme-cloudtrail-logs"), ManagementEvents: "All",
					Tags: map[string]string{"owner": "security"},
				}
			},
		},
		{
			name:   "non-compliant: stopped, single Region, read-only advanced selector",
			region: "us-east-1",
			setup: func(t *testing.T, e *env) *awsres.Trail {
				arn := e.createTrail(t, &cloudtrail.CreateTrailInput{Name: aws.String(e.n("dev-trail")), S3BucketName: aws.String(e.n("acme-dev-trail-logs"))})
				must(t)(e.ct.PutEventSelectors(e.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(e.n("dev-trail")),
					AdvancedEventSelectors: []cttypes.AdvancedEventSelector{managementSelector("true")}}))
				return &awsres.Trail{Name: e.n("dev-trail"), ARN: arn, HomeRegion: "us-east-1", S3Bucket: e.n("acme-dev-trail-logs"), ManagementEvents: "ReadOnly", Tags: map[string]string{}}
			},
		},
		{
			name:   "non-compliant: classic selector excluding management events",
			region: "us-east-1",
			setup: func(t *testing.T, e *env) *awsres.Trail {
				arn := e.createTrail(t, &cloudtrail.CreateTrailInput{Name: aws.String(e.n("data-only-trail")), S3BucketName: aws.String(e.n("acme-data-trail-logs"))})
				must(t)(e.ct.StartLogging(e.ctx, &cloudtrail.StartLoggingInput{Name: aws.String(e.n("data-only-trail"))}))
				must(t)(e.ct.PutEventSelectors(e.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(e.n("data-only-trail")), EventSelectors: []cttypes.EventSelector{{
					IncludeManagementEvents: aws.Bool(false), ReadWriteType: cttypes.ReadWriteTypeAll,
					DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}},
				}}}))
				return &awsres.Trail{Name: e.n("data-only-trail"), ARN: arn, HomeRegion: "us-east-1", IsLogging: true, S3Bucket: e.n("acme-data-trail-logs"), ManagementEvents: "None", Tags: map[string]string{}}
			},
		},
		{
			name:   "multi-Region trail named by ARN from another Region",
			region: "eu-west-1",
			setup: func(t *testing.T, e *env) *awsres.Trail {
				arn := e.createTrail(t, &cloudtrail.CreateTrailInput{Name: aws.String(e.n("global-trail")), S3BucketName: aws.String(e.n("acme-global-trail-logs")), IsMultiRegionTrail: aws.Bool(true)})
				must(t)(e.ct.StartLogging(e.ctx, &cloudtrail.StartLoggingInput{Name: aws.String(e.n("global-trail"))}))
				must(t)(e.ct.PutEventSelectors(e.ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(e.n("global-trail")),
					AdvancedEventSelectors: []cttypes.AdvancedEventSelector{managementSelector("")}}))
				return &awsres.Trail{Name: e.n("global-trail"), ARN: arn, HomeRegion: "us-east-1", IsMultiRegion: true, IsLogging: true, S3Bucket: e.n("acme-global-trail-logs"), ManagementEvents: "All", Tags: map[string]string{}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			ref := change.ResourceRef{Type: awsres.TypeTrail, ID: want.ARN, Account: motoAccount, Region: tc.region}
			got := e.fetch(t, e.fetcher(nil), ref)
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeTrail, ID: want.ARN, Name: want.Name, Account: motoAccount, Region: "us-east-1"})
			assertJSON(t, "tags", got.Tags, want.Tags)
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchTrailMissing(t *testing.T) {
	e := newEnv(t)
	arn := e.createTrail(t, &cloudtrail.CreateTrailInput{Name: aws.String(e.n("temp-trail")), S3BucketName: aws.String(e.n("acme-temp-trail-logs"))})
	// moto deletes by name only (AWS takes either).
	must(t)(e.ct.DeleteTrail(e.ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(e.n("temp-trail"))}))
	for _, ref := range []change.ResourceRef{
		{Type: awsres.TypeTrail, ID: arn, Account: motoAccount, Region: "us-east-1"},
		{Type: awsres.TypeTrail, Name: e.n("temp-trail"), Account: motoAccount, Region: "us-east-1"},
	} {
		got := e.fetch(t, e.fetcher(nil), ref)
		if got.Exists || got.Doc != nil {
			t.Errorf("deleted trail %+v: Exists=%v Doc=%v", ref, got.Exists, got.Doc)
		}
		assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeTrail, ID: arn, Name: e.n("temp-trail"), Account: motoAccount, Region: "us-east-1"})
	}
}

func TestManagementEvents(t *testing.T) {
	yes, no := aws.Bool(true), aws.Bool(false)
	dataOnly := cttypes.AdvancedEventSelector{FieldSelectors: []cttypes.AdvancedFieldSelector{
		{Field: aws.String("eventCategory"), Equals: []string{"Data"}},
		{Field: aws.String("resources.type"), Equals: []string{"AWS::S3::Object"}},
	}}
	tests := []struct {
		name     string
		classic  []cttypes.EventSelector
		advanced []cttypes.AdvancedEventSelector
		want     string
	}{
		{name: "no selectors", want: "None"},
		{name: "classic default", classic: []cttypes.EventSelector{{}}, want: "All"},
		{name: "classic all", classic: []cttypes.EventSelector{{IncludeManagementEvents: yes, ReadWriteType: cttypes.ReadWriteTypeAll}}, want: "All"},
		{name: "classic read only", classic: []cttypes.EventSelector{{IncludeManagementEvents: yes, ReadWriteType: cttypes.ReadWriteTypeReadOnly}}, want: "ReadOnly"},
		{name: "classic write only", classic: []cttypes.EventSelector{{IncludeManagementEvents: yes, ReadWriteType: cttypes.ReadWriteTypeWriteOnly}}, want: "WriteOnly"},
		{name: "classic excluded", classic: []cttypes.EventSelector{{IncludeManagementEvents: no, ReadWriteType: cttypes.ReadWriteTypeAll}}, want: "None"},
		{name: "classic read plus write", classic: []cttypes.EventSelector{
			{IncludeManagementEvents: yes, ReadWriteType: cttypes.ReadWriteTypeReadOnly},
			{IncludeManagementEvents: yes, ReadWriteType: cttypes.ReadWriteTypeWriteOnly},
		}, want: "All"},
		{name: "advanced all", advanced: []cttypes.AdvancedEventSelector{managementSelector("")}, want: "All"},
		{name: "advanced read only", advanced: []cttypes.AdvancedEventSelector{managementSelector("true")}, want: "ReadOnly"},
		{name: "advanced write only", advanced: []cttypes.AdvancedEventSelector{managementSelector("false")}, want: "WriteOnly"},
		{name: "advanced write only by NotEquals", advanced: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
			{Field: aws.String("readOnly"), NotEquals: []string{"true"}},
		}}}, want: "WriteOnly"},
		{name: "advanced data events only", advanced: []cttypes.AdvancedEventSelector{dataOnly}, want: "None"},
		{name: "advanced read plus write", advanced: []cttypes.AdvancedEventSelector{managementSelector("true"), managementSelector("false"), dataOnly}, want: "All"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := managementEvents(tc.classic, tc.advanced); got != tc.want {
				t.Errorf("managementEvents = %q, want %q", got, tc.want)
			}
		})
	}
}
