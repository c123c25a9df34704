package gcpevent

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"
)

// BenchmarkNormalize measures the per-delivery cost of a Pub/Sub push body:
// a relevant change (a firewall insert from the corpus), and a read-only
// call, which is dropped after the LogEntry is decoded.
func BenchmarkNormalize(b *testing.B) {
	dir := corpusDir(b)
	n := newNormalizer(b)
	var recs []struct {
		Entry json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(readFile(b, filepath.Join(dir, "targeted", "v1.compute.firewalls.insert.json")), &recs); err != nil {
		b.Fatal(err)
	}
	firewall := recs[1].Entry
	readOnly := []byte(`{"insertId":"r1","timestamp":"2026-12-04T10:00:00Z","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity",` +
		`"resource":{"type":"gcs_bucket","labels":{"project_id":"p","bucket_name":"b"}},"protoPayload":{"@type":"` + AuditLogType + `",` +
		`"serviceName":"storage.googleapis.com","methodName":"storage.getIamPermissions","resourceName":"projects/_/buckets/b",` +
		`"authenticationInfo":{"principalEmail":"a@example.com"},"requestMetadata":{"callerIp":"203.0.113.1","callerSuppliedUserAgent":"Mozilla/5.0"}}}`)
	for _, bc := range []struct {
		name  string
		entry []byte
		want  string
	}{
		{"push-firewall-insert", firewall, "change"},
		{"push-read-only", readOnly, "drop:read_only"},
	} {
		body := []byte(`{"message":{"attributes":{"logging.googleapis.com/timestamp":"2026-12-04T10:00:00Z"},"data":"` +
			base64.StdEncoding.EncodeToString(bc.entry) + `","messageId":"1","publishTime":"2026-12-04T10:00:01Z"},"subscription":"projects/p/subscriptions/s"}`)
		b.Run(bc.name, func(b *testing.B) {
			r, err := n.Decode(body)
			if err != nil {
				b.Fatal(err)
			}
			if got := outcome(r); got[:min(len(got), len(bc.want))] != bc.want {
				b.Fatalf("outcome %s, want %s", got, bc.want)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
