package gcpbus_test

import (
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
)

// BenchmarkDecodePush is the remediation route's decoding of one push
// delivery of an approved fix.
func BenchmarkDecodePush(b *testing.B) {
	m, err := gcpbus.NewMessage(gcpRequest, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	body := pushBody(b, "17000000000001", m.Data, m.Attributes, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gcpbus.DecodePush(body); err != nil {
			b.Fatal(err)
		}
	}
}
