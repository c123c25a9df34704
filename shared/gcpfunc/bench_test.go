package gcpfunc_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/pipeline"
)

// noop is a Processor that does nothing, so that the benchmark measures
// the HTTP layer alone: the token check (keys cached, as after the first
// delivery), reading, normalizing and the answer.
type noop struct{}

func (noop) Process(_ context.Context, c change.Change) (pipeline.Outcome, error) {
	return pipeline.Outcome{EventID: c.EventID}, nil
}

// BenchmarkPushDelivery is the handling of one authenticated delivery of
// a real LogEntry, in each form.
func BenchmarkPushDelivery(b *testing.B) {
	s, _ := processable(b)
	google := newGoogleFake(b, "k1")
	srv, err := gcpfunc.New(gcpfunc.Config{Normalizer: newNormalizer(b), Processor: noop{}, Auth: verifier(b, google)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	auth := "Bearer " + goodToken(b)
	for _, form := range []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"push", s.body, nil},
		{"eventarc-binary", s.body, binaryHeaders()},
		{"eventarc-structured", structured(b, s.body), http.Header{"Content-Type": {"application/cloudevents+json"}}},
	} {
		b.Run(form.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(form.body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(form.body))
				for k, vs := range form.header {
					req.Header[k] = vs
				}
				req.Header.Set("Authorization", auth)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
