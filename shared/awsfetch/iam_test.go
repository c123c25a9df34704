package awsfetch

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

const (
	adminAccessARN = "arn:aws:iam::aws:policy/AdministratorAccess"
	// adminAccessDoc is the document of AWS's AdministratorAccess policy.
	adminAccessDoc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	readBucketsDoc   = `{"Version":"2012-10-17","Statement":[{"Sid":"ReadInvoices","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::acme-prod-invoices","arn:aws:s3:::acme-prod-invoices/*"]}]}`
	readBucketsDocV2 = `{"Version":"2012-10-17","Statement":[{"Sid":"ReadInvoices","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-prod-invoices/*"}]}`
	inlineStarDoc    = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*:*","Resource":"*"}}`
	ec2TrustDoc      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	anyoneTrustDoc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`
)

func parsed(t testing.TB, doc string) awsres.Policy {
	t.Helper()
	p, err := awsres.ParsePolicy(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) createPolicy(t testing.TB, name, doc string) string {
	t.Helper()
	out, err := e.iam.CreatePolicy(e.ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Policy.Arn)
}

func (e *env) createUser(t testing.TB, name, path string, tags map[string]string) *iamtypes.User {
	t.Helper()
	in := &iam.CreateUserInput{UserName: aws.String(name), Path: aws.String(path)}
	for k, v := range tags {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := e.iam.CreateUser(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.User
}

func (e *env) createAccessKey(t testing.TB, user string) *iamtypes.AccessKey {
	t.Helper()
	out, err := e.iam.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		t.Fatal(err)
	}
	return out.AccessKey
}

func TestFetchUser(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) *awsres.IAMUser
	}{
		{
			name: "compliant: permissions through a group, one active key, no console",
			setup: func(t *testing.T, e *env) *awsres.IAMUser {
				u := e.createUser(t, e.n("alice"), "/engineering/", map[string]string{"team": "billing"})
				must(t)(e.iam.CreateGroup(e.ctx, &iam.CreateGroupInput{GroupName: aws.String(e.n("developers"))}))
				must(t)(e.iam.AddUserToGroup(e.ctx, &iam.AddUserToGroupInput{GroupName: aws.String(e.n("developers")), UserName: aws.String(e.n("alice"))}))
				key := e.createAccessKey(t, e.n("alice"))
				return &awsres.IAMUser{
					Name: e.n("alice"), ARN: aws.ToString(u.Arn), ID: aws.ToString(u.UserId), Path: "/engineering/", Created: u.CreateDate.UTC(),
					Policies: []awsres.AttachedPolicy{}, Groups: []string{e.n("developers")},
					AccessKeys: []awsres.AccessKey{{ID: aws.ToString(key.AccessKeyId), Status: "Active", Created: key.CreateDate.UTC()}},
					Tags:       map[string]string{"team": "billing"},
				}
			},
		},
		{
			name: "non-compliant: admin attached directly, inline wildcard, console, two keys",
			setup: func(t *testing.T, e *env) *awsres.IAMUser {
				u := e.createUser(t, e.n("ops-bot"), "/", nil)
				must(t)(e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String(e.n("ops-bot")), PolicyArn: aws.String(adminAccessARN)}))
				read := e.createPolicy(t, e.n("read-invoices"), readBucketsDoc)
				must(t)(e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String(e.n("ops-bot")), PolicyArn: aws.String(read)}))
				must(t)(e.iam.PutUserPolicy(e.ctx, &iam.PutUserPolicyInput{UserName: aws.String(e.n("ops-bot")), PolicyName: aws.String("break-glass"), PolicyDocument: aws.String(inlineStarDoc)}))
				must(t)(e.iam.CreateLoginProfile(e.ctx, &iam.CreateLoginProfileInput{UserName: aws.String(e.n("ops-bot")), Password: aws.String("Correct-Horse-9-Battery")}))
				k1, k2 := e.createAccessKey(t, e.n("ops-bot")), e.createAccessKey(t, e.n("ops-bot"))
				must(t)(e.iam.UpdateAccessKey(e.ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(e.n("ops-bot")), AccessKeyId: k2.AccessKeyId, Status: iamtypes.StatusTypeInactive}))
				return &awsres.IAMUser{
					Name: e.n("ops-bot"), ARN: aws.ToString(u.Arn), ID: aws.ToString(u.UserId), Path: "/", Created: u.CreateDate.UTC(),
					Policies: []awsres.AttachedPolicy{
						{Name: "AdministratorAccess", ARN: adminAccessARN, Kind: "aws_managed", Document: parsed(t, adminAccessDoc)},
						{Name: e.n("read-invoices"), ARN: read, Kind: "managed", Document: parsed(t, readBucketsDoc)},
						{Name: "break-glass", Kind: "inline", Document: parsed(t, inlineStarDoc)},
					},
					Groups:        []string{},
					ConsoleAccess: true,
					AccessKeys: []awsres.AccessKey{
						{ID: aws.ToString(k1.AccessKeyId), Status: "Active", Created: k1.CreateDate.UTC()},
						{ID: aws.ToString(k2.AccessKeyId), Status: "Inactive", Created: k2.CreateDate.UTC()},
					},
					Tags: map[string]string{},
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			// Events name users without their path; the ARN with the path
			// must resolve to the same canonical id.
			ref := change.ResourceRef{Type: awsres.TypeIAMUser, ID: want.ARN, Account: motoAccount}
			got := e.fetch(t, e.fetcher(nil), ref)
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeIAMUser, ID: "arn:aws:iam::" + motoAccount + ":user/" + want.Name, Name: want.Name, Account: motoAccount})
			assertJSON(t, "tags", got.Tags, want.Tags)
			assertJSON(t, "document", got.Doc, want)
			if doc := got.Doc.(*awsres.IAMUser); len(doc.Policies) > 0 && !doc.Policies[0].Document.Statements[0].Admin {
				t.Error("AdministratorAccess should parse as an admin statement")
			}
		})
	}
}

func TestFetchRole(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) *awsres.IAMRole
	}{
		{
			name: "compliant: service trust, scoped managed policy",
			setup: func(t *testing.T, e *env) *awsres.IAMRole {
				out, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String(e.n("invoice-worker")), Path: aws.String("/service/"),
					AssumeRolePolicyDocument: aws.String(ec2TrustDoc), Tags: []iamtypes.Tag{{Key: aws.String("app"), Value: aws.String("invoices")}}})
				if err != nil {
					t.Fatal(err)
				}
				read := e.createPolicy(t, e.n("read-invoices"), readBucketsDoc)
				must(t)(e.iam.AttachRolePolicy(e.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(e.n("invoice-worker")), PolicyArn: aws.String(read)}))
				return &awsres.IAMRole{
					Name: e.n("invoice-worker"), ARN: aws.ToString(out.Role.Arn), ID: aws.ToString(out.Role.RoleId), Path: "/service/",
					Policies:    []awsres.AttachedPolicy{{Name: e.n("read-invoices"), ARN: read, Kind: "managed", Document: parsed(t, readBucketsDoc)}},
					TrustPolicy: parsed(t, ec2TrustDoc),
					Tags:        map[string]string{"app": "invoices"},
				}
			},
		},
		{
			name: "non-compliant: anyone may assume it, inline admin",
			setup: func(t *testing.T, e *env) *awsres.IAMRole {
				out, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String(e.n("legacy-admin")), AssumeRolePolicyDocument: aws.String(anyoneTrustDoc)})
				if err != nil {
					t.Fatal(err)
				}
				must(t)(e.iam.PutRolePolicy(e.ctx, &iam.PutRolePolicyInput{RoleName: aws.String(e.n("legacy-admin")), PolicyName: aws.String("everything"), PolicyDocument: aws.String(inlineStarDoc)}))
				trust := parsed(t, anyoneTrustDoc)
				if !trust.Statements[0].Public {
					t.Fatal("fixture trust policy should parse as public")
				}
				return &awsres.IAMRole{
					Name: e.n("legacy-admin"), ARN: aws.ToString(out.Role.Arn), ID: aws.ToString(out.Role.RoleId), Path: "/",
					Policies:    []awsres.AttachedPolicy{{Name: "everything", Kind: "inline", Document: parsed(t, inlineStarDoc)}},
					TrustPolicy: trust,
					Tags:        map[string]string{},
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeIAMRole, Name: want.Name, Account: motoAccount})
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeIAMRole, ID: "arn:aws:iam::" + motoAccount + ":role/" + want.Name, Name: want.Name, Account: motoAccount})
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchGroup(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) *awsres.IAMGroup
	}{
		{
			name: "compliant: scoped managed policy",
			setup: func(t *testing.T, e *env) *awsres.IAMGroup {
				out, err := e.iam.CreateGroup(e.ctx, &iam.CreateGroupInput{GroupName: aws.String(e.n("auditors")), Path: aws.String("/security/")})
				if err != nil {
					t.Fatal(err)
				}
				read := e.createPolicy(t, e.n("read-invoices"), readBucketsDoc)
				must(t)(e.iam.AttachGroupPolicy(e.ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String(e.n("auditors")), PolicyArn: aws.String(read)}))
				return &awsres.IAMGroup{Name: e.n("auditors"), ARN: aws.ToString(out.Group.Arn), ID: aws.ToString(out.Group.GroupId), Path: "/security/",
					Policies: []awsres.AttachedPolicy{{Name: e.n("read-invoices"), ARN: read, Kind: "managed", Document: parsed(t, readBucketsDoc)}}}
			},
		},
		{
			name: "non-compliant: admin managed and inline",
			setup: func(t *testing.T, e *env) *awsres.IAMGroup {
				out, err := e.iam.CreateGroup(e.ctx, &iam.CreateGroupInput{GroupName: aws.String(e.n("admins"))})
				if err != nil {
					t.Fatal(err)
				}
				must(t)(e.iam.AttachGroupPolicy(e.ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String(e.n("admins")), PolicyArn: aws.String(adminAccessARN)}))
				must(t)(e.iam.PutGroupPolicy(e.ctx, &iam.PutGroupPolicyInput{GroupName: aws.String(e.n("admins")), PolicyName: aws.String("extra"), PolicyDocument: aws.String(inlineStarDoc)}))
				return &awsres.IAMGroup{Name: e.n("admins"), ARN: aws.ToString(out.Group.Arn), ID: aws.ToString(out.Group.GroupId), Path: "/",
					Policies: []awsres.AttachedPolicy{
						{Name: "AdministratorAccess", ARN: adminAccessARN, Kind: "aws_managed", Document: parsed(t, adminAccessDoc)},
						{Name: "extra", Kind: "inline", Document: parsed(t, inlineStarDoc)},
					}}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeIAMGroup, ID: want.ARN, Account: motoAccount})
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeIAMGroup, ID: "arn:aws:iam::" + motoAccount + ":group/" + want.Name, Name: want.Name, Account: motoAccount})
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchPolicy(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) (*awsres.IAMPolicy, map[string]string)
	}{
		{
			name: "customer managed, second version default, attached twice",
			setup: func(t *testing.T, e *env) (*awsres.IAMPolicy, map[string]string) {
				out, err := e.iam.CreatePolicy(e.ctx, &iam.CreatePolicyInput{PolicyName: aws.String(e.n("read-invoices")), PolicyDocument: aws.String(readBucketsDoc),
					Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("billing")}}})
				if err != nil {
					t.Fatal(err)
				}
				arn := out.Policy.Arn
				must(t)(e.iam.CreatePolicyVersion(e.ctx, &iam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: aws.String(readBucketsDocV2), SetAsDefault: true}))
				e.createUser(t, e.n("carol"), "/", nil)
				must(t)(e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String(e.n("carol")), PolicyArn: arn}))
				must(t)(e.iam.CreateGroup(e.ctx, &iam.CreateGroupInput{GroupName: aws.String(e.n("finance"))}))
				must(t)(e.iam.AttachGroupPolicy(e.ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String(e.n("finance")), PolicyArn: arn}))
				return &awsres.IAMPolicy{Name: e.n("read-invoices"), ARN: aws.ToString(arn), DefaultVersion: "v2", Document: parsed(t, readBucketsDocV2), AttachmentCount: 2},
					map[string]string{"owner": "billing"}
			},
		},
		{
			name: "AWS managed admin policy",
			setup: func(t *testing.T, e *env) (*awsres.IAMPolicy, map[string]string) {
				// Other tests attach it too: count from what it was.
				before, err := e.iam.GetPolicy(e.ctx, &iam.GetPolicyInput{PolicyArn: aws.String(adminAccessARN)})
				if err != nil {
					t.Fatal(err)
				}
				e.createUser(t, e.n("dave"), "/", nil)
				must(t)(e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String(e.n("dave")), PolicyArn: aws.String(adminAccessARN)}))
				return &awsres.IAMPolicy{Name: "AdministratorAccess", ARN: adminAccessARN, AWSManaged: true, DefaultVersion: aws.ToString(before.Policy.DefaultVersionId),
					Document: parsed(t, adminAccessDoc), AttachmentCount: int64(aws.ToInt32(before.Policy.AttachmentCount)) + 1}, map[string]string{}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want, tags := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeIAMPolicy, ID: want.ARN, Account: motoAccount})
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			wantAccount := motoAccount
			if want.AWSManaged {
				wantAccount = "aws"
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeIAMPolicy, ID: want.ARN, Name: want.Name, Account: wantAccount})
			assertJSON(t, "tags", got.Tags, tags)
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchIAMMissing(t *testing.T) {
	e := newEnv(t)
	pol := e.createPolicy(t, e.n("short-lived"), readBucketsDoc)
	must(t)(e.iam.DeletePolicy(e.ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(pol)}))
	e.createUser(t, e.n("mallory"), "/", nil)
	must(t)(e.iam.DeleteUser(e.ctx, &iam.DeleteUserInput{UserName: aws.String(e.n("mallory"))}))
	f := e.fetcher(nil)
	for _, ref := range []change.ResourceRef{
		{Type: awsres.TypeIAMUser, ID: "arn:aws:iam::" + motoAccount + ":user/" + e.n("mallory"), Account: motoAccount},
		{Type: awsres.TypeIAMRole, Name: e.n("never-created-role"), Account: motoAccount},
		{Type: awsres.TypeIAMGroup, Name: e.n("never-created-group"), Account: motoAccount},
		{Type: awsres.TypeIAMPolicy, ID: pol, Account: motoAccount},
	} {
		t.Run(ref.Type, func(t *testing.T) {
			got := e.fetch(t, f, ref)
			if got.Exists || got.Doc != nil {
				t.Errorf("Exists=%v Doc=%v, want a missing resource", got.Exists, got.Doc)
			}
			want := change.ResourceRef{Type: ref.Type, ID: awsres.CanonicalID(ref.Type, "aws", "", motoAccount, ref.ID+ref.Name), Account: motoAccount}
			want.Name = awsres.NameFromID(ref.Type, want.ID)
			assertRef(t, got.Ref, want)
		})
	}
}
