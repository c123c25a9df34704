package azevent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode feeds corpus deliveries (and mutations of them) to Decode: it
// must never panic, a rejected body is rejected with a sentinel and nothing
// else, and every Result is either a Change with one canonical resource and
// its identity fields or a DroppedError with a known reason. Outcomes are
// deterministic, and a batch decodes the same in one pass as event by
// event. Details may not be: the SDK's CloudEvent and data types decode
// through a map, so which of several invalid members an error names can
// vary from run to run.
func FuzzDecode(f *testing.F) {
	var activity int
	for _, in := range corpusInputs(f) {
		if strings.HasPrefix(in.name, "activity-log/panther") {
			// 214 fixtures of one shape: a few suffice.
			if activity++; activity%40 != 1 {
				continue
			}
		}
		f.Add(in.raw)
	}
	// A mixed batch: a write, a listKeys, the handshake, junk.
	var batch []json.RawMessage
	for _, file := range []string{docsWrite, "eventgrid-schema/docs_subscription-topic_ResourceActionSuccess.json", "eventgrid-schema/docs_SubscriptionValidationEvent.json"} {
		var evs []json.RawMessage
		if err := json.Unmarshal(readFile(f, corpusDir(f)+"/"+file), &evs); err != nil {
			f.Fatal(err)
		}
		batch = append(batch, evs...)
	}
	batch = append(batch, json.RawMessage(`{"id":1}`))
	mixed, err := json.Marshal(batch)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mixed)
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `[{}]`, `[null]`, `{"records":null}`, `[[[]]]`,
		`[{"id":"1","eventType":"Microsoft.Resources.ResourceWriteSuccess","data":{"operationName":"Microsoft.Sql/servers/firewallRules/write","resourceUri":"/subscriptions/S/resourceGroups/r/providers/Microsoft.Sql/servers/a/firewallRules/b","claims":{"iat":1}}}]`,
		`[{"id":"1","eventType":"Microsoft.Resources.ResourceWriteSuccess","data":{"operationName":"Microsoft.Insights/diagnosticSettings/write","resourceUri":"/subscriptions/S/providers/Microsoft.Insights/diagnosticSettings/d"}}]`,
		`[{"id":"1","eventType":"Microsoft.Resources.ResourceWriteSuccess","data":{"operationName":"Microsoft.Resources/tags/write","resourceUri":"/providers/Microsoft.Resources/tags/default"}}]`,
		`{"specversion":"1.0","id":"1","source":"s","type":"Microsoft.EventGrid.SubscriptionValidationEvent","data_base64":"e30="}`,
	} {
		f.Add([]byte(s))
	}
	n := newNormalizer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		first, err1 := n.Decode(body)
		if err := checkDelivery(first, err1); err != nil {
			t.Fatal(err)
		}
		second, err2 := n.Decode(body)
		if (err1 == nil) != (err2 == nil) || len(first.Results) != len(second.Results) || first.Schema != second.Schema {
			t.Fatalf("runs differ: %v / %v", err1, err2)
		}
		for i := range first.Results {
			a, b := first.Results[i], second.Results[i]
			if outcome(a) != outcome(b) || a.EventID != b.EventID || (a.Err == nil && describe(a) != describe(b)) {
				t.Fatalf("result %d differs between runs: %s / %s", i, describe(a), describe(b))
			}
		}
		// A batch decodes the same in one pass as event by event: one
		// junk element appended forces the latter.
		trimmed := bytes.TrimSpace(body)
		if err1 != nil || len(trimmed) < 2 || trimmed[0] != '[' || trimmed[len(trimmed)-1] != ']' || first.Validation != nil {
			return
		}
		forced := append(bytes.Clone(trimmed[:len(trimmed)-1]), ",1]"...)
		if len(first.Results) == 0 {
			forced = append(bytes.Clone(trimmed[:len(trimmed)-1]), "1]"...)
		}
		slow, err := n.Decode(forced)
		if err != nil || len(slow.Results) != len(first.Results)+1 {
			t.Fatalf("with a junk element appended: %v, %d results, want %d", err, len(slow.Results), len(first.Results)+1)
		}
		for i := range first.Results {
			a, b := first.Results[i], slow.Results[i]
			if outcome(a) != outcome(b) || a.EventID != b.EventID || (a.Err == nil && describe(a) != describe(b)) {
				t.Fatalf("result %d differs between the one-pass and the event-by-event decoding: %s / %s", i, describe(a), describe(b))
			}
		}
	})
}
