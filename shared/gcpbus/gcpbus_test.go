package gcpbus_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// requestID matches the driftwatch_request_id attribute.
var requestID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// The dispatcher publishes exactly one message to the topic, waits for
// the server's acknowledgement, and the stored message is the request's
// JSON with its attributes.
func TestDispatchPublishes(t *testing.T) {
	e := newEmulator(t)
	d := gcpbus.NewDispatcher(gcpbus.Publisher{P: e.publisher(t)}, nil)
	if err := d.Dispatch(t.Context(), gcpRequest); err != nil {
		t.Fatal(err)
	}
	// Dispatch returned after the server stored it: no waiting here.
	msgs := e.srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the emulator, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Topic != topicName {
		t.Errorf("topic %q, want %q", m.Topic, topicName)
	}
	const wantData = `{"op":"apply","key":{"cloud":"gcp","account":"driftwatch-test","resource_id":"//storage.googleapis.com/projects/_/buckets/payments-exports"},` +
		`"resource_type":"storage.googleapis.com/Bucket","region":"europe-west1","remediation_id":"rem-abc","by":"Alice","at":"2026-12-04T10:00:00Z"}`
	if string(m.Data) != wantData {
		t.Errorf("data\n%s\nwant\n%s", m.Data, wantData)
	}
	id := m.Attributes["driftwatch_request_id"]
	if !requestID.MatchString(id) {
		t.Errorf("driftwatch_request_id = %q, want 32 hex digits", id)
	}
	want := map[string]string{"driftwatch_type": "Driftwatch.RemediationApproved", "driftwatch_data_version": "1.0", "driftwatch_request_id": id}
	if !maps.Equal(m.Attributes, want) {
		t.Errorf("attributes %v, want %v", m.Attributes, want)
	}
	if m.OrderingKey != "" {
		t.Errorf("ordering key %q, want none", m.OrderingKey)
	}
	got, err := gcpbus.Decode(m.Data, m.Attributes)
	if err != nil || !reflect.DeepEqual(got, gcpRequest) {
		t.Errorf("Decode = %+v, %v; want %+v", got, err, gcpRequest)
	}
}

// Every operation has its own type, and each round-trips through a pull
// subscription (Receive with Requests) and through a push delivery.
func TestDispatchRoundTripsEveryOp(t *testing.T) {
	tests := []struct {
		op       remediation.Op
		id       string
		wantType string
	}{
		{remediation.OpApply, "rem-1", "Driftwatch.RemediationApproved"},
		{remediation.OpUndo, "rem-1", "Driftwatch.RemediationUndoApproved"},
		{remediation.OpReevaluate, "", "Driftwatch.ReevaluationRequested"},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			e := newEmulator(t)
			req := gcpRequest
			req.Op, req.RemediationID = tt.op, tt.id
			if err := gcpbus.NewDispatcher(gcpbus.Publisher{P: e.publisher(t)}, nil).Dispatch(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			msgs := e.srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			if got := msgs[0].Attributes["driftwatch_type"]; got != tt.wantType {
				t.Errorf("driftwatch_type = %q, want %q", got, tt.wantType)
			}

			// Pull.
			var (
				mu     sync.Mutex
				pulled []remediation.Request
			)
			stop := receive(t, func(ctx context.Context) error {
				return gcpbus.Receive(ctx, e.client.Subscriber(subName), gcpbus.Requests(func(_ context.Context, r remediation.Request) error {
					mu.Lock()
					defer mu.Unlock()
					pulled = append(pulled, r)
					return nil
				}), nil)
			})
			eventually(t, "the message is acked", func() bool { return e.message(msgs[0].ID).Acks == 1 })
			if err := stop(); err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if len(pulled) != 1 || !reflect.DeepEqual(pulled[0], req) {
				t.Errorf("pulled %+v, want [%+v]", pulled, req)
			}

			// Push.
			body := pushBody(t, msgs[0].ID, msgs[0].Data, msgs[0].Attributes, msgs[0].PublishTime)
			if got, err := gcpbus.DecodePush(body); err != nil || !reflect.DeepEqual(got, req) {
				t.Errorf("DecodePush = %+v, %v; want %+v", got, err, req)
			}
			got, id, err := gcpbus.PushDecoder{}.DecodePush(body)
			if err != nil || id != msgs[0].ID || !reflect.DeepEqual(got, req) {
				t.Errorf("PushDecoder.DecodePush = %+v, %q, %v; want %+v, %q", got, id, err, req, msgs[0].ID)
			}
		})
	}
}

// pushBody is the body a push subscription posts for a message, as
// Pub/Sub sends it: the message with its id and publish time in both
// spellings, and the subscription.
func pushBody(t testing.TB, id string, data []byte, attrs map[string]string, published time.Time) []byte {
	t.Helper()
	pt := published.UTC().Format(time.RFC3339Nano)
	raw, err := json.Marshal(map[string]any{
		"message": map[string]any{
			"attributes": attrs, "data": base64.StdEncoding.EncodeToString(data),
			"messageId": id, "message_id": id, "publishTime": pt, "publish_time": pt,
		},
		"subscription": "projects/" + project + "/subscriptions/driftwatch-remediation-push",
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A request without a time is stamped, in UTC, with the dispatcher's
// clock; the stamp is in the data.
func TestDispatchStampsTime(t *testing.T) {
	e := newEmulator(t)
	now := time.Date(2026, 12, 5, 8, 30, 0, 0, time.FixedZone("CET", 3600))
	req := gcpRequest
	req.At = time.Time{}
	d := gcpbus.NewDispatcher(gcpbus.Publisher{P: e.publisher(t)}, &gcpbus.DispatcherOptions{Now: func() time.Time { return now }})
	if err := d.Dispatch(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	m := e.srv.Messages()[0]
	if !strings.Contains(string(m.Data), `"at":"2026-12-05T07:30:00Z"`) {
		t.Errorf("data %s does not carry the stamp in UTC", m.Data)
	}
	got, err := gcpbus.Decode(m.Data, m.Attributes)
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(now) {
		t.Errorf("at = %v, want %v", got.At, now)
	}
}

// A refused publish is an error with Pub/Sub's status code that says what
// was published; an invalid request is refused before anything is sent.
func TestDispatchErrors(t *testing.T) {
	e := newEmulator(t)
	missing := e.client.Publisher("projects/" + project + "/topics/no-such-topic")
	t.Cleanup(missing.Stop)
	err := gcpbus.NewDispatcher(gcpbus.Publisher{P: missing}, nil).Dispatch(t.Context(), gcpRequest)
	if status.Code(errors.Unwrap(err)) != codes.NotFound {
		t.Fatalf("error = %v, want NotFound", err)
	}
	if !strings.Contains(err.Error(), "publish apply for ") {
		t.Errorf("error %q does not say what was published", err)
	}

	bad := gcpRequest
	bad.RemediationID = ""
	if err := gcpbus.NewDispatcher(gcpbus.Publisher{P: e.publisher(t)}, nil).Dispatch(t.Context(), bad); err == nil {
		t.Error("an apply request without a remediation id was dispatched")
	}
	if n := len(e.srv.Messages()); n != 0 {
		t.Errorf("an invalid request reached the topic (%d messages)", n)
	}
}

// A cancelled dispatch returns the context's error and reports failure.
func TestDispatchCancelled(t *testing.T) {
	pub := publishFunc(func(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := gcpbus.NewDispatcher(pub, nil).Dispatch(ctx, gcpRequest)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

type publishFunc func(ctx context.Context) (string, error)

func (f publishFunc) Publish(ctx context.Context, _ *pubsub.Message) (string, error) { return f(ctx) }

const good = `{"op":"apply","key":{"cloud":"gcp","account":"p","resource_id":"r"},"resource_type":"T","remediation_id":"rem-1","by":"x","at":"2026-12-04T10:00:00Z"}`

func attrs(typ, version string) map[string]string {
	return map[string]string{"driftwatch_type": typ, "driftwatch_data_version": version}
}

func TestDecodeRefusesOtherMessages(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		attrs map[string]string
		why   string
	}{
		{"an audit log entry", `{"insertId":"1","protoPayload":{}}`, map[string]string{"logging.googleapis.com/timestamp": "2026-12-04T10:00:00Z"}, "no driftwatch_type attribute"},
		{"no attributes", good, nil, "no driftwatch_type attribute"},
		{"unknown type", good, attrs("Driftwatch.Other", "1.0"), `type "Driftwatch.Other"`},
		{"another data version", good, attrs("Driftwatch.RemediationApproved", "2.0"), `data version "2.0"`},
		{"no data version", good, map[string]string{"driftwatch_type": "Driftwatch.RemediationApproved"}, `data version ""`},
		{"op and type disagree", good, attrs("Driftwatch.RemediationUndoApproved", "1.0"), `carries op "apply"`},
		{"unknown field", `{"op":"apply","x":1}`, attrs("Driftwatch.RemediationApproved", "1.0"), `unknown field "x"`},
		{"data is a string", `"apply"`, attrs("Driftwatch.RemediationApproved", "1.0"), "cannot unmarshal string"},
		{"data is null", `null`, attrs("Driftwatch.RemediationApproved", "1.0"), `carries op ""`},
		{"empty data", ``, attrs("Driftwatch.RemediationApproved", "1.0"), "EOF"},
		{"trailing content", good + ` {}`, attrs("Driftwatch.RemediationApproved", "1.0"), "trailing content"},
		{"no remediation id", `{"op":"apply","key":{"cloud":"gcp","account":"p","resource_id":"r"},"resource_type":"T"}`,
			attrs("Driftwatch.RemediationApproved", "1.0"), "apply without a remediation id"},
	}
	for _, tt := range tests {
		_, err := gcpbus.Decode([]byte(tt.data), tt.attrs)
		if !errors.Is(err, gcpbus.ErrPoison) {
			t.Errorf("%s: error = %v, want ErrPoison", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: error %q does not say %q", tt.name, err, tt.why)
		}
	}
	// Further attributes (a publisher's own) do not matter.
	a := attrs("Driftwatch.RemediationApproved", "1.0")
	a["googclient_schemaencoding"] = "JSON"
	if _, err := gcpbus.Decode([]byte(good), a); err != nil {
		t.Errorf("a valid request: %v", err)
	}
}

func TestParsePush(t *testing.T) {
	published := time.Date(2026, 12, 4, 10, 0, 1, 123e6, time.UTC)
	body := pushBody(t, "17000000000001", []byte(good), attrs("Driftwatch.RemediationApproved", "1.0"), published)
	m, err := gcpbus.ParsePush(body)
	if err != nil {
		t.Fatal(err)
	}
	want := gcpbus.Message{ID: "17000000000001", Data: []byte(good), Attributes: attrs("Driftwatch.RemediationApproved", "1.0"),
		PublishTime: published, Subscription: "projects/" + project + "/subscriptions/driftwatch-remediation-push"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("ParsePush = %+v\nwant %+v", m, want)
	}

	// Only the snake-case spellings, and a dead-letter policy's attempt.
	m, err = gcpbus.ParsePush([]byte(`{"message":{"data":"","message_id":"9","publish_time":"2026-12-04T10:00:00Z"},"subscription":"s","deliveryAttempt":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "9" || !m.PublishTime.Equal(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)) || m.DeliveryAttempt != 3 || len(m.Data) != 0 {
		t.Errorf("ParsePush = %+v", m)
	}

	for name, body := range map[string]string{
		"not JSON":             `message=1`,
		"no message":           `{"subscription":"s"}`,
		"message null":         `{"message":null}`,
		"message not object":   `{"message":"x"}`,
		"data not base64":      `{"message":{"data":"%%%","messageId":"1"}}`,
		"publish time invalid": `{"message":{"data":"","messageId":"1","publishTime":"yesterday"}}`,
	} {
		if _, err := gcpbus.ParsePush([]byte(body)); !errors.Is(err, gcpbus.ErrPoison) {
			t.Errorf("%s: error = %v, want ErrPoison", name, err)
		}
		if _, err := gcpbus.DecodePush([]byte(body)); !errors.Is(err, gcpbus.ErrPoison) {
			t.Errorf("%s: DecodePush error = %v, want ErrPoison", name, err)
		}
	}

	// A well-formed push of something else: refused, with its id.
	other := pushBody(t, "42", []byte(`{"insertId":"x"}`), nil, published)
	if _, id, err := (gcpbus.PushDecoder{}).DecodePush(other); !errors.Is(err, gcpbus.ErrPoison) || id != "42" {
		t.Errorf("PushDecoder.DecodePush = %q, %v; want id 42 and ErrPoison", id, err)
	}
}

// A request has one id, whenever it is dispatched; another request has
// another.
func TestRequestIDIsStable(t *testing.T) {
	ids := map[string]string{}
	for name, req := range map[string]remediation.Request{
		"apply":       gcpRequest,
		"apply again": gcpRequest,
		"undo":        func() remediation.Request { r := gcpRequest; r.Op = remediation.OpUndo; return r }(),
		"other fix":   func() remediation.Request { r := gcpRequest; r.RemediationID = "rem-def"; return r }(),
	} {
		m, err := gcpbus.NewMessage(req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = m.Attributes["driftwatch_request_id"]
	}
	if ids["apply"] != ids["apply again"] {
		t.Errorf("the same request got ids %s and %s", ids["apply"], ids["apply again"])
	}
	if ids["apply"] == ids["undo"] || ids["apply"] == ids["other fix"] || ids["undo"] == ids["other fix"] {
		t.Errorf("distinct requests share an id: %v", ids)
	}
}

// Permanent marks an error as poison and keeps it; nil stays nil.
func TestPermanent(t *testing.T) {
	cause := errors.New("bucket policy is locked")
	err := gcpbus.Permanent(cause)
	if !errors.Is(err, gcpbus.ErrPoison) || !errors.Is(err, cause) || err.Error() != cause.Error() {
		t.Errorf("Permanent(%v) = %v", cause, err)
	}
	if gcpbus.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

// NewPublisher sends each message at once and reports the server's id.
func TestNewPublisher(t *testing.T) {
	e := newEmulator(t)
	p := gcpbus.NewPublisher(e.client, topicName)
	t.Cleanup(p.P.Stop)
	if got := p.P.PublishSettings.CountThreshold; got != 1 {
		t.Errorf("CountThreshold = %d, want 1", got)
	}
	id, err := p.Publish(t.Context(), &pubsub.Message{Data: []byte("x")})
	if err != nil || id == "" || e.message(id) == nil {
		t.Fatalf("Publish = %q, %v; want a stored message", id, err)
	}
}
