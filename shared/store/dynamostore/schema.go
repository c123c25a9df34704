package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table schema. Terraform declares the same table; the infra test
// compares it with these constants.
const (
	// AttrPK is the partition key (S): "RES#<cloud>#<account>#<resource id>",
	// "EVENT#<event id>" or "RATE#<bucket>".
	AttrPK = "pk"
	// AttrSK is the sort key (S). In a resource partition: "STATE",
	// "FINDING#<rule id>", "REM#<remediation id>", "EXC#<rule id>" and
	// "AUDIT#<sortable Unix nanoseconds>#<seq>" (20 digits, the sign bit
	// flipped, so that the log sorts by time). "CLAIM" in an event
	// partition; "WINDOW#<window nanoseconds>#<sortable start nanoseconds>"
	// in a rate partition.
	AttrSK = "sk"
	// IndexOpenFindings is the global secondary index of open findings. It
	// is sparse: only open findings carry its key attributes.
	IndexOpenFindings = "gsi1"
	// AttrGSI1PK is the index partition key (S): "OPEN#<severity>".
	AttrGSI1PK = "gsi1pk"
	// AttrGSI1SK is the index sort key (S):
	// "<cloud>#<account>#<resource id>#<rule id>".
	AttrGSI1SK = "gsi1sk"
	// AttrTTL is the time-to-live attribute (N, Unix seconds) of event
	// claims and rate counters. Remediations, exceptions and audit entries
	// never expire.
	AttrTTL = "expires_at"
)

// TableInput returns the CreateTable request of the posture table: on-demand
// capacity, the key schema and the open-findings index (projecting every
// attribute, so OpenFindings needs no second read).
func TableInput(name string) *dynamodb.CreateTableInput {
	str := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{str(AttrPK), str(AttrSK), str(AttrGSI1PK), str(AttrGSI1SK)},
		KeySchema:            key(AttrPK, AttrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(IndexOpenFindings),
			KeySchema:  key(AttrGSI1PK, AttrGSI1SK),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}
}

// TableAPI is the part of the DynamoDB client that CreateTable uses.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// tableWait bounds how long CreateTable waits for the table to become
// active; a new on-demand table usually takes seconds.
const tableWait = 5 * time.Minute

// CreateTable creates the posture table (TableInput), waits until it is
// active and enables the TTL on AttrTTL. It is idempotent: an existing
// table is fine, and so is a TTL already enabled on AttrTTL. It does not
// check that an existing table has the declared schema.
func CreateTable(ctx context.Context, client TableAPI, name string) error {
	_, err := client.CreateTable(ctx, TableInput(name))
	if riu := (*types.ResourceInUseException)(nil); err != nil && !errors.As(err, &riu) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	if err := dynamodb.NewTableExistsWaiter(client).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWait); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe TTL of table %s: %w", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil {
		switch d.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			if aws.ToString(d.AttributeName) != AttrTTL {
				return fmt.Errorf("table %s: TTL is on attribute %q, want %q", name, aws.ToString(d.AttributeName), AttrTTL)
			}
			return nil
		}
	}
	// DynamoDB rejects enabling a TTL that is already enabled, hence the
	// describe above.
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(AttrTTL), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on table %s: %w", name, err)
	}
	return nil
}
