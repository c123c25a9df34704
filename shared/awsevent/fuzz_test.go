package awsevent

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzNormalize feeds corpus records (and mutations of them) to Normalize:
// it must never panic, and every Result is either a Change with at least
// one resource and its identity fields or a DroppedError with a known
// reason. The outcome is deterministic.
func FuzzNormalize(f *testing.F) {
	dir := corpusDir(f)
	seedsPerFile := 6
	for _, file := range []string{"records-all.jsonl", "eventbridge-real.jsonl", "eventbridge-derived.jsonl"} {
		ins := jsonlInputs(f, dir, file)
		// Spread the seeds over the file: its sources are grouped.
		for i := 0; i < len(ins); i += max(1, len(ins)/seedsPerFile) {
			f.Add(ins[i].raw)
		}
	}
	var records []json.RawMessage
	for _, in := range corpusInputs(f) {
		if strings.HasPrefix(in.name, "targeted/") && strings.HasSuffix(in.name, "#0") {
			f.Add(in.raw)
			records = append(records, in.raw)
		}
		if strings.HasPrefix(in.name, "malformed/") {
			f.Add(in.raw)
		}
	}
	logFile, err := json.Marshal(map[string]any{"Records": records[:3]})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(logFile)
	// The head of the real log file, cut mid-record.
	f.Add(readFile(f, filepath.Join(dir, "cloudtrail-logfile-all.json"))[:4096])
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"Records":null}`, `{"Records":[null,1,"x",{}]}`,
		`{"detail-type":"AWS API Call via CloudTrail","detail":null}`,
		`{"eventID":"e","eventName":"AuthorizeSecurityGroupIngress","eventSource":"ec2.amazonaws.com","recipientAccountId":"1","requestParameters":{"groupId":[[["sg-1"]],{"x":1}]}}`,
		`{"eventID":"e","eventName":"CreateAccessKey","eventSource":"iam.amazonaws.com","userIdentity":{"type":"Root","accountId":"1"}}`,
		`{"eventID":"e","eventName":"DisableKey","eventSource":"kms.amazonaws.com","recipientAccountId":"1","requestParameters":{"keyId":"arn:aws:kms:r:1:alias/"}}`,
	} {
		f.Add([]byte(s))
	}
	n := newNormalizer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		first := n.Normalize(data)
		for i, r := range first {
			if err := checkResult(r); err != nil {
				t.Fatalf("result %d: %v", i, err)
			}
		}
		second := n.Normalize(data)
		if len(first) != len(second) {
			t.Fatalf("%d then %d results", len(first), len(second))
		}
		for i := range first {
			if outcome(first[i]) != outcome(second[i]) || describe(first[i]) != describe(second[i]) {
				t.Fatalf("result %d differs between runs: %s / %s", i, describe(first[i]), describe(second[i]))
			}
		}
	})
}
