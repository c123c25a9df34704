package deptest

import "testing"

func TestForbidden(t *testing.T) {
	tests := []struct {
		pkg  string
		want string
	}{
		{"cloud.google.com/go/storage", "cloud.google.com/"},
		{"google.golang.org/api/compute/v1", "google.golang.org/api/"},
		{"github.com/aws/aws-sdk-go-v2/service/s3", "github.com/aws/aws-sdk-go-v2/service/s3"},
		{"github.com/aws/aws-sdk-go-v2/service/s3/types", "github.com/aws/aws-sdk-go-v2/service/s3"},
		{"github.com/aws/aws-sdk-go-v2/service/s3control", "github.com/aws/aws-sdk-go-v2/service/s3control"},
		{"github.com/aws/aws-sdk-go-v2/service/ec2", "github.com/aws/aws-sdk-go-v2/service/ec2"},
		{"github.com/aws/aws-sdk-go-v2/service/iam/types", "github.com/aws/aws-sdk-go-v2/service/iam"},
		{"github.com/aws/aws-sdk-go-v2/service/cloudtrail", "github.com/aws/aws-sdk-go-v2/service/cloudtrail"},
		// What the posture store needs, and the SDK's shared internals.
		{"github.com/aws/aws-sdk-go-v2/service/dynamodb", ""},
		{"github.com/aws/aws-sdk-go-v2/service/sts", ""},
		{"github.com/aws/aws-sdk-go-v2/service/internal/s3shared", ""},
		{"github.com/aws/aws-sdk-go-v2/service/internal/accept-encoding", ""},
		{"google.golang.org/protobuf/proto", ""},
		{"github.com/Azure/azure-sdk-for-go/sdk/azcore", ""},
	}
	for _, tt := range tests {
		got, ok := forbidden(tt.pkg)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("forbidden(%s) = %q, %v; want %q", tt.pkg, got, ok, tt.want)
		}
	}
}
