package azfunc_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// noop is a Processor and an Executor that does nothing, so that the
// benchmarks measure the HTTP layer alone: authentication, reading,
// normalizing or decoding, the batch bookkeeping and the answer.
type noop struct{}

func (noop) Process(_ context.Context, c change.Change) (pipeline.Outcome, error) {
	return pipeline.Outcome{EventID: c.EventID}, nil
}

func (noop) Handle(context.Context, remediation.Request) error { return nil }

// BenchmarkResourceDelivery is the handling of one delivery by the
// resource-events route with a no-op processor: one event (Event Grid's
// default, unbatched delivery) and a batch of 24, authenticated by the
// shared secret or by an Entra token (keys cached, as after the first
// delivery). ns/event is the per-event cost.
func BenchmarkResourceDelivery(b *testing.B) {
	entra := newEntraFake(b, "k1")
	keys, err := azfunc.NewJWKS(entra.jwksURL(), nil)
	if err != nil {
		b.Fatal(err)
	}
	auths := map[string]struct {
		auth   azfunc.Authenticator
		header http.Header
		query  string
	}{
		"secret": {secretAuth(b), nil, "?code=" + testSecret},
		"entra":  {newVerifier(b, keys, func() time.Time { return t0 }), http.Header{"Authorization": {"Bearer " + mint(b, testKeys(b)[0], "k1", claims())}}, ""},
	}
	for _, events := range []int{1, 24} {
		body := batchOf(b, events)
		for _, name := range []string{"secret", "entra"} {
			a := auths[name]
			b.Run(name+"/events="+strconv.Itoa(events), func(b *testing.B) {
				srv, err := azfunc.New(azfunc.Config{Normalizer: newNormalizer(b), Processor: noop{}, ResourceAuth: a.auth}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, azfunc.ResourceEventsPath+a.query, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					for k, v := range a.header {
						req.Header[k] = v
					}
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
			})
		}
	}
}

// BenchmarkRemediationDelivery is the handling of one remediation request
// delivery with a no-op executor.
func BenchmarkRemediationDelivery(b *testing.B) {
	body, _ := remediationDeliveries(b, remediation.Request{Op: remediation.OpApply,
		Key:          store.Key{Cloud: "azure", Account: "5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b", ResourceID: "/subscriptions/5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b/resourcegroups/payments/providers/microsoft.network/networksecuritygroups/web-nsg"},
		ResourceType: "Microsoft.Network/networkSecurityGroups", RemediationID: "rem-abc", By: "Alice", At: t0})
	srv, err := azfunc.New(azfunc.Config{Executor: noop{}, RemediationAuth: secretAuth(b)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, azfunc.RemediationPath+"?code="+testSecret, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
