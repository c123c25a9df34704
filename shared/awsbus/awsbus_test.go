package awsbus_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/shared/awsbus"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// A request published on the bus is delivered by the remediator's rule
// (here to an SQS queue, which the emulator can observe) and decodes to the
// same request.
func TestDispatchIsDeliveredByTheRule(t *testing.T) {
	ctx := t.Context()
	moto := motoserver.StartTB(t)
	cfg := moto.Config("eu-west-1")
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("driftwatch")}); err != nil {
		t.Fatal(err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("remediator")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	pattern := `{"source":["driftwatch"],"detail-type":["RemediationApproved","RemediationUndoApproved","ReevaluationRequested"]}`
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("remediator"), EventBusName: aws.String("driftwatch"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("remediator"), EventBusName: aws.String("driftwatch"),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	want := remediation.Request{Op: remediation.OpApply, Key: store.Key{Cloud: "aws", Account: "123456789012", ResourceID: "arn:aws:s3:::invoices"},
		ResourceType: "AWS::S3::Bucket", Region: "eu-west-1", RemediationID: "rem-abc", By: "Alice", At: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	if err := awsbus.NewDispatcher(eb, "driftwatch").Dispatch(ctx, want); err != nil {
		t.Fatal(err)
	}
	msgs, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Messages) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(msgs.Messages))
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal([]byte(aws.ToString(msgs.Messages[0].Body)), &ev); err != nil {
		t.Fatal(err)
	}
	got, err := awsbus.Decode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}

func TestDecodeRefusesOtherEvents(t *testing.T) {
	good := json.RawMessage(`{"op":"apply","key":{"cloud":"aws","account":"1","resource_id":"r"},"resource_type":"T","remediation_id":"rem-1","by":"x","at":"2026-12-04T10:00:00Z"}`)
	tests := []struct {
		name string
		ev   events.EventBridgeEvent
	}{
		{"CloudTrail event", events.EventBridgeEvent{Source: "aws.s3", DetailType: "AWS API Call via CloudTrail", Detail: good}},
		{"unknown detail-type", events.EventBridgeEvent{Source: "driftwatch", DetailType: "Other", Detail: good}},
		{"op and detail-type disagree", events.EventBridgeEvent{Source: "driftwatch", DetailType: "RemediationUndoApproved", Detail: good}},
		{"unknown field", events.EventBridgeEvent{Source: "driftwatch", DetailType: "RemediationApproved", Detail: json.RawMessage(`{"op":"apply","x":1}`)}},
		{"no remediation id", events.EventBridgeEvent{Source: "driftwatch", DetailType: "RemediationApproved",
			Detail: json.RawMessage(`{"op":"apply","key":{"cloud":"aws","account":"1","resource_id":"r"},"resource_type":"T"}`)}},
	}
	for _, tc := range tests {
		if _, err := awsbus.Decode(tc.ev); !errors.Is(err, awsbus.ErrNotARequest) {
			t.Errorf("%s: error = %v, want ErrNotARequest", tc.name, err)
		}
	}
	if _, err := awsbus.Decode(events.EventBridgeEvent{Source: "driftwatch", DetailType: "RemediationApproved", Detail: good}); err != nil {
		t.Errorf("a valid request: %v", err)
	}
}
