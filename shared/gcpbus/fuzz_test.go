package gcpbus_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
)

// FuzzDecodePush: any body either decodes to a valid request that
// re-encodes to a message decoding to the same request, or is refused as
// poison; it never panics.
func FuzzDecodePush(f *testing.F) {
	published := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	f.Add(pushBody(f, "1", []byte(good), attrs("Driftwatch.RemediationApproved", "1.0"), published))
	f.Add(pushBody(f, "2", []byte(`{"op":"reevaluate","key":{"cloud":"gcp","account":"p","resource_id":"r"},"resource_type":"T","by":"x","at":"2026-12-04T10:00:00Z"}`),
		attrs("Driftwatch.ReevaluationRequested", "1.0"), published))
	f.Add([]byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(good)) + `"}}`))
	f.Add([]byte(`{"message":{"data":"e30=","attributes":{"driftwatch_type":"Driftwatch.RemediationUndoApproved","driftwatch_data_version":"1.0"}}}`))
	f.Add([]byte(`{"message":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := gcpbus.DecodePush(body)
		if err != nil {
			if !errors.Is(err, gcpbus.ErrPoison) {
				t.Fatalf("refusal %v does not wrap ErrPoison", err)
			}
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("decoded an invalid request: %v", err)
		}
		m, err := gcpbus.NewMessage(req, published)
		if err != nil {
			t.Fatal(err)
		}
		again, err := gcpbus.Decode(m.Data, m.Attributes)
		if err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
		if again.Op != req.Op || again.Key != req.Key || again.RemediationID != req.RemediationID || !again.At.Equal(req.At) && !req.At.IsZero() {
			t.Fatalf("round trip %+v -> %+v", req, again)
		}
	})
}

// FuzzDecode: arbitrary data under the request attributes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(good), "Driftwatch.RemediationApproved", "1.0")
	f.Add([]byte(`{"op":"undo"}`), "Driftwatch.RemediationUndoApproved", "1.0")
	f.Add([]byte(`null`), "Driftwatch.ReevaluationRequested", "2")
	f.Fuzz(func(t *testing.T, data []byte, typ, version string) {
		req, err := gcpbus.Decode(data, attrs(typ, version))
		if err != nil {
			if !errors.Is(err, gcpbus.ErrPoison) {
				t.Fatalf("refusal %v does not wrap ErrPoison", err)
			}
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("decoded an invalid request: %v", err)
		}
		if gcpbus.Types[req.Op] != typ || version != gcpbus.DataVersion {
			t.Fatalf("accepted op %s under type %q version %q", req.Op, typ, version)
		}
	})
}
