package gcpevent

import (
	"encoding/base64"
	"testing"
)

// FuzzDecode feeds corpus bodies (and mutations of them) to Decode: it
// must never panic, a rejected body is rejected with the sentinel and
// nothing else, every Result is either a complete Change or a DroppedError
// with a known reason, outcomes are deterministic, and a LogEntry wrapped
// in a push body normalizes exactly as the bare entry does.
func FuzzDecode(f *testing.F) {
	for _, in := range corpusInputs(f) {
		f.Add(in.raw)
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"message":null}`, `{"message":{"data":""}}`, `{"specversion":"1.0"}`,
		`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"iam.googleapis.com","methodName":"google.iam.admin.v1.CreateServiceAccountKey","resourceName":"projects/-/serviceAccounts/1/keys/k","authenticationInfo":{"serviceAccountDelegationInfo":[{"firstPartyPrincipal":{}}]}},"resource":{"labels":{"email_id":"a@b"}}}`,
		`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"cloudsql.googleapis.com","methodName":"cloudsql.instances.update","resourceName":"instances/:"}}`,
	} {
		f.Add([]byte(s))
	}
	n := newNormalizer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		first, err1 := n.Decode(body)
		if err := checkOutcome(first, err1); err != nil {
			t.Fatal(err)
		}
		second, err2 := n.Decode(body)
		if (err1 == nil) != (err2 == nil) || describe(first) != describe(second) || first.EventID != second.EventID || first.Form != second.Form {
			t.Fatalf("runs differ: %v %s / %v %s", err1, describe(first), err2, describe(second))
		}
		if err1 != nil || first.Form != FormLogEntry {
			return
		}
		push := []byte(`{"message":{"data":"` + base64.StdEncoding.EncodeToString(body) + `","messageId":"1"}}`)
		wrapped, err := n.Decode(push)
		if err != nil || wrapped.Form != FormPush || outcome(wrapped) != outcome(first) || wrapped.EventID != first.EventID ||
			(first.Err == nil && describe(wrapped) != describe(first)) {
			t.Fatalf("push body: %v %s, bare entry %s", err, describe(wrapped), describe(first))
		}
	})
}
