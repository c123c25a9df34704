// Package azbus carries remediation requests over an Event Grid custom
// topic: the Slack interactivity function (and the detector, in auto mode)
// publishes them with the azeventgrid publisher client; an event
// subscription on the topic delivers them to the Azure function's
// remediation route, which decodes them with Decode or DecodeCloudEvent.
// It is the Azure counterpart of awsbus.
//
// Requests are published in the Event Grid schema (the custom topic's
// input schema, "EventGridSchema"): one event per request, eventType from
// EventTypes, dataVersion DataVersion, subject the resource id and data the
// request's JSON. The event subscription may deliver them in either the
// Event Grid schema or CloudEvents 1.0 (Event Grid converts); both decode.
//
// The client is the caller's: azeventgrid.NewClientWithSharedKeyCredential
// with the topic key (sent as aeg-sas-key), or azeventgrid.NewClient with
// an Entra token credential (the publisher needs the "EventGrid Data
// Sender" role on the topic). The endpoint is the topic's endpoint
// including its path, https://<topic>.<region>-1.eventgrid.azure.net/api/events.
package azbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/remediation"
)

// EventTypes are the eventType (CloudEvents type) of each operation. The
// remediation route's event subscription filters on all three; Decode
// accepts nothing else.
var EventTypes = map[remediation.Op]string{
	remediation.OpApply:      "Driftwatch.RemediationApproved",
	remediation.OpUndo:       "Driftwatch.RemediationUndoApproved",
	remediation.OpReevaluate: "Driftwatch.ReevaluationRequested",
}

// DataVersion is the dataVersion of the requests' data: the version of
// remediation.Request's JSON. Decode refuses an Event Grid event of
// another version.
const DataVersion = "1.0"

// PublishEventsAPI is the Event Grid call the dispatcher makes
// (*azeventgrid.Client satisfies it).
type PublishEventsAPI interface {
	PublishEvents(ctx context.Context, events []azeventgrid.Event, options *azeventgrid.PublishEventsOptions) (azeventgrid.PublishEventsResponse, error)
}

// DispatcherOptions tune a Dispatcher. The zero value is usable.
type DispatcherOptions struct {
	// Now stamps a request whose At is zero; nil means time.Now.
	Now func() time.Time
}

// Dispatcher publishes remediation requests to one custom topic (the
// client's endpoint).
type Dispatcher struct {
	client PublishEventsAPI
	now    func() time.Time
}

// NewDispatcher returns a Dispatcher publishing through client.
func NewDispatcher(client PublishEventsAPI, opts *DispatcherOptions) *Dispatcher {
	d := &Dispatcher{client: client, now: time.Now}
	if opts != nil && opts.Now != nil {
		d.now = opts.Now
	}
	return d
}

// Dispatch publishes one request. An error means the request was not
// accepted by Event Grid (the SDK has already retried what it retries); it
// never carries the topic key.
func (d *Dispatcher) Dispatch(ctx context.Context, req remediation.Request) error {
	ev, err := NewEvent(req, d.now())
	if err != nil {
		return err
	}
	if _, err := d.client.PublishEvents(ctx, []azeventgrid.Event{ev}, nil); err != nil {
		return fmt.Errorf("publish %s for %s: %w", req.Op, req.Key, err)
	}
	return nil
}

// NewEvent is the Event Grid event Dispatch publishes for req: the id is
// derived from the request (a re-dispatch of the same request carries the
// same id, so the two deliveries correlate in the logs; the executor's
// state machine makes the second a no-op), the event time is req.At, or
// now when that is zero.
func NewEvent(req remediation.Request, now time.Time) (azeventgrid.Event, error) {
	if err := req.Validate(); err != nil {
		return azeventgrid.Event{}, err
	}
	typ, ok := EventTypes[req.Op]
	if !ok {
		return azeventgrid.Event{}, fmt.Errorf("remediation request: no event type for op %q", req.Op)
	}
	data, err := json.Marshal(req)
	if err != nil {
		return azeventgrid.Event{}, fmt.Errorf("encode remediation request: %w", err)
	}
	at := req.At
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	id, subject, version := eventID(data), req.Key.ResourceID, DataVersion
	return azeventgrid.Event{
		ID:          &id,
		EventType:   &typ,
		Subject:     &subject,
		EventTime:   &at,
		DataVersion: &version,
		// Raw JSON, so that the data is an object on the wire, not a
		// base64 string.
		Data: json.RawMessage(data),
	}, nil
}

// eventID formats the first 16 bytes of SHA-256(data) as a GUID, the form
// Event Grid event ids usually take.
func eventID(data []byte) string {
	h := sha256.Sum256(data)
	s := hex.EncodeToString(h[:16])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// ErrNotARequest is returned for an event that is not a driftwatch
// remediation request.
var ErrNotARequest = errors.New("not a driftwatch remediation request")

// Decode reads a request from an event delivered in the Event Grid schema.
// It is strict: the event type must be one of EventTypes, the data version
// DataVersion, the data exactly a remediation.Request (no unknown fields,
// nothing after it) whose op matches the event type and which validates.
// Every refusal wraps ErrNotARequest.
func Decode(ev azsystemevents.EventGridEvent) (remediation.Request, error) {
	typ := deref(ev.EventType)
	op, err := opOf(typ)
	if err != nil {
		return remediation.Request{}, err
	}
	if ev.DataVersion == nil || *ev.DataVersion != DataVersion {
		return remediation.Request{}, fmt.Errorf("%w: event type %q with data version %q (want %q)", ErrNotARequest, typ, deref(ev.DataVersion), DataVersion)
	}
	return decodeData(op, typ, ev.Data)
}

// DecodeCloudEvent reads a request from an event delivered in the
// CloudEvents 1.0 schema (an event subscription converting the topic's
// Event Grid events). The same rules as Decode apply, except the data
// version, which the conversion does not carry; a data content type, when
// present, must be JSON.
func DecodeCloudEvent(ev messaging.CloudEvent) (remediation.Request, error) {
	op, err := opOf(ev.Type)
	if err != nil {
		return remediation.Request{}, err
	}
	if ev.DataContentType != nil {
		mt, _, err := mime.ParseMediaType(*ev.DataContentType)
		if err != nil || mt != "application/json" {
			return remediation.Request{}, fmt.Errorf("%w: event type %q with data content type %q", ErrNotARequest, ev.Type, *ev.DataContentType)
		}
	}
	return decodeData(op, ev.Type, ev.Data)
}

// opOf returns the operation an event type carries.
func opOf(typ string) (remediation.Op, error) {
	for o, t := range EventTypes {
		if t == typ {
			return o, nil
		}
	}
	return "", fmt.Errorf("%w: event type %q", ErrNotARequest, typ)
}

// decodeData reads the request from an event's data, strictly.
func decodeData(op remediation.Op, typ string, data any) (remediation.Request, error) {
	var raw []byte
	switch d := data.(type) {
	case []byte: // what both SDK envelopes hold after unmarshalling
		raw = d
	case json.RawMessage:
		raw = d
	default:
		return remediation.Request{}, fmt.Errorf("%w: event type %q: data is a %T, not JSON", ErrNotARequest, typ, data)
	}
	var req remediation.Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return remediation.Request{}, fmt.Errorf("%w: data: %v", ErrNotARequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return remediation.Request{}, fmt.Errorf("%w: data: trailing content after the request", ErrNotARequest)
	}
	if req.Op != op {
		return remediation.Request{}, fmt.Errorf("%w: event type %q carries op %q", ErrNotARequest, typ, req.Op)
	}
	if err := req.Validate(); err != nil {
		return remediation.Request{}, fmt.Errorf("%w: %v", ErrNotARequest, err)
	}
	return req, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
