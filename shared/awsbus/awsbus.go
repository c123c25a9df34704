// Package awsbus carries remediation requests over an EventBridge bus: the
// interactivity function (and the detector, in auto mode) publishes them
// with PutEvents; an EventBridge rule delivers them to the remediator.
package awsbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/driftwatch/driftwatch/shared/remediation"
)

// Source is the EventBridge source of driftwatch's own events; the
// remediator's rule matches it.
const Source = "driftwatch"

// DetailTypes by operation. The remediator's rule matches all three.
var DetailTypes = map[remediation.Op]string{
	remediation.OpApply:      "RemediationApproved",
	remediation.OpUndo:       "RemediationUndoApproved",
	remediation.OpReevaluate: "ReevaluationRequested",
}

// PutEventsAPI is the EventBridge call the dispatcher makes
// (events:PutEvents on the bus).
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Dispatcher publishes remediation requests to one bus.
type Dispatcher struct {
	client PutEventsAPI
	bus    string
}

// NewDispatcher returns a Dispatcher publishing to bus (a name or ARN).
func NewDispatcher(client PutEventsAPI, bus string) *Dispatcher {
	return &Dispatcher{client: client, bus: bus}
}

// Dispatch publishes one request. A request EventBridge refuses is an error.
func (d *Dispatcher) Dispatch(ctx context.Context, req remediation.Request) error {
	if err := req.Validate(); err != nil {
		return err
	}
	detail, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode remediation request: %w", err)
	}
	out, err := d.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(d.bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(DetailTypes[req.Op]),
		Detail:       aws.String(string(detail)),
		Resources:    []string{req.Key.ResourceID},
	}}})
	if err != nil {
		return fmt.Errorf("publish %s for %s: %w", req.Op, req.Key, err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("publish %s for %s: EventBridge refused it: %s: %s", req.Op, req.Key, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}

// ErrNotARequest is returned for an event that is not a driftwatch
// remediation request.
var ErrNotARequest = errors.New("not a driftwatch remediation request")

// Decode reads a request from the event the remediator receives.
func Decode(ev events.EventBridgeEvent) (remediation.Request, error) {
	if ev.Source != Source {
		return remediation.Request{}, fmt.Errorf("%w: source %q", ErrNotARequest, ev.Source)
	}
	var op remediation.Op
	for o, dt := range DetailTypes {
		if dt == ev.DetailType {
			op = o
		}
	}
	if op == "" {
		return remediation.Request{}, fmt.Errorf("%w: detail-type %q", ErrNotARequest, ev.DetailType)
	}
	var req remediation.Request
	dec := json.NewDecoder(bytes.NewReader(ev.Detail))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return remediation.Request{}, fmt.Errorf("%w: detail: %v", ErrNotARequest, err)
	}
	if req.Op != op {
		return remediation.Request{}, fmt.Errorf("%w: detail-type %q carries op %q", ErrNotARequest, ev.DetailType, req.Op)
	}
	if err := req.Validate(); err != nil {
		return remediation.Request{}, fmt.Errorf("%w: %v", ErrNotARequest, err)
	}
	return req, nil
}
