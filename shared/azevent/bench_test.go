package azevent

import (
	"path/filepath"
	"testing"
)

// BenchmarkNormalize measures the per-delivery cost on the documentation
// samples: an irrelevant read-only action (listKeys), a relevant write in
// the Event Grid schema, and the same write as a CloudEvents batch.
func BenchmarkNormalize(b *testing.B) {
	dir := corpusDir(b)
	n := newNormalizer(b)
	cases := []struct {
		name string
		file string
		want string // outcome prefix
	}{
		{"read-only-action", "eventgrid-schema/docs_subscription-topic_ResourceActionSuccess.json", "drop:read_only"},
		{"relevant-write", docsWrite, "change"},
		{"relevant-write-cloudevents", "cloudevents-derived/derived_ResourceWriteSuccess.json", "change"},
	}
	for _, bc := range cases {
		raw := readFile(b, filepath.Join(dir, bc.file))
		b.Run(bc.name, func(b *testing.B) {
			d, err := n.Decode(raw)
			if err != nil || len(d.Results) != 1 {
				b.Fatalf("%v, %d results", err, len(d.Results))
			}
			if got := outcome(d.Results[0]); got[:min(len(got), len(bc.want))] != bc.want {
				b.Fatalf("outcome %s, want %s", got, bc.want)
			}
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
