package gcpfunc_test

import (
	"net/http"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpevent"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
)

// fuzzHeaders are the header sets a fuzzed body is delivered with: a
// plain push, binary-mode Eventarc (messagePublished, audit log, another
// type) and structured mode.
func fuzzHeaders() []http.Header {
	audit := binaryHeaders()
	audit.Set("Ce-Type", gcpevent.EventTypeAuditLogWritten)
	other := binaryHeaders()
	other.Set("Ce-Type", "google.cloud.storage.object.v1.finalized")
	return []http.Header{
		nil,
		binaryHeaders(),
		audit,
		other,
		{"Content-Type": {"application/cloudevents+json; charset=utf-8"}},
	}
}

// FuzzPushDelivery drives an authenticated delivery through the whole
// handler: whatever the body, nothing panics, the answer is an ack (200:
// the processor never fails here, so only a bug could nack) with a JSON
// Answer, and only well-formed GCP changes reach the processor.
func FuzzPushDelivery(f *testing.F) {
	for i, s := range pushSamples(f) {
		f.Add(s.body, uint8(i))
		if i%10 == 0 {
			f.Add(structured(f, s.body), uint8(4))
		}
	}
	for i, s := range realSamples(f) {
		f.Add(s.body, uint8(i))
	}
	for _, b := range []string{``, `{}`, `[]`, `null`, `{"message":null}`, `{"message":{"data":"e30="}}`,
		`{"specversion":"1.0","id":"1","type":"google.cloud.pubsub.topic.v1.messagePublished","data_base64":"e30="}`} {
		f.Add([]byte(b), uint8(0))
	}
	fx := newFixture(f, &gcpfunc.Options{MaxBody: 1 << 20})
	tok := goodToken(f)
	headers := fuzzHeaders()
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		before := len(fx.proc.changes())
		rec := fx.post(t, "/", tok, body, headers[int(mode)%len(headers)])
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		a := answerOf(t, rec)
		seen := fx.proc.changes()[before:]
		switch a.Outcome {
		case gcpfunc.OutcomeProcessed:
			if len(seen) != 1 {
				t.Fatalf("processed, %d changes", len(seen))
			}
			c := seen[0]
			if c.EventID == "" || c.EventID != a.EventID || c.Cloud != change.GCP || len(c.Resources) == 0 || c.Account == "" {
				t.Fatalf("processed change %+v", c)
			}
		case gcpfunc.OutcomeDropped:
			if len(seen) != 0 || a.Reason == "" {
				t.Fatalf("dropped %+v, %d changes", a, len(seen))
			}
		default:
			t.Fatalf("answer %+v", a)
		}
	})
}
