package awsfetch

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

// rdsAPI is what the DB instance reader calls. DescribeDBInstances carries
// the tags too, so one call reads everything.
type rdsAPI interface {
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
}

func (f *Fetcher) fetchDBInstance(ctx context.Context, t target) (observation, error) {
	out, err := f.rds.get(t.region).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(t.name)})
	if err != nil {
		return observation{}, fmt.Errorf("db instance %s: %w", t.name, err)
	}
	switch len(out.DBInstances) {
	case 0:
		return observation{}, fmt.Errorf("db instance %s: %w: DescribeDBInstances returned no instance", t.name, errNotFound)
	case 1:
	default:
		return observation{}, fmt.Errorf("db instance %s: DescribeDBInstances returned %d instances for one identifier", t.name, len(out.DBInstances))
	}
	db := out.DBInstances[0]
	doc := &awsres.DBInstance{
		ID:                    aws.ToString(db.DBInstanceIdentifier),
		ARN:                   aws.ToString(db.DBInstanceArn),
		Engine:                aws.ToString(db.Engine),
		Class:                 aws.ToString(db.DBInstanceClass),
		Status:                aws.ToString(db.DBInstanceStatus),
		StorageEncrypted:      aws.ToBool(db.StorageEncrypted),
		KMSKeyID:              aws.ToString(db.KmsKeyId),
		PubliclyAccessible:    aws.ToBool(db.PubliclyAccessible),
		BackupRetentionPeriod: int64(aws.ToInt32(db.BackupRetentionPeriod)),
		MultiAZ:               aws.ToBool(db.MultiAZ),
		DeletionProtection:    aws.ToBool(db.DeletionProtection),
		ReadReplicaSource:     aws.ToString(db.ReadReplicaSourceDBInstanceIdentifier),
		ClusterID:             aws.ToString(db.DBClusterIdentifier),
		Tags:                  tagMap(db.TagList, func(t rdstypes.Tag) (string, string) { return aws.ToString(t.Key), aws.ToString(t.Value) }),
	}
	id := awsres.CanonicalID(awsres.TypeDBInstance, f.opts.Partition, t.region, t.account, firstNonEmpty(doc.ARN, doc.ID))
	return observation{id: id, name: doc.ID, region: t.region, account: accountFromARN(id), tags: doc.Tags, doc: doc}, nil
}
