package deptest

import "testing"

func TestForbidden(t *testing.T) {
	tests := []struct {
		pkg  string
		want string
	}{
		{"github.com/Azure/azure-sdk-for-go/sdk/azcore", "github.com/Azure/"},
		{"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential", "github.com/AzureAD/"},
		{"github.com/aws/aws-sdk-go-v2/service/eventbridge", "github.com/aws/aws-sdk-go-v2/service/eventbridge"},
		{"github.com/aws/aws-lambda-go/lambda", "github.com/aws/aws-lambda-go"},
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
		{"cloud.google.com/go/pubsub/v2", ""},
		{"google.golang.org/api/compute/v1", ""},
	}
	for _, tt := range tests {
		got, ok := forbidden(tt.pkg)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("forbidden(%s) = %q, %v; want %q", tt.pkg, got, ok, tt.want)
		}
	}
}
