package deptest

import "testing"

func TestForbids(t *testing.T) {
	p := Policy{
		Forbidden: []string{"cloud.google.com/", "github.com/aws/aws-sdk-go-v2/service/s3", "github.com/aws/aws-sdk-go-v2/service/iam"},
		Allow:     []string{"cloud.google.com/go/pubsub/v2"},
	}
	tests := []struct {
		pkg  string
		want string
	}{
		{"cloud.google.com/go/storage", "cloud.google.com/"},
		{"cloud.google.com/go/pubsub/v2", ""},
		{"cloud.google.com/go/pubsub/v2/apiv1", ""},
		{"github.com/aws/aws-sdk-go-v2/service/s3", "github.com/aws/aws-sdk-go-v2/service/s3"},
		{"github.com/aws/aws-sdk-go-v2/service/s3/types", "github.com/aws/aws-sdk-go-v2/service/s3"},
		{"github.com/aws/aws-sdk-go-v2/service/iam/types", "github.com/aws/aws-sdk-go-v2/service/iam"},
		// A package whose name only begins like a forbidden one.
		{"github.com/aws/aws-sdk-go-v2/service/s3control", ""},
		{"github.com/aws/aws-sdk-go-v2/service/internal/s3shared", ""},
		{"github.com/aws/aws-sdk-go-v2/service/dynamodb", ""},
		{"google.golang.org/protobuf/proto", ""},
	}
	for _, tt := range tests {
		got, ok := p.Forbids(tt.pkg)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Forbids(%s) = %q, %v; want %q", tt.pkg, got, ok, tt.want)
		}
	}
}
