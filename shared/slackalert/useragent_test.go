package slackalert

import "testing"

func TestShortUserAgent(t *testing.T) {
	// Inputs are user agents from the CloudTrail corpus (/work/shared/corpus).
	tests := []struct{ in, want string }{
		{"aws-cli/2.13.0 Python/3.11.4 Linux/5.10.0-1234-aws exe/x86_64.ubuntu.22", "aws-cli/2.13.0"},
		{"aws-cli/1.15.42 Python/3.6.1 Darwin/17.7.0 botocore/1.10.42", "aws-cli/1.15.42"},
		{"APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.76.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.157 (go1.19.3; darwin; arm64) 68319f60-9dec-43b2-9702-de3a08c9d8a3 HashiCorp-terraform-exec/0.17.3", "Terraform/1.1.2 terraform-provider-aws/3.76.1"},
		{"aws-sdk-go/1.29.7 (go1.13.7; darwin; amd64) APN/1.0 HashiCorp/1.0 Terraform/0.12.24 (+https://www.terraform.io)", "Terraform/0.12.24"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:124.0) Gecko/20100101 Firefox/124.0", "Firefox 124"},
		{"[Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/1.2.3.4 Safari/537.36]", "Chrome 1"},
		{"Mozilla/2.0 (compatible; NEWT ActiveX; Win32)", "Mozilla/2.0"},
		{"Mozilla", "Mozilla"},
		{"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.666 Linux/4.9.184-0.1.ac.235.83.329.metal1.x86_64]", "S3Console/0.4"},
		{"aws-internal/3 aws-sdk-java/1.11.1030 Linux/5.4.116-64.217.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.302-b08", "aws-sdk-java/1.11.1030"},
		{"Boto3/1.26.0", "Boto3/1.26.0"},
		{"console.amazonaws.com", "console.amazonaws.com"},
		{"AWS Internal", "AWS"},
		{"[]", ""},
		{"", ""},
		{"xyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "xyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy…"},
	}
	for _, tt := range tests {
		if got := shortUserAgent(tt.in); got != tt.want {
			t.Errorf("shortUserAgent(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
