package awsremedy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

func TestTranslate(t *testing.T) {
	apiErr := func(code string, fault smithy.ErrorFault) error {
		return &smithy.GenericAPIError{Code: code, Message: "from AWS", Fault: fault}
	}
	tests := []struct {
		name       string
		err        error
		op         string
		is         error // nil: no sentinel
		retryable  bool
		msgContain string
	}{
		{name: "missing bucket", err: apiErr("NoSuchBucket", smithy.FaultClient), op: "PutBucketAcl", is: ErrNotFound},
		{name: "missing group", err: apiErr("InvalidGroup.NotFound", smithy.FaultClient), op: "DescribeSecurityGroups", is: ErrNotFound},
		{name: "missing trail", err: apiErr("TrailNotFoundException", smithy.FaultClient), op: "StartLogging", is: ErrNotFound},
		{name: "missing key", err: apiErr("NotFoundException", smithy.FaultClient), op: "EnableKeyRotation", is: ErrNotFound},
		{name: "missing DB", err: apiErr("DBInstanceNotFound", smithy.FaultClient), op: "ModifyDBInstance", is: ErrNotFound},
		{name: "missing IAM user", err: apiErr("NoSuchEntity", smithy.FaultClient), op: "UpdateAccessKey", is: ErrNotFound},
		{name: "no password policy is a setting, not a missing resource", err: apiErr("NoSuchEntity", smithy.FaultClient), op: "GetAccountPasswordPolicy", is: errNotConfigured},
		{name: "no bucket Block Public Access", err: apiErr("NoSuchPublicAccessBlockConfiguration", smithy.FaultClient), op: "GetPublicAccessBlock", is: errNotConfigured},
		{name: "S3 denial names the IAM action", err: apiErr("AccessDenied", smithy.FaultClient), op: "PutBucketAcl", is: ErrAccessDenied, msgContain: "the remediator role needs s3:PutBucketAcl"},
		{name: "EC2 denial", err: apiErr("UnauthorizedOperation", smithy.FaultClient), op: "RevokeSecurityGroupIngress", is: ErrAccessDenied, msgContain: "ec2:RevokeSecurityGroupIngress"},
		{name: "KMS denial", err: apiErr("AccessDeniedException", smithy.FaultClient), op: "EnableKeyRotation", is: ErrAccessDenied},
		{name: "throttled", err: apiErr("ThrottlingException", smithy.FaultClient), op: "StartLogging", is: ErrRetryable, retryable: true},
		{name: "EC2 request limit", err: apiErr("RequestLimitExceeded", smithy.FaultClient), op: "RevokeSecurityGroupIngress", is: ErrRetryable, retryable: true},
		{name: "server fault", err: apiErr("InternalError", smithy.FaultServer), op: "PutBucketAcl", is: ErrRetryable, retryable: true},
		{name: "invalid state is final", err: apiErr("KMSInvalidStateException", smithy.FaultClient), op: "EnableKeyRotation"},
		{name: "cancelled is final", err: context.Canceled, op: "ModifyDBInstance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translate(tt.err, tt.op, operationActions()[serviceOf(tt.op)][tt.op])
			if !errors.Is(got, tt.err) {
				t.Errorf("translate lost the SDK error: %v", got)
			}
			for _, s := range []error{ErrNotFound, errNotConfigured, ErrAccessDenied, ErrRetryable} {
				if want := s == tt.is; errors.Is(got, s) != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", got, s, !want, want)
				}
			}
			if IsRetryable(got) != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", got, !tt.retryable, tt.retryable)
			}
			if !strings.Contains(got.Error(), tt.msgContain) {
				t.Errorf("error %q does not say %q", got, tt.msgContain)
			}
		})
	}
	if translate(nil, "PutBucketAcl", "s3:PutBucketAcl") != nil {
		t.Error("translate(nil) is not nil")
	}
}

// serviceOf finds the service of an operation in the table (the test
// operations are unambiguous).
func serviceOf(op string) string {
	for svc, ops := range operationActions() {
		if _, ok := ops[op]; ok {
			return svc
		}
	}
	return ""
}

// TestRetryableOverTheWire: a server failure that outlived the SDK's
// retries reaches the caller as retryable, through a real client.
func TestRetryableOverTheWire(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	s := motoserver.Server{URL: srv.URL}
	cat, err := New(s.Config("us-east-1"), &Options{S3UsePathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	target := remediation.Target{Ref: bucketRef("acme-assets"), Doc: &awsres.S3Bucket{Name: "acme-assets", Region: "us-east-1"}}
	_, err = cat[S3BlockPublicAccess].Apply(t.Context(), target)
	if !IsRetryable(err) {
		t.Errorf("Apply against a 503: %v, want a retryable error", err)
	}
	target = remediation.Target{Ref: change.ResourceRef{Type: awsres.TypeKMSKey, ID: "arn:aws:kms:us-east-1:123456789012:key/k"}}
	if _, err := cat[KMSEnableRotation].Apply(t.Context(), target); !IsRetryable(err) {
		t.Errorf("Apply against a 503 (JSON protocol): %v, want a retryable error", err)
	}
}
