package awsdemo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/driftwatch/driftwatch/shared/awsbus"
)

// Bus is the driftwatch EventBridge bus with the remediator's rule, as
// infra/aws deploys it, except that the rule delivers to a queue the caller
// drains into the remediator (the emulator cannot invoke a local Lambda).
type Bus struct {
	Name  string
	sqs   *sqs.Client
	queue string
}

// NewBus creates the bus, the rule (the remediator's pattern) and the
// queue it delivers to.
func NewBus(ctx context.Context, cfg aws.Config, name string) (*Bus, error) {
	eb, q := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		return nil, fmt.Errorf("create bus: %w", err)
	}
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-remediator")})
	if err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("queue attributes: %w", err)
	}
	var types []string
	for _, dt := range awsbus.DetailTypes {
		types = append(types, dt)
	}
	pattern, _ := json.Marshal(map[string]any{"source": []string{awsbus.Source}, "detail-type": types})
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("remediator"), EventBusName: aws.String(name),
		EventPattern: aws.String(string(pattern))}); err != nil {
		return nil, fmt.Errorf("put rule: %w", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("remediator"), EventBusName: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("remediator"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		return nil, fmt.Errorf("put targets: %w", err)
	}
	return &Bus{Name: name, sqs: q, queue: aws.ToString(queue.QueueUrl)}, nil
}

// Drain hands every event the rule delivered to run, as Lambda would,
// until none is left, and returns how many it handed over.
func (b *Bus) Drain(ctx context.Context, run func(ctx context.Context, ev events.EventBridgeEvent, raw []byte) error) (int, error) {
	n := 0
	for {
		out, err := b.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(b.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			return n, fmt.Errorf("receive: %w", err)
		}
		if len(out.Messages) == 0 {
			return n, nil
		}
		for _, m := range out.Messages {
			raw := []byte(aws.ToString(m.Body))
			var ev events.EventBridgeEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return n, fmt.Errorf("decode delivered event: %w", err)
			}
			if err := run(ctx, ev, raw); err != nil {
				return n, err
			}
			n++
			if _, err := b.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(b.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return n, fmt.Errorf("delete: %w", err)
			}
		}
	}
}
