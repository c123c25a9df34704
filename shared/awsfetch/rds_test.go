package awsfetch

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

func (e *env) createDB(t testing.TB, in *rds.CreateDBInstanceInput) *rdstypes.DBInstance {
	t.Helper()
	in.Engine, in.DBInstanceClass = aws.String("mysql"), aws.String("db.t3.micro")
	in.AllocatedStorage = aws.Int32(20)
	in.MasterUsername, in.MasterUserPassword = aws.String("admin"), aws.String("not-a-real-secret-1")
	out, err := e.rds.CreateDBInstance(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return out.DBInstance
}

func TestFetchDBInstance(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) *awsres.DBInstance
	}{
		{
			name: "compliant: encrypted, private, backed up, multi-AZ, protected",
			setup: func(t *testing.T, e *env) *awsres.DBInstance {
				key, err := e.kms.CreateKey(e.ctx, &kms.CreateKeyInput{Description: aws.String("rds")})
				if err != nil {
					t.Fatal(err)
				}
				db := e.createDB(t, &rds.CreateDBInstanceInput{
					DBInstanceIdentifier: aws.String(e.n("billing-db")), StorageEncrypted: aws.Bool(true), KmsKeyId: key.KeyMetadata.Arn,
					PubliclyAccessible: aws.Bool(false), BackupRetentionPeriod: aws.Int32(7), MultiAZ: aws.Bool(true), DeletionProtection: aws.Bool(true),
					Tags: []rdstypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
				})
				return &awsres.DBInstance{
					ID: e.n("billing-db"), ARN: aws.ToString(db.DBInstanceArn), Engine: "mysql", Class: "db.t3.micro", Status: "available",
					StorageEncrypted: true, KMSKeyID: aws.ToString(key.KeyMetadata.Arn), BackupRetentionPeriod: 7, MultiAZ: true, DeletionProtection: true,
					Tags: map[string]string{"env": "prod"},
				}
			},
		},
		{
			name: "non-compliant: unencrypted, public, no backups",
			setup: func(t *testing.T, e *env) *awsres.DBInstance {
				db := e.createDB(t, &rds.CreateDBInstanceInput{
					DBInstanceIdentifier: aws.String(e.n("scratch-db")), StorageEncrypted: aws.Bool(false),
					PubliclyAccessible: aws.Bool(true), BackupRetentionPeriod: aws.Int32(0),
				})
				return &awsres.DBInstance{
					ID: e.n("scratch-db"), ARN: aws.ToString(db.DBInstanceArn), Engine: "mysql", Class: "db.t3.micro", Status: "available",
					PubliclyAccessible: true, Tags: map[string]string{},
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			want := tc.setup(t, e)
			got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeDBInstance, ID: want.ARN, Account: motoAccount, Region: "us-east-1"})
			if !got.Exists {
				t.Fatal("Exists = false")
			}
			assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeDBInstance, ID: want.ARN, Name: want.ID, Account: motoAccount, Region: "us-east-1"})
			assertJSON(t, "tags", got.Tags, want.Tags)
			assertJSON(t, "document", got.Doc, want)
		})
	}
}

func TestFetchDBInstanceMissing(t *testing.T) {
	e := newEnv(t)
	e.createDB(t, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(e.n("temp-db"))})
	must(t)(e.rds.DeleteDBInstance(e.ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(e.n("temp-db")), SkipFinalSnapshot: aws.Bool(true)}))
	got := e.fetch(t, e.fetcher(nil), change.ResourceRef{Type: awsres.TypeDBInstance, Name: e.n("temp-db"), Account: motoAccount, Region: "us-east-1"})
	if got.Exists || got.Doc != nil {
		t.Errorf("deleted instance: Exists=%v Doc=%v", got.Exists, got.Doc)
	}
	assertRef(t, got.Ref, change.ResourceRef{Type: awsres.TypeDBInstance, ID: "arn:aws:rds:us-east-1:" + motoAccount + ":db:" + e.n("temp-db"), Name: e.n("temp-db"), Account: motoAccount, Region: "us-east-1"})
}
