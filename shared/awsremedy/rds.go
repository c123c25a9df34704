package awsremedy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

func dbFromDoc(d *awsres.DBInstance) loc {
	return loc{Name: d.ID, Region: regionOfARN(d.ARN), Account: accountOfARN(d.ARN)}
}

func dbFromRef(ref change.ResourceRef, _ string) loc {
	return loc{Name: refName(ref), Region: firstNonEmpty(regionOfARN(ref.ID), ref.Region), Account: accountOfARN(ref.ID)}
}

// dbInstanceAPI is what the RDS actions call.
type dbInstanceAPI interface {
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, optFns ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	ModifyDBInstance(ctx context.Context, in *rds.ModifyDBInstanceInput, optFns ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error)
}

func describeDB(ctx context.Context, c dbInstanceAPI, id string) (rdstypes.DBInstance, error) {
	out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return rdstypes.DBInstance{}, err
	}
	if len(out.DBInstances) != 1 {
		return rdstypes.DBInstance{}, fmt.Errorf("%w: DescribeDBInstances returned %d instances", ErrNotFound, len(out.DBInstances))
	}
	return out.DBInstances[0], nil
}

// rdsDisablePublicAccess makes a DB instance not publicly accessible, at
// once (ApplyImmediately). Undo makes it public again if it was.
func rdsDisablePublicAccess(b *builder) remediation.Action {
	perms := []string{"rds:DescribeDBInstances", "rds:ModifyDBInstance"}
	set := func(ctx context.Context, c dbInstanceAPI, id string, public bool) error {
		_, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), PubliclyAccessible: aws.Bool(public), ApplyImmediately: aws.Bool(true)})
		return err
	}
	return &action[awsres.DBInstance, enabled, dbInstanceAPI]{
		name: RDSDisablePublicAccess, resourceType: awsres.TypeDBInstance, service: rds.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.rds(RDSDisablePublicAccess, perms), func(c *rds.Client) dbInstanceAPI { return c }),
		fromDoc: dbFromDoc, fromRef: dbFromRef,
		plan: func(d *awsres.DBInstance) (remediation.Plan, error) {
			if !d.PubliclyAccessible {
				return remediation.Plan{Noop: true, Change: "DB instance " + d.ID + " is already not publicly accessible"}, nil
			}
			return remediation.Plan{Change: "Make DB instance " + d.ID + " not publicly accessible, applied immediately " +
				"(its endpoint stops resolving to a public address; clients outside the VPC lose access)"}, nil
		},
		apply: func(ctx context.Context, c dbInstanceAPI, l loc) (enabled, bool, error) {
			db, err := describeDB(ctx, c, l.Name)
			if err != nil {
				return enabled{}, false, err
			}
			before := enabled{Enabled: aws.ToBool(db.PubliclyAccessible)}
			if !before.Enabled {
				return before, false, nil
			}
			return before, true, set(ctx, c, l.Name, false)
		},
		undo: func(ctx context.Context, c dbInstanceAPI, l loc, before enabled) error {
			db, err := describeDB(ctx, c, l.Name)
			if err != nil || aws.ToBool(db.PubliclyAccessible) == before.Enabled {
				return err
			}
			return set(ctx, c, l.Name, before.Enabled)
		},
	}
}

// retention is a DB instance's backup retention period in days.
type retention struct {
	Days int32 `json:"days"`
}

// rdsEnableBackups sets the backup retention period of a DB instance that
// keeps no automated backups (0 days) to Options.BackupRetentionDays, at
// once. Going from 0 to a positive value restarts the instance; the plan
// says so. Undo sets the previous period back.
func rdsEnableBackups(b *builder) remediation.Action {
	perms := []string{"rds:DescribeDBInstances", "rds:ModifyDBInstance"}
	days := b.opts.BackupRetentionDays
	set := func(ctx context.Context, c dbInstanceAPI, id string, days int32) error {
		_, err := c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), BackupRetentionPeriod: aws.Int32(days), ApplyImmediately: aws.Bool(true)})
		return err
	}
	// current is the period in effect or already on its way (a pending
	// modification), so that a second Apply during the change does nothing.
	current := func(db rdstypes.DBInstance) int32 {
		if p := db.PendingModifiedValues; p != nil && p.BackupRetentionPeriod != nil {
			return *p.BackupRetentionPeriod
		}
		return aws.ToInt32(db.BackupRetentionPeriod)
	}
	return &action[awsres.DBInstance, retention, dbInstanceAPI]{
		name: RDSEnableBackups, resourceType: awsres.TypeDBInstance, service: rds.ServiceID, perms: perms, opts: &b.opts,
		clients: newRegional(b.rds(RDSEnableBackups, perms), func(c *rds.Client) dbInstanceAPI { return c }),
		fromDoc: dbFromDoc, fromRef: dbFromRef,
		plan: func(d *awsres.DBInstance) (remediation.Plan, error) {
			if d.BackupRetentionPeriod > 0 {
				return remediation.Plan{Noop: true, Change: fmt.Sprintf("DB instance %s already keeps automated backups for %d days", d.ID, d.BackupRetentionPeriod)}, nil
			}
			return remediation.Plan{Change: fmt.Sprintf("Set the backup retention period of DB instance %s from 0 to %d days, applied immediately "+
				"(turning backups on restarts the instance and takes a first snapshot)", d.ID, days)}, nil
		},
		apply: func(ctx context.Context, c dbInstanceAPI, l loc) (retention, bool, error) {
			db, err := describeDB(ctx, c, l.Name)
			if err != nil {
				return retention{}, false, err
			}
			before := retention{Days: current(db)}
			if before.Days > 0 {
				return before, false, nil
			}
			return before, true, set(ctx, c, l.Name, days)
		},
		undo: func(ctx context.Context, c dbInstanceAPI, l loc, before retention) error {
			db, err := describeDB(ctx, c, l.Name)
			if err != nil || current(db) == before.Days {
				return err
			}
			return set(ctx, c, l.Name, before.Days)
		},
	}
}
