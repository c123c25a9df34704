package awsevent

import (
	"testing"
)

func TestClassifyVia(t *testing.T) {
	// User agents as they appear in the corpus.
	cases := []struct {
		ua, invokedBy, idType string
		console               bool
		want                  string
	}{
		{"console.amazonaws.com", "", "AssumedRole", false, ViaConsole},
		{"console.ec2.amazonaws.com", "", "AssumedRole", false, ViaConsole},
		{"[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.666 Linux/4.9.184-0.1.ac.235.83.329.metal1.x86_64 OpenJDK_64-Bit_Server_VM/25.232-b09 java/1.8.0_232 vendor/Oracle_Corporation]", "", "IAMUser", false, ViaConsole},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)", "", "AssumedRole", false, ViaConsole},
		{"signin.amazonaws.com", "signin.amazonaws.com", "Root", false, ViaConsole},
		{"aws-sdk-go-v2/1.32.3 os/linux lang/go#1.23.1", "", "AssumedRole", true, ViaConsole},
		{"APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.73.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.42.34 (go1.17.5; darwin; amd64)", "", "AssumedRole", false, ViaTerraform},
		{"aws-sdk-go/1.29.7 (go1.13.7; darwin; amd64) APN/1.0 HashiCorp/1.0 Terraform/0.12.24 (+https://www.terraform.io)", "", "AssumedRole", false, ViaTerraform},
		{"APN/1.0 HashiCorp/1.0 OpenTofu/1.6.0 aws-sdk-go-v2/1.24.0", "", "AssumedRole", false, ViaTerraform},
		{"cloudformation.amazonaws.com", "cloudformation.amazonaws.com", "AssumedRole", false, ViaCloudFormation},
		{"Mozilla/2.0 (compatible; NEWT ActiveX; Win32)", "cloudformation.amazonaws.com", "AssumedRole", false, ViaCloudFormation},
		{"aws-cli/2.13.0 Python/3.11.4 Linux/5.10.0-1234-aws exe/x86_64.amzn.2 prompt/off command/ec2.authorize-security-group-ingress", "", "IAMUser", false, ViaCLI},
		{"aws-cli/1.10.32 Python/2.7.9 Windows/7 botocore/1.4.22", "", "IAMUser", false, ViaCLI},
		// CloudShell runs the CLI with console credentials.
		{"aws-cli/2.15.59 md/awscrt#0.19.19 ua/2.0 os/linux exec-env/CloudShell", "", "AssumedRole", true, ViaCLI},
		{"Boto3/1.26.0 Python/3.9.0 Linux/5.4 Botocore/1.29.0", "", "AssumedRole", false, ViaSDK},
		{"aws-sdk-go/1.40.21 (go1.17; linux; amd64) exec-env/AWS_Lambda_go1.x", "", "AssumedRole", false, ViaSDK},
		{"aws-sdk-java/1.12.261 Linux/5.10 OpenJDK_64-Bit_Server_VM/11", "", "AssumedRole", false, ViaSDK},
		{"AWS Internal", "", "AssumedRole", false, ViaService},
		{"aws-internal/3 aws-sdk-java/1.11.1030 Linux/5.4.116-64.217.amzn2int.x86_64", "", "AssumedRole", false, ViaService},
		{"autoscaling.amazonaws.com", "autoscaling.amazonaws.com", "AWSService", false, ViaService},
		{"", "config.amazonaws.com", "AssumedRole", false, ViaService},
		{"", "", "AWSService", false, ViaService},
		{"stratus-red-team_ea782787-a65d-4fc4-9fca-1c97869a9a25", "", "IAMUser", false, ViaUnknown},
		{"python-requests/2.28.0", "", "IAMUser", false, ViaUnknown},
		{"", "", "IAMUser", false, ViaUnknown},
	}
	for _, tc := range cases {
		if got := classifyVia(tc.ua, tc.invokedBy, tc.idType, tc.console); got != tc.want {
			t.Errorf("classifyVia(%q, %q, %q, %v) = %s, want %s", tc.ua, tc.invokedBy, tc.idType, tc.console, got, tc.want)
		}
	}
}

func TestActorName(t *testing.T) {
	cases := []struct {
		name string
		ui   userIdentity
		want string
	}{
		{"IAM user", userIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/team/Alice", UserName: "Alice"}, "Alice"},
		{"IAM user without userName", userIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/team/Alice"}, "Alice"},
		{"assumed role", userIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::112233445566:assumed-role/Operator/ryan@example.com"}, "Operator/ryan@example.com"},
		{"assumed role without session", userIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/tester"}, "tester"},
		{"identity center session", userIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DeveloperAccess_3f1c2a9b8d7e6f50/alice@example.com"}, "alice@example.com"},
		{"assumed role without ARN", userIdentity{Type: "AssumedRole", SessionContext: sessionContext{SessionIssuer: sessionIssuer{UserName: "TestRole"}}}, "TestRole"},
		{"root", userIdentity{Type: "Root", ARN: "arn:aws:iam::123456789012:root", UserName: "root"}, "root"},
		{"federated user", userIdentity{Type: "FederatedUser", ARN: "arn:aws:sts::123456789012:federated-user/bob"}, "bob"},
		{"service", userIdentity{Type: "AWSService", InvokedBy: "cloudtrail.amazonaws.com"}, "cloudtrail.amazonaws.com"},
		{"placeholder", userIdentity{Type: "...", ARN: "...", PrincipalID: "12345"}, "12345"},
		{"nothing", userIdentity{}, ""},
	}
	for _, tc := range cases {
		if got := actorName(&tc.ui); got != tc.want {
			t.Errorf("%s: actorName = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestActorPrincipal(t *testing.T) {
	cases := []struct {
		ui   userIdentity
		want string
	}{
		{userIdentity{ARN: "arn:aws:iam::1:user/a", InvokedBy: "x", PrincipalID: "AID"}, "arn:aws:iam::1:user/a"},
		{userIdentity{InvokedBy: "cloudtrail.amazonaws.com", PrincipalID: "AID"}, "cloudtrail.amazonaws.com"},
		{userIdentity{PrincipalID: "AID"}, "AID"},
	}
	for _, tc := range cases {
		if got := actorOf(&record{UserIdentity: tc.ui}).Principal; got != tc.want {
			t.Errorf("principal of %+v = %q, want %q", tc.ui, got, tc.want)
		}
	}
}
