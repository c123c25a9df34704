// Package gcpbus carries remediation requests over a Pub/Sub topic: the
// Slack interactivity function (and the detector, in auto mode) publishes
// them with a Dispatcher; the GCP function receives them, either through a
// push subscription to its remediation route (DecodePush) or by pulling
// (Receive with a Handler from Requests), and runs the fix with its own
// service account. It is the GCP counterpart of awsbus and azbus.
//
// One message per request: the data is the request's JSON, and the
// attributes say what it is, so that a subscription filter
// (attributes.driftwatch_type = "Driftwatch.RemediationApproved") and the
// decoder can tell without reading the data:
//
//	driftwatch_type          the operation's type, from Types (the same
//	                         names as azbus's event types)
//	driftwatch_data_version  DataVersion, the version of the data's JSON
//	driftwatch_request_id    derived from the request (a re-dispatch of the
//	                         same request carries the same id, so both
//	                         deliveries correlate in the logs)
//
// Attribute keys use underscores, not hyphens, so that they are plain
// identifiers in the Pub/Sub filter language.
//
// No ordering key is set. Ordering would need a regional publisher with
// message ordering enabled, a subscription with ordering enabled, and a
// ResumePublish after every failed publish (a failure pauses the key); and
// it buys nothing here: the executor moves a remediation only by a
// conditional state transition, so an undo that overtakes its apply is
// refused and redelivered, and a duplicate is a no-op.
//
// Decoding is strict, and every refusal wraps ErrPoison: a message that is
// not a request will never become one, so it is acknowledged (logged with
// its reason), never redelivered.
package gcpbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/driftwatch/driftwatch/shared/remediation"
)

// Message attributes.
const (
	AttrType        = "driftwatch_type"
	AttrDataVersion = "driftwatch_data_version"
	AttrRequestID   = "driftwatch_request_id"
)

// Types are the driftwatch_type of each operation. The remediation
// subscription may filter on them; Decode accepts nothing else.
var Types = map[remediation.Op]string{
	remediation.OpApply:      "Driftwatch.RemediationApproved",
	remediation.OpUndo:       "Driftwatch.RemediationUndoApproved",
	remediation.OpReevaluate: "Driftwatch.ReevaluationRequested",
}

// DataVersion is the driftwatch_data_version of the requests' data: the
// version of remediation.Request's JSON. Decode refuses another.
const DataVersion = "1.0"

// ErrPoison marks a message no redelivery can make acceptable: it is not
// a remediation request, or a handler said so (Permanent). Receive
// acknowledges such a message with its reason logged; the push route
// answers it 2xx.
var ErrPoison = errors.New("poison message")

// Permanent marks a handler's error as final: Receive acknowledges the
// message (the error is logged) instead of asking for a redelivery. The
// result wraps both err and ErrPoison. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPoison} }

// PublishAPI is the publish the dispatcher makes: it returns once Pub/Sub
// acknowledged the message (with its server id) or refused it. Publisher
// adapts a *pubsub.Publisher.
type PublishAPI interface {
	Publish(ctx context.Context, msg *pubsub.Message) (serverID string, err error)
}

// Publisher adapts a *pubsub.Publisher (client.Publisher(topic)) to
// PublishAPI: it publishes and waits for the result, so that a dispatch
// reports success only once the server has stored the message.
type Publisher struct {
	P *pubsub.Publisher
}

// Publish implements PublishAPI.
func (p Publisher) Publish(ctx context.Context, msg *pubsub.Message) (string, error) {
	return p.P.Publish(ctx, msg).Get(ctx)
}

// NewPublisher returns the Publisher of topic on client, sending each
// message at once: a dispatch publishes one request and waits for it, so
// the client's batching (up to 10 ms, or 100 messages) would only add
// latency to every approval.
func NewPublisher(client *pubsub.Client, topic string) Publisher {
	p := client.Publisher(topic)
	p.PublishSettings.CountThreshold = 1
	return Publisher{P: p}
}

// DispatcherOptions tune a Dispatcher. The zero value is usable.
type DispatcherOptions struct {
	// Now stamps a request whose At is zero; nil means time.Now.
	Now func() time.Time
}

// Dispatcher publishes remediation requests to one topic (the
// publisher's).
type Dispatcher struct {
	pub PublishAPI
	now func() time.Time
}

// NewDispatcher returns a Dispatcher publishing through p.
func NewDispatcher(p PublishAPI, opts *DispatcherOptions) *Dispatcher {
	d := &Dispatcher{pub: p, now: time.Now}
	if opts != nil && opts.Now != nil {
		d.now = opts.Now
	}
	return d
}

// Dispatch publishes one request and returns after Pub/Sub acknowledged
// it. An invalid request is refused before anything is sent. An error
// means Pub/Sub did not confirm storing the request (the client library
// has already retried what it retries); when ctx ended first, the request
// may still arrive, which the executor's state machine makes harmless
// should the clicker retry.
func (d *Dispatcher) Dispatch(ctx context.Context, req remediation.Request) error {
	msg, err := NewMessage(req, d.now())
	if err != nil {
		return err
	}
	if _, err := d.pub.Publish(ctx, msg); err != nil {
		return fmt.Errorf("publish %s for %s: %w", req.Op, req.Key, err)
	}
	return nil
}

// NewMessage is the message Dispatch publishes for req: the request's
// JSON, with At set to now (in UTC) when it is zero, and the attributes of
// the package comment.
func NewMessage(req remediation.Request, now time.Time) (*pubsub.Message, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	typ, ok := Types[req.Op]
	if !ok {
		return nil, fmt.Errorf("remediation request: no message type for op %q", req.Op)
	}
	if req.At.IsZero() {
		req.At = now
	}
	req.At = req.At.UTC()
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode remediation request: %w", err)
	}
	return &pubsub.Message{
		Data: data,
		Attributes: map[string]string{
			AttrType:        typ,
			AttrDataVersion: DataVersion,
			AttrRequestID:   requestID(data),
		},
	}, nil
}

// requestID is the hex of the first 16 bytes of SHA-256(data).
func requestID(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:16])
}

// Decode reads a request from a message's data and attributes (as pulled,
// or as ParsePush returns them). It is strict: the type must be one of
// Types, the data version DataVersion, the data exactly a
// remediation.Request (no unknown fields, nothing after it) whose op
// matches the type and which validates. Other attributes are ignored.
// Every refusal wraps ErrPoison.
func Decode(data []byte, attributes map[string]string) (remediation.Request, error) {
	typ, ok := attributes[AttrType]
	if !ok {
		return remediation.Request{}, fmt.Errorf("%w: not a remediation request: no %s attribute", ErrPoison, AttrType)
	}
	op, err := opOf(typ)
	if err != nil {
		return remediation.Request{}, err
	}
	if v := attributes[AttrDataVersion]; v != DataVersion {
		return remediation.Request{}, fmt.Errorf("%w: not a remediation request: type %q with data version %q (want %q)", ErrPoison, typ, v, DataVersion)
	}
	var req remediation.Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return remediation.Request{}, fmt.Errorf("%w: not a remediation request: data: %v", ErrPoison, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return remediation.Request{}, fmt.Errorf("%w: not a remediation request: data: trailing content after the request", ErrPoison)
	}
	if req.Op != op {
		return remediation.Request{}, fmt.Errorf("%w: not a remediation request: type %q carries op %q", ErrPoison, typ, req.Op)
	}
	if err := req.Validate(); err != nil {
		return remediation.Request{}, fmt.Errorf("%w: not a remediation request: %v", ErrPoison, err)
	}
	return req, nil
}

// opOf returns the operation a type carries.
func opOf(typ string) (remediation.Op, error) {
	for o, t := range Types {
		if t == typ {
			return o, nil
		}
	}
	return "", fmt.Errorf("%w: not a remediation request: type %q", ErrPoison, typ)
}

// Message is one Pub/Sub message as a handler sees it, pulled or pushed.
// It carries no way to acknowledge: Receive (or the push route's status)
// does that from the handler's result.
type Message struct {
	// ID is the server-assigned message id.
	ID string
	// Data is the payload, already base64-decoded.
	Data []byte
	// Attributes are the publisher's attributes.
	Attributes map[string]string
	// PublishTime is when Pub/Sub stored the message.
	PublishTime time.Time
	// DeliveryAttempt counts deliveries (1 on the first) when the
	// subscription has a dead-letter policy; 0 otherwise.
	DeliveryAttempt int
	// OrderingKey is the message's ordering key, if any.
	OrderingKey string
	// Subscription is the push body's subscription (push only).
	Subscription string
}

// pushBody is a push subscription's request body. The message repeats
// its id and publish time in snake case (both spellings are documented);
// either is accepted.
type pushBody struct {
	Message *struct {
		Data         *string           `json:"data"`
		Attributes   map[string]string `json:"attributes"`
		MessageID    string            `json:"messageId"`
		MessageID2   string            `json:"message_id"`
		PublishTime  string            `json:"publishTime"`
		PublishTime2 string            `json:"publish_time"`
		OrderingKey  string            `json:"orderingKey"`
	} `json:"message"`
	Subscription    string `json:"subscription"`
	DeliveryAttempt int    `json:"deliveryAttempt"`
}

// ParsePush reads the message of a push subscription's body,
// {"message": {"data": base64, "attributes": {...}, "messageId": ...,
// "publishTime": ...}, "subscription": ...}. Unknown envelope fields are
// ignored (Pub/Sub adds some over time); a message without data has empty
// data. Every refusal wraps ErrPoison.
func ParsePush(body []byte) (Message, error) {
	var b pushBody
	if err := json.Unmarshal(body, &b); err != nil {
		return Message{}, fmt.Errorf("%w: not a Pub/Sub push body: %v", ErrPoison, err)
	}
	if b.Message == nil {
		return Message{}, fmt.Errorf("%w: not a Pub/Sub push body: no message", ErrPoison)
	}
	m := b.Message
	out := Message{
		ID: first(m.MessageID, m.MessageID2), Attributes: m.Attributes, OrderingKey: m.OrderingKey,
		Subscription: b.Subscription, DeliveryAttempt: b.DeliveryAttempt,
	}
	if m.Data != nil {
		data, err := base64.StdEncoding.DecodeString(*m.Data)
		if err != nil {
			return Message{}, fmt.Errorf("%w: the push message's data is not base64: %v", ErrPoison, err)
		}
		out.Data = data
	}
	if pt := first(m.PublishTime, m.PublishTime2); pt != "" {
		t, err := time.Parse(time.RFC3339Nano, pt)
		if err != nil {
			return Message{}, fmt.Errorf("%w: the push message's publish time %q is not RFC 3339", ErrPoison, pt)
		}
		out.PublishTime = t
	}
	return out, nil
}

// DecodePush reads a request from a push subscription's body: ParsePush,
// then Decode. Every refusal wraps ErrPoison.
func DecodePush(body []byte) (remediation.Request, error) {
	m, err := ParsePush(body)
	if err != nil {
		return remediation.Request{}, err
	}
	return Decode(m.Data, m.Attributes)
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// PushDecoder is DecodePush for the GCP function's remediation route
// (gcpfunc.RequestDecoder): it also returns the message id, when the body
// has one, for the logs and the answer, even when the request is refused.
type PushDecoder struct{}

// DecodePush reads a request from a push body; see the package's
// DecodePush.
func (PushDecoder) DecodePush(body []byte) (remediation.Request, string, error) {
	m, err := ParsePush(body)
	if err != nil {
		return remediation.Request{}, "", err
	}
	req, err := Decode(m.Data, m.Attributes)
	return req, m.ID, err
}
