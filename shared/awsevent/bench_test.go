package awsevent

import (
	"testing"
)

// BenchmarkNormalize measures the per-record cost on real Stratus records:
// an operation no rule needs (SendCommand), a read (DescribeInstances), a
// relevant change (AuthorizeSecurityGroupIngress), and the same relevant
// change inside an EventBridge envelope.
func BenchmarkNormalize(b *testing.B) {
	dir := corpusDir(b)
	records := jsonlInputs(b, dir, "records-all.jsonl")
	derived := jsonlInputs(b, dir, "eventbridge-derived.jsonl")
	n := newNormalizer(b)
	cases := []struct {
		name string
		raw  []byte
		want string // outcome
	}{
		{"irrelevant", records[34].raw, "drop:unsupported"},
		{"read-only", records[54].raw, "drop:read_only"},
		{"relevant", records[265].raw, "change"},
		{"relevant-eventbridge", derived[265].raw, "change"},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			rs := n.Normalize(bc.raw)
			if len(rs) != 1 {
				b.Fatalf("%d results", len(rs))
			}
			if got := outcome(rs[0]); got[:min(len(got), len(bc.want))] != bc.want {
				b.Fatalf("outcome %s, want %s", got, bc.want)
			}
			b.SetBytes(int64(len(bc.raw)))
			b.ReportAllocs()
			for b.Loop() {
				n.Normalize(bc.raw)
			}
		})
	}
}
