package azbus_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/internal/azdemo"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// topicKey is the fake topic's access key.
const topicKey = "dGhlLXRvcGljLWtleQ=="

// newTopic is a local Event Grid topic (azdemo's fake: no Event Grid
// emulator exists, and the azeventgrid client has no fake transport). It
// takes the key, or the fake credential's bearer token, records every
// request and delivers nothing.
func newTopic(t *testing.T) *azdemo.Topic {
	t.Helper()
	topic := azdemo.NewTopic("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/the-topic", topicKey)
	topic.AcceptToken = func(token string) bool { return token == "fake_token" }
	t.Cleanup(topic.Close)
	return topic
}

// keyClient publishes to topic with its key.
func keyClient(t *testing.T, topic *azdemo.Topic) *azeventgrid.Client {
	t.Helper()
	c, err := topic.KeyClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var applyRequest = remediation.Request{
	Op: remediation.OpApply,
	Key: store.Key{Cloud: "azure", Account: "00000000-0000-0000-0000-000000000001",
		ResourceID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1/providers/microsoft.network/networksecuritygroups/web-nsg"},
	ResourceType:  "Microsoft.Network/networkSecurityGroups",
	Region:        "westeurope",
	RemediationID: "rem-abc",
	By:            "Alice",
	At:            time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
}

// The publisher sends exactly one Event Grid schema event to the topic
// endpoint with the key header, and the recorded body decodes back to the
// request.
func TestDispatchWithTopicKey(t *testing.T) {
	topic := newTopic(t)
	if err := azbus.NewDispatcher(keyClient(t, topic), nil).Dispatch(t.Context(), applyRequest); err != nil {
		t.Fatal(err)
	}
	reqs := topic.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/api/events" || r.RawQuery != "api-version=2018-01-01" {
		t.Errorf("request %s %s?%s, want POST /api/events?api-version=2018-01-01", r.Method, r.Path, r.RawQuery)
	}
	if got := r.Header.Values("aeg-sas-key"); len(got) != 1 || got[0] != topicKey {
		t.Errorf("aeg-sas-key = %q, want the topic key once", got)
	}
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q with a key credential", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	const want = `[{"data":{"op":"apply","key":{"cloud":"azure","account":"00000000-0000-0000-0000-000000000001",` +
		`"resource_id":"/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1/providers/microsoft.network/networksecuritygroups/web-nsg"},` +
		`"resource_type":"Microsoft.Network/networkSecurityGroups","region":"westeurope","remediation_id":"rem-abc","by":"Alice","at":"2026-12-04T10:00:00Z"},` +
		`"dataVersion":"1.0","eventTime":"2026-12-04T10:00:00Z","eventType":"Driftwatch.RemediationApproved",` +
		`"id":"ID",` +
		`"subject":"/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1/providers/microsoft.network/networksecuritygroups/web-nsg"}]`
	// The id is derived from the request (TestEventIDIsStable); the rest
	// of the body is exact.
	m := idField.FindStringSubmatch(string(r.Body))
	if m == nil {
		t.Fatalf("no GUID event id in %s", r.Body)
	}
	id := m[1]
	if got := strings.Replace(string(r.Body), `"id":"`+id+`"`, `"id":"ID"`, 1); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}

	// What the remediation route receives in the Event Grid schema.
	var evs []azsystemevents.EventGridEvent
	if err := json.Unmarshal(r.Body, &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d events in the body", len(evs))
	}
	got, err := azbus.Decode(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, applyRequest) {
		t.Errorf("decoded %+v\nwant %+v", got, applyRequest)
	}
}

// With an Entra token credential the request carries a bearer token for
// Event Grid and no key.
func TestDispatchWithTokenCredential(t *testing.T) {
	topic := newTopic(t)
	c, err := azeventgrid.NewClient(topic.Endpoint(), &azfake.TokenCredential{}, &azeventgrid.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: topic.Server().Client()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := azbus.NewDispatcher(c, nil).Dispatch(t.Context(), applyRequest); err != nil {
		t.Fatal(err)
	}
	reqs := topic.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer fake_token" {
		t.Errorf("Authorization = %q, want the credential's bearer token", got)
	}
	if got := reqs[0].Header.Values("aeg-sas-key"); len(got) != 0 {
		t.Errorf("aeg-sas-key = %q with a token credential", got)
	}
}

// Every operation has its own event type, and each round-trips through
// both delivery schemas.
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
			topic := newTopic(t)
			req := applyRequest
			req.Op, req.RemediationID = tt.op, tt.id
			if err := azbus.NewDispatcher(keyClient(t, topic), nil).Dispatch(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			reqs := topic.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			var evs []azsystemevents.EventGridEvent
			if err := json.Unmarshal(reqs[0].Body, &evs); err != nil || len(evs) != 1 {
				t.Fatalf("body %s: %v", reqs[0].Body, err)
			}
			eg := evs[0]
			if got := *eg.EventType; got != tt.wantType {
				t.Errorf("eventType = %q, want %q", got, tt.wantType)
			}
			if got, err := azbus.Decode(eg); err != nil || !reflect.DeepEqual(got, req) {
				t.Errorf("Decode = %+v, %v; want %+v", got, err, req)
			}
			// The same event as an event subscription delivering
			// CloudEvents 1.0 presents it.
			ce := cloudEventOf(t, eg)
			if got, err := azbus.DecodeCloudEvent(ce); err != nil || !reflect.DeepEqual(got, req) {
				t.Errorf("DecodeCloudEvent = %+v, %v; want %+v", got, err, req)
			}
		})
	}
}

// cloudEventOf renders an Event Grid event the way an event subscription
// with CloudEvents 1.0 delivery presents it (type = eventType, source =
// the topic, subject and data unchanged) and parses it back as the
// remediation route does.
func cloudEventOf(t *testing.T, eg azsystemevents.EventGridEvent) messaging.CloudEvent {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": *eg.ID, "type": *eg.EventType, "subject": *eg.Subject,
		"source":          "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/driftwatch/providers/Microsoft.EventGrid/topics/driftwatch-remediation",
		"time":            eg.EventTime.Format(time.RFC3339Nano),
		"datacontenttype": "application/json",
		"data":            json.RawMessage(eg.Data.([]byte)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ce messaging.CloudEvent
	if err := json.Unmarshal(raw, &ce); err != nil {
		t.Fatal(err)
	}
	return ce
}

// A request without a time is stamped with the dispatcher's clock.
func TestDispatchStampsTime(t *testing.T) {
	topic := newTopic(t)
	now := time.Date(2026, 12, 5, 8, 30, 0, 0, time.FixedZone("CET", 3600))
	req := applyRequest
	req.At = time.Time{}
	d := azbus.NewDispatcher(keyClient(t, topic), &azbus.DispatcherOptions{Now: func() time.Time { return now }})
	if err := d.Dispatch(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	var evs []azsystemevents.EventGridEvent
	if err := json.Unmarshal(topic.Requests()[0].Body, &evs); err != nil {
		t.Fatal(err)
	}
	if got := *evs[0].EventTime; !got.Equal(now) || got.Location() != time.UTC {
		t.Errorf("eventTime = %v, want %v in UTC", got, now)
	}
}

// A refused publish is an error with Event Grid's status and code, and
// without the key; an invalid request is refused before anything is sent.
func TestDispatchErrors(t *testing.T) {
	topic := newTopic(t)
	topic.Refuse(http.StatusUnauthorized)
	err := azbus.NewDispatcher(keyClient(t, topic), nil).Dispatch(t.Context(), applyRequest)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "Unauthorized" {
		t.Fatalf("error = %v, want a 401 Unauthorized response error", err)
	}
	if strings.Contains(err.Error(), topicKey) {
		t.Errorf("the error reveals the topic key: %v", err)
	}
	if !strings.Contains(err.Error(), "publish apply for ") {
		t.Errorf("error %q does not say what was published", err)
	}

	before := len(topic.Requests())
	bad := applyRequest
	bad.RemediationID = ""
	if err := azbus.NewDispatcher(keyClient(t, topic), nil).Dispatch(t.Context(), bad); err == nil {
		t.Error("an apply request without a remediation id was dispatched")
	}
	if got := len(topic.Requests()); got != before {
		t.Errorf("an invalid request reached the topic (%d requests)", got-before)
	}
}

func TestDecodeRefusesOtherEvents(t *testing.T) {
	good := `{"op":"apply","key":{"cloud":"azure","account":"1","resource_id":"r"},"resource_type":"T","remediation_id":"rem-1","by":"x","at":"2026-12-04T10:00:00Z"}`
	eg := func(typ, version, data string) azsystemevents.EventGridEvent {
		raw := `{"id":"1","subject":"r","eventTime":"2026-12-04T10:00:00Z","eventType":"` + typ + `","dataVersion":"` + version + `","data":` + data + `}`
		var ev azsystemevents.EventGridEvent
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return ev
	}
	tests := []struct {
		name string
		ev   azsystemevents.EventGridEvent
	}{
		{"a resource event", eg("Microsoft.Resources.ResourceWriteSuccess", "2", good)},
		{"unknown event type", eg("Driftwatch.Other", "1.0", good)},
		{"another data version", eg("Driftwatch.RemediationApproved", "2.0", good)},
		{"no data version", eg("Driftwatch.RemediationApproved", "", good)},
		{"op and event type disagree", eg("Driftwatch.RemediationUndoApproved", "1.0", good)},
		{"unknown field", eg("Driftwatch.RemediationApproved", "1.0", `{"op":"apply","x":1}`)},
		{"data is a string", eg("Driftwatch.RemediationApproved", "1.0", `"apply"`)},
		{"data is null", eg("Driftwatch.RemediationApproved", "1.0", `null`)},
		{"no remediation id", eg("Driftwatch.RemediationApproved", "1.0",
			`{"op":"apply","key":{"cloud":"azure","account":"1","resource_id":"r"},"resource_type":"T"}`)},
		{"data built in code, not JSON", azsystemevents.EventGridEvent{EventType: ptr("Driftwatch.RemediationApproved"), DataVersion: ptr("1.0"), Data: map[string]any{"op": "apply"}}},
		{"no event type", azsystemevents.EventGridEvent{DataVersion: ptr("1.0"), Data: []byte(good)}},
	}
	for _, tt := range tests {
		if _, err := azbus.Decode(tt.ev); !errors.Is(err, azbus.ErrNotARequest) {
			t.Errorf("%s: error = %v, want ErrNotARequest", tt.name, err)
		}
	}
	if _, err := azbus.Decode(eg("Driftwatch.RemediationApproved", "1.0", good)); err != nil {
		t.Errorf("a valid request: %v", err)
	}
	// Trailing content after the request's object is not a request.
	trailing := azsystemevents.EventGridEvent{EventType: ptr("Driftwatch.RemediationApproved"), DataVersion: ptr("1.0"), Data: []byte(good + ` {}`)}
	if _, err := azbus.Decode(trailing); !errors.Is(err, azbus.ErrNotARequest) {
		t.Errorf("trailing content: error = %v, want ErrNotARequest", err)
	}
}

func TestDecodeCloudEventRefusesOtherEvents(t *testing.T) {
	good := `{"op":"undo","key":{"cloud":"azure","account":"1","resource_id":"r"},"resource_type":"T","remediation_id":"rem-1","by":"x","at":"2026-12-04T10:00:00Z"}`
	ce := func(typ, contentType, data string) messaging.CloudEvent {
		raw := `{"specversion":"1.0","id":"1","source":"/topics/t","type":"` + typ + `"`
		if contentType != "" {
			raw += `,"datacontenttype":"` + contentType + `"`
		}
		raw += `,"data":` + data + `}`
		var ev messaging.CloudEvent
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return ev
	}
	tests := []struct {
		name string
		ev   messaging.CloudEvent
	}{
		{"a resource event", ce("Microsoft.Resources.ResourceWriteSuccess", "application/json", good)},
		{"XML data", ce("Driftwatch.RemediationUndoApproved", "application/xml", good)},
		{"op and type disagree", ce("Driftwatch.RemediationApproved", "", good)},
		{"no data", messaging.CloudEvent{Type: "Driftwatch.RemediationUndoApproved"}},
	}
	for _, tt := range tests {
		if _, err := azbus.DecodeCloudEvent(tt.ev); !errors.Is(err, azbus.ErrNotARequest) {
			t.Errorf("%s: error = %v, want ErrNotARequest", tt.name, err)
		}
	}
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8"} {
		if _, err := azbus.DecodeCloudEvent(ce("Driftwatch.RemediationUndoApproved", ct, good)); err != nil {
			t.Errorf("a valid request with content type %q: %v", ct, err)
		}
	}
}

// guid matches an event id; idField finds it in a published body.
var (
	guid    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	idField = regexp.MustCompile(`"id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"`)
)

// A request has one event id, whenever it is dispatched; another request
// has another.
func TestEventIDIsStable(t *testing.T) {
	ids := map[string]string{}
	for name, req := range map[string]remediation.Request{
		"apply":       applyRequest,
		"apply again": applyRequest,
		"undo":        func() remediation.Request { r := applyRequest; r.Op = remediation.OpUndo; return r }(),
		"other fix":   func() remediation.Request { r := applyRequest; r.RemediationID = "rem-def"; return r }(),
	} {
		ev, err := azbus.NewEvent(req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !guid.MatchString(*ev.ID) {
			t.Errorf("%s: id %q is not a GUID", name, *ev.ID)
		}
		ids[name] = *ev.ID
	}
	if ids["apply"] != ids["apply again"] {
		t.Errorf("the same request got ids %s and %s", ids["apply"], ids["apply again"])
	}
	if ids["apply"] == ids["undo"] || ids["apply"] == ids["other fix"] || ids["undo"] == ids["other fix"] {
		t.Errorf("distinct requests share an id: %v", ids)
	}
}

func ptr(s string) *string { return &s }
