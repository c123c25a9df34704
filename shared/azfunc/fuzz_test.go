package azfunc_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// contentTypes are what the fuzzers send: the three delivery media types
// and one the routes refuse.
var contentTypes = []string{"application/json", "application/cloudevents-batch+json", "application/cloudevents+json; charset=utf-8", "text/plain"}

// seedDeliveries adds every Azure sample of the corpus (both schemas, the
// validation event, the broken CloudEvents sample, Activity Log records)
// and the test deliveries, each with every content type.
func seedDeliveries(f *testing.F, extra ...[]byte) {
	f.Helper()
	dir := corpus.Dir(f, "azure")
	var files []string
	for _, pat := range []string{"*/*.json", "*/*.jsonl"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, name := range []string{"eventgrid-batch.json", "cloudevents-batch.json", "cloudevent-single.json"} {
		files = append(files, filepath.Join("testdata", name))
	}
	if len(files) < 20 {
		f.Fatalf("only %d seed files: the corpus is incomplete", len(files))
	}
	bodies := extra
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	for _, b := range bodies {
		for ct := range contentTypes {
			f.Add(b, uint8(ct))
		}
	}
}

// checkAnswer checks the invariants of an authenticated delivery's answer
// when the processor or executor never fails: 200 with a validation
// response or a summary accounting for every event, 400 for a body that is
// no delivery, 415 for another media type; never a 5xx.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, ct string, executed int) {
	t.Helper()
	switch rec.Code {
	case http.StatusOK:
	case http.StatusBadRequest:
		if executed != 0 {
			t.Fatalf("400, yet %d events were handled", executed)
		}
		return
	case http.StatusUnsupportedMediaType:
		if !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("415 for %q", ct)
		}
		return
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var v struct {
		ValidationResponse *string `json:"validationResponse"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err == nil && v.ValidationResponse != nil {
		if *v.ValidationResponse == "" || executed != 0 {
			t.Fatalf("validation answer %s after %d events", rec.Body, executed)
		}
		return
	}
	var sum azfunc.Summary
	if err := json.Unmarshal(rec.Body.Bytes(), &sum); err != nil {
		t.Fatalf("200 without a summary: %q", rec.Body)
	}
	dropped := 0
	for _, n := range sum.Dropped {
		dropped += n
	}
	if sum.Failed != 0 || sum.Processed != executed || sum.Events != sum.Processed+dropped {
		t.Fatalf("summary %+v does not account for its events (%d handled)", sum, executed)
	}
}

// FuzzResourceDelivery drives the resource-events route after
// authentication: media type, body limit, the normalizer, the validation
// handshake and the batch handling. Nothing panics, every answer is one
// of the expected statuses, and every change handed on is an identified
// Azure change.
func FuzzResourceDelivery(f *testing.F) {
	seedDeliveries(f)
	norm, auth := newNormalizer(f), secretAuth(f)
	f.Fuzz(func(t *testing.T, body []byte, ct uint8) {
		proc := &recorder{}
		srv, err := azfunc.New(azfunc.Config{Normalizer: norm, Processor: proc, ResourceAuth: auth}, nil)
		if err != nil {
			t.Fatal(err)
		}
		contentType := contentTypes[int(ct)%len(contentTypes)]
		req := httptest.NewRequest(http.MethodPost, azfunc.ResourceEventsPath+"?code="+testSecret, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		checkAnswer(t, rec, contentType, len(proc.seen))
		for _, c := range proc.seen {
			if c.EventID == "" || c.Cloud != "azure" || len(c.Resources) == 0 {
				t.Fatalf("processed change %+v", c)
			}
		}
	})
}

// FuzzRemediationDelivery drives the remediation route after
// authentication: the envelope parsing of both schemas, the validation
// handshake and azbus decoding. Nothing panics, and only valid requests
// reach the executor.
func FuzzRemediationDelivery(f *testing.F) {
	eg, ce := remediationDeliveries(f, remediation.Request{Op: remediation.OpUndo,
		Key:          store.Key{Cloud: "azure", Account: "5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b", ResourceID: "/subscriptions/5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b/resourcegroups/payments/providers/microsoft.sql/servers/ledger"},
		ResourceType: "Microsoft.Sql/servers", RemediationID: "rem-xyz", By: "Carol", At: t0})
	seedDeliveries(f, eg, ce, []byte(`{"specversion":"1.0","id":"1","source":"s","type":"Driftwatch.RemediationApproved","data":{"op":"apply"}}`))
	auth := secretAuth(f)
	f.Fuzz(func(t *testing.T, body []byte, ct uint8) {
		exec := &executor{}
		srv, err := azfunc.New(azfunc.Config{Executor: exec, RemediationAuth: auth}, nil)
		if err != nil {
			t.Fatal(err)
		}
		contentType := contentTypes[int(ct)%len(contentTypes)]
		req := httptest.NewRequest(http.MethodPost, azfunc.RemediationPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set(azfunc.DefaultSecretHeader, testSecret)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		reqs := exec.requests()
		checkAnswer(t, rec, contentType, len(reqs))
		for _, r := range reqs {
			if err := r.Validate(); err != nil {
				t.Fatalf("executed an invalid request %+v: %v", r, err)
			}
		}
	})
}
