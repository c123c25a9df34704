package azfunc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/azbus"
	"github.com/driftwatch/driftwatch/shared/azevent"
	"github.com/driftwatch/driftwatch/shared/azfunc"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Event ids of testdata/eventgrid-batch.json (and of the CloudEvents
// batch, whose malformed event has its own id).
const (
	idStorageWrite = "8f3c2a10-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	idNSGRuleWrite = "9a4d3b21-2c3d-4e5f-9a01-b2c3d4e5f607"
	idListKeys     = "ab5e4c32-3d4e-4f60-8b12-c3d4e5f60718"
	idWriteFailure = "bc6f5d43-4e5f-4071-9c23-d4e5f6071829"
	idRGWrite      = "cd706e54-5f60-4182-8d34-e5f60718293a"
)

// harness is a Server on a local HTTP listener with both routes: the
// resource events authenticated by an Entra token (the fake tenant), the
// remediation requests by the shared secret.
type harness struct {
	url   string
	entra *entraFake
	proc  *recorder
	exec  *executor
	logs  *syncBuffer
}

func newHarness(t *testing.T, opts *azfunc.Options) *harness {
	t.Helper()
	h := &harness{entra: newEntraFake(t, "k1"), proc: &recorder{}, exec: &executor{}}
	keys, err := azfunc.DiscoverJWKS(h.entra.metadataURL(), &azfunc.KeySetOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	var o azfunc.Options
	if opts != nil {
		o = *opts
	}
	o.Logger, h.logs = logTo(t)
	srv, err := azfunc.New(azfunc.Config{
		Normalizer: newNormalizer(t), Processor: h.proc, ResourceAuth: newVerifier(t, keys, func() time.Time { return t0 }),
		Executor: h.exec, RemediationAuth: secretAuth(t),
	}, &o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h.url = ts.URL
	return h
}

// token is a valid delivery token.
func (h *harness) token(t *testing.T) string { return mint(t, testKeys(t)[0], "k1", claims()) }

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) summary(t *testing.T) azfunc.Summary {
	t.Helper()
	var s azfunc.Summary
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("answer %d %q is not a summary: %v", r.status, r.body, err)
	}
	return s
}

func do(t *testing.T, method, url string, header http.Header, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// deliver posts a delivery to the resource-events route with a valid token.
func (h *harness) deliver(t *testing.T, contentType string, body []byte) response {
	t.Helper()
	return do(t, http.MethodPost, h.url+azfunc.ResourceEventsPath, http.Header{
		"Authorization": {"Bearer " + h.token(t)}, "Content-Type": {contentType}, "Aeg-Event-Type": {"Notification"},
	}, body)
}

// remediate posts a delivery to the remediation route with the secret in
// the query, as the event subscription's endpoint URL carries it.
func (h *harness) remediate(t *testing.T, contentType string, body []byte) response {
	t.Helper()
	return do(t, http.MethodPost, h.url+azfunc.RemediationPath+"?code="+testSecret, http.Header{"Content-Type": {contentType}}, body)
}

// Both delivery schemas, batched and single, reach the processor with the
// normalizer's changes; the bad and irrelevant events of a batch are
// dropped with their reasons and do not fail the others.
func TestResourceEventsBothSchemas(t *testing.T) {
	drifted := []pipeline.ResourceOutcome{{Exists: true, Drift: posture.Drift{Opened: []string{"azure_nsg_no_rdp_from_internet"}}, Notified: true}}
	tests := []struct {
		name, file, contentType string
		want                    azfunc.Summary
		wantSeen                []string
	}{
		{
			name: "Event Grid schema batch", file: "eventgrid-batch.json", contentType: "application/json; charset=utf-8",
			want: azfunc.Summary{Events: 6, Processed: 2, Drifted: 2, Notified: 2,
				Dropped: map[string]int{"malformed": 1, "read_only": 1, "failed": 1, "unsupported": 1}},
			wantSeen: []string{idStorageWrite, idNSGRuleWrite},
		},
		{
			name: "CloudEvents batch", file: "cloudevents-batch.json", contentType: "application/cloudevents-batch+json; charset=utf-8",
			want: azfunc.Summary{Events: 6, Processed: 2, Drifted: 2, Notified: 2,
				Dropped: map[string]int{"malformed": 1, "read_only": 1, "failed": 1, "unsupported": 1}},
			wantSeen: []string{idStorageWrite, idNSGRuleWrite},
		},
		{
			name: "one structured CloudEvent", file: "cloudevent-single.json", contentType: "application/cloudevents+json; charset=utf-8",
			want:     azfunc.Summary{Events: 1, Processed: 1, Drifted: 1, Notified: 1},
			wantSeen: []string{idNSGRuleWrite},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.proc.outcome = drifted
			body := fixture(t, tt.file)
			resp := h.deliver(t, tt.contentType, body)
			if resp.status != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", resp.status, resp.body)
			}
			if got := resp.summary(t); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("summary %+v, want %+v", got, tt.want)
			}
			if seen := h.proc.seenIDs(); !slices.Equal(seen, tt.wantSeen) {
				t.Errorf("processed %v, want %v", seen, tt.wantSeen)
			}
			// The processor gets the normalizer's changes, whole.
			d, err := newNormalizer(t).Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range h.proc.seen {
				i := slices.IndexFunc(d.Results, func(r azevent.Result) bool { return r.EventID == c.EventID && r.Err == nil })
				if i < 0 || !reflect.DeepEqual(d.Results[i].Change, c) {
					t.Errorf("processed change %+v is not the normalizer's", c)
				}
			}
		})
	}
}

// The NSG rule write reaches the processor as a change to its NSG, with
// the actor from the claims: the route hands over what azevent made.
func TestResourceEventsChange(t *testing.T) {
	h := newHarness(t, nil)
	if resp := h.deliver(t, "application/cloudevents+json", fixture(t, "cloudevent-single.json")); resp.status != http.StatusOK {
		t.Fatalf("status %d", resp.status)
	}
	if len(h.proc.seen) != 1 {
		t.Fatalf("%d changes processed", len(h.proc.seen))
	}
	c := h.proc.seen[0]
	wantID := "/subscriptions/5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b/resourcegroups/payments/providers/microsoft.network/networksecuritygroups/web-nsg"
	if c.Cloud != "azure" || c.Operation != "Microsoft.Network/networkSecurityGroups/securityRules/write" || len(c.Resources) != 1 || c.Resources[0].ID != wantID {
		t.Errorf("change %+v", c)
	}
	if c.Actor.SourceIP != "203.0.113.7" || c.Actor.Via != "console" {
		t.Errorf("actor %+v", c.Actor)
	}
}

// The Event Grid validation handshake is answered on both routes with the
// code of Microsoft's documented validation event; nothing is processed.
func TestSubscriptionValidationHandshake(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(corpus.Dir(t, "azure"), "eventgrid-schema", "docs_SubscriptionValidationEvent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []azsystemevents.EventGridEvent
	if err := json.Unmarshal(body, &evs); err != nil || len(evs) != 1 {
		t.Fatalf("corpus validation event: %v", err)
	}
	var data azsystemevents.SubscriptionValidationEventData
	if err := json.Unmarshal(evs[0].Data.([]byte), &data); err != nil {
		t.Fatal(err)
	}
	want := `{"validationResponse":"` + *data.ValidationCode + `"}`

	h := newHarness(t, nil)
	for name, resp := range map[string]response{
		"resource-events": h.deliver(t, "application/json", body),
		"remediation":     h.remediate(t, "application/json", body),
	} {
		if resp.status != http.StatusOK || string(resp.body) != want || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s %q, want 200 %s", name, resp.status, resp.header.Get("Content-Type"), resp.body, want)
		}
	}
	if len(h.proc.seen) != 0 || len(h.exec.requests()) != 0 {
		t.Errorf("a validation event was processed")
	}
}

// The CloudEvents abuse-protection handshake consents to Event Grid's
// origin only.
func TestCloudEventsHandshake(t *testing.T) {
	tests := []struct {
		name        string
		rate        int
		header      http.Header
		status      int
		wantOrigin  string
		wantRate    string
		wantConsent bool
	}{
		{"Event Grid", 0, http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net"}, "Webhook-Request-Rate": {"120"}}, http.StatusOK, "eventgrid.azure.net", "*", true},
		{"configured rate", 100, http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net"}}, http.StatusOK, "eventgrid.azure.net", "100", true},
		{"origin in another case", 0, http.Header{"Webhook-Request-Origin": {"EventGrid.Azure.NET"}}, http.StatusOK, "EventGrid.Azure.NET", "*", true},
		{"another origin", 0, http.Header{"Webhook-Request-Origin": {"evil.example.com"}}, http.StatusForbidden, "", "", false},
		{"no origin", 0, nil, http.StatusBadRequest, "", "", false},
		{"two origins", 0, http.Header{"Webhook-Request-Origin": {"eventgrid.azure.net", "evil.example.com"}}, http.StatusBadRequest, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &azfunc.Options{AllowedRate: tt.rate})
			for _, path := range []string{azfunc.ResourceEventsPath, azfunc.RemediationPath} {
				resp := do(t, http.MethodOptions, h.url+path, tt.header, nil)
				if resp.status != tt.status {
					t.Errorf("%s: status %d, want %d", path, resp.status, tt.status)
				}
				if got := resp.header.Get("WebHook-Allowed-Origin"); got != tt.wantOrigin {
					t.Errorf("%s: WebHook-Allowed-Origin %q, want %q", path, got, tt.wantOrigin)
				}
				if got := resp.header.Get("WebHook-Allowed-Rate"); got != tt.wantRate {
					t.Errorf("%s: WebHook-Allowed-Rate %q, want %q", path, got, tt.wantRate)
				}
				if got := resp.header.Get("Allow"); got != "OPTIONS, POST" {
					t.Errorf("%s: Allow %q", path, got)
				}
			}
		})
	}
}

// A delivery without valid credentials gets 401 and is never parsed: the
// bodies here are not deliveries at all (a parse would answer 400), and
// the content type is wrong (a check would answer 415).
func TestAuthRejection(t *testing.T) {
	h := newHarness(t, nil)
	k1, other := testKeys(t)[0], testKeys(t)[1]
	expired, wrongAud, wrongIss := claims(), claims(), claims()
	expired["exp"] = t0.Add(-time.Hour).Unix()
	wrongAud["aud"] = "https://management.core.windows.net/"
	wrongIss["iss"] = "https://sts.windows.net/11111111-1111-1111-1111-111111111111/"
	tests := []struct {
		name, path, query string
		header            http.Header
	}{
		{"resource events: no token", azfunc.ResourceEventsPath, "", nil},
		{"resource events: bad signature", azfunc.ResourceEventsPath, "", http.Header{"Authorization": {"Bearer " + mint(t, other, "k1", claims())}}},
		{"resource events: wrong audience", azfunc.ResourceEventsPath, "", http.Header{"Authorization": {"Bearer " + mint(t, k1, "k1", wrongAud)}}},
		{"resource events: expired token", azfunc.ResourceEventsPath, "", http.Header{"Authorization": {"Bearer " + mint(t, k1, "k1", expired)}}},
		{"resource events: wrong issuer", azfunc.ResourceEventsPath, "", http.Header{"Authorization": {"Bearer " + mint(t, k1, "k1", wrongIss)}}},
		{"resource events: the remediation secret", azfunc.ResourceEventsPath, "?code=" + testSecret, nil},
		{"remediation: no secret", azfunc.RemediationPath, "", nil},
		{"remediation: wrong secret", azfunc.RemediationPath, "?code=not-the-secret-at-all", nil},
		{"remediation: a resource events token", azfunc.RemediationPath, "", http.Header{"Authorization": {"Bearer " + h.token(t)}}},
	}
	for _, tt := range tests {
		hdr := http.Header{"Content-Type": {"text/plain"}}
		for k, v := range tt.header {
			hdr[k] = v
		}
		resp := do(t, http.MethodPost, h.url+tt.path+tt.query, hdr, []byte("definitely not a delivery"))
		if resp.status != http.StatusUnauthorized || string(resp.body) != "Unauthorized\n" {
			t.Errorf("%s: %d %q, want 401 Unauthorized", tt.name, resp.status, resp.body)
		}
	}
	if len(h.proc.seen) != 0 || len(h.exec.requests()) != 0 {
		t.Error("an unauthenticated delivery was processed")
	}
	for _, l := range h.logs.lines(t) {
		if l["msg"] != "delivery rejected" || l["status"] != float64(401) || l["reason"] == "" {
			t.Errorf("log line %v, want a rejection with its reason", l)
		}
	}
}

// When the token signing keys cannot be fetched, the delivery may be
// genuine: 503, so that Event Grid retries.
func TestKeysUnavailable(t *testing.T) {
	h := newHarness(t, nil)
	h.entra.setFailing(true)
	resp := h.deliver(t, "application/json", fixture(t, "eventgrid-batch.json"))
	if resp.status != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.status)
	}
	if len(h.proc.seen) != 0 {
		t.Error("a delivery was processed without its token checked")
	}
}

var errThrottled = errors.New("ARM: 429 TooManyRequests")

// A transient failure of one event asks Event Grid to retry the batch
// (503) while the other events are still processed; duplicates of a
// retried batch are dropped; a panic is a 500 that spares the others.
func TestResourceEventsRetryStatus(t *testing.T) {
	tests := []struct {
		name      string
		fail      map[string]error
		duplicate map[string]bool
		panics    map[string]bool
		status    int
		want      azfunc.Summary
	}{
		{
			name:   "a transient processor error",
			fail:   map[string]error{idNSGRuleWrite: fmt.Errorf("fetch NSG: %w", errThrottled)},
			status: http.StatusServiceUnavailable,
			want: azfunc.Summary{Events: 6, Processed: 1, Failed: 1,
				Dropped: map[string]int{"malformed": 1, "read_only": 1, "failed": 1, "unsupported": 1}},
		},
		{
			name:      "the retry, the first event already processed",
			duplicate: map[string]bool{idStorageWrite: true},
			status:    http.StatusOK,
			want: azfunc.Summary{Events: 6, Processed: 1,
				Dropped: map[string]int{"malformed": 1, "read_only": 1, "failed": 1, "unsupported": 1, "duplicate": 1}},
		},
		{
			name:   "a processor panic",
			panics: map[string]bool{idStorageWrite: true},
			status: http.StatusInternalServerError,
			want: azfunc.Summary{Events: 6, Processed: 1, Failed: 1,
				Dropped: map[string]int{"malformed": 1, "read_only": 1, "failed": 1, "unsupported": 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.proc.fail, h.proc.duplicate, h.proc.panics = tt.fail, tt.duplicate, tt.panics
			resp := h.deliver(t, "application/json", fixture(t, "eventgrid-batch.json"))
			if resp.status != tt.status {
				t.Errorf("status %d, want %d", resp.status, tt.status)
			}
			if got := resp.summary(t); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("summary %+v, want %+v", got, tt.want)
			}
			if seen := h.proc.seenIDs(); !slices.Equal(seen, []string{idStorageWrite, idNSGRuleWrite}) {
				t.Errorf("processed %v: both relevant events must be tried", seen)
			}
		})
	}
}

// Out of time: the event in progress fails with the deadline, the ones
// not started are counted failed, and Event Grid is asked to retry.
func TestResourceEventsDeadline(t *testing.T) {
	h := newHarness(t, &azfunc.Options{Timeout: 50 * time.Millisecond, Workers: 1})
	h.proc.block = true
	resp := h.deliver(t, "application/json", fixture(t, "eventgrid-batch.json"))
	if resp.status != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.status)
	}
	if got := resp.summary(t); got.Failed != 2 || got.Processed != 0 {
		t.Errorf("summary %+v, want both relevant events failed", got)
	}
	if n := len(h.proc.seenIDs()); n != 1 {
		t.Errorf("%d events started with one worker and a blocked processor, want 1", n)
	}
}

// At most Workers events of a batch are processed at once.
func TestResourceEventsBoundConcurrency(t *testing.T) {
	body := batchOf(t, 24)
	for _, workers := range []int{1, 3} {
		gate := newGatedRecorder(workers)
		srv, err := azfunc.New(azfunc.Config{Normalizer: newNormalizer(t), Processor: gate, ResourceAuth: secretAuth(t)}, &azfunc.Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		resp := do(t, http.MethodPost, ts.URL+azfunc.ResourceEventsPath+"?code="+testSecret, http.Header{"Content-Type": {"application/json"}}, body)
		ts.Close()
		if resp.status != http.StatusOK {
			t.Fatalf("workers %d: status %d", workers, resp.status)
		}
		if got := resp.summary(t); got.Processed != 24 {
			t.Errorf("workers %d: processed %d, want 24", workers, got.Processed)
		}
		if gate.peak != workers {
			t.Errorf("workers %d: peak concurrency %d", workers, gate.peak)
		}
	}
}

// A rejected delivery gets the status that tells Event Grid not to retry
// what cannot succeed, and nothing is processed.
func TestResourceEventsRejections(t *testing.T) {
	h := newHarness(t, &azfunc.Options{MaxBody: 4 << 10})
	big := fixture(t, "eventgrid-batch.json") // 13 KB
	auth := http.Header{"Authorization": {"Bearer " + h.token(t)}}
	with := func(kv ...string) http.Header {
		out := auth.Clone()
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		body   io.Reader
		status int
	}{
		{"GET", http.MethodGet, azfunc.ResourceEventsPath, auth, nil, http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, azfunc.ResourceEventsPath, with("Content-Type", "application/json"), bytes.NewReader(big), http.StatusMethodNotAllowed},
		{"unknown path", http.MethodPost, "/api/other", with("Content-Type", "application/json"), strings.NewReader("[]"), http.StatusNotFound},
		{"oversized body", http.MethodPost, azfunc.ResourceEventsPath, with("Content-Type", "application/json"), bytes.NewReader(big), http.StatusRequestEntityTooLarge},
		{"oversized body without a length", http.MethodPost, azfunc.ResourceEventsPath, with("Content-Type", "application/json"), io.MultiReader(bytes.NewReader(big)), http.StatusRequestEntityTooLarge},
		{"plain text", http.MethodPost, azfunc.ResourceEventsPath, with("Content-Type", "text/plain"), strings.NewReader("[]"), http.StatusUnsupportedMediaType},
		{"no content type", http.MethodPost, azfunc.ResourceEventsPath, auth, strings.NewReader("[]"), http.StatusUnsupportedMediaType},
		{"not JSON", http.MethodPost, azfunc.ResourceEventsPath, with("Content-Type", "application/json"), strings.NewReader("StorageAccountWrite by bob"), http.StatusBadRequest},
		{"empty", http.MethodPost, azfunc.ResourceEventsPath, with("Content-Type", "application/json"), strings.NewReader(""), http.StatusBadRequest},
		{"an Activity Log export", http.MethodPost, azfunc.ResourceEventsPath, with("Content-Type", "application/json"), strings.NewReader(`{"records":[{"operationName":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE","category":"Administrative"}]}`), http.StatusBadRequest},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, h.url+tt.path, tt.body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = tt.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if tt.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "OPTIONS, POST" {
			t.Errorf("%s: Allow %q", tt.name, resp.Header.Get("Allow"))
		}
	}
	if len(h.proc.seen) != 0 {
		t.Errorf("a rejected delivery was processed: %v", h.proc.seenIDs())
	}
}

// The route matches without regard to case or a trailing slash, as the
// Functions host's routing does.
func TestRoutePaths(t *testing.T) {
	h := newHarness(t, nil)
	for _, path := range []string{"/api/Resource-Events", "/api/resource-events/"} {
		resp := do(t, http.MethodPost, h.url+path, http.Header{"Authorization": {"Bearer " + h.token(t)}, "Content-Type": {"application/json"}}, []byte("[]"))
		if resp.status != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.status)
		}
	}
}

// Requests published by azbus, delivered in either schema, reach the
// executor; other events of the batch are dropped; an executor error asks
// for a retry.
func TestRemediationRoute(t *testing.T) {
	reqs := []remediation.Request{
		{Op: remediation.OpApply, Key: store.Key{Cloud: "azure", Account: "5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b",
			ResourceID: "/subscriptions/5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b/resourcegroups/payments/providers/microsoft.network/networksecuritygroups/web-nsg"},
			ResourceType: "Microsoft.Network/networkSecurityGroups", Region: "westeurope", RemediationID: "rem-abc", By: "Alice", At: t0},
		{Op: remediation.OpReevaluate, Key: store.Key{Cloud: "azure", Account: "5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b",
			ResourceID: "/subscriptions/5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b/resourcegroups/payments/providers/microsoft.storage/storageaccounts/invoicesprod"},
			ResourceType: "Microsoft.Storage/storageAccounts", By: "Bob", At: t0},
	}
	egBody, ceBody := remediationDeliveries(t, reqs...)
	tests := []struct {
		name, contentType string
		body              []byte
		fail              error
		status            int
		want              azfunc.Summary
		wantSeen          []remediation.Request
	}{
		{"Event Grid schema", "application/json", egBody, nil, http.StatusOK, azfunc.Summary{Events: 2, Processed: 2}, reqs},
		{"CloudEvents batch", "application/cloudevents-batch+json", ceBody, nil, http.StatusOK, azfunc.Summary{Events: 2, Processed: 2}, reqs},
		{
			"with a resource event and a malformed event", "application/json",
			mixed(t, egBody, fixture(t, "eventgrid-batch.json")), nil, http.StatusOK,
			azfunc.Summary{Events: 8, Processed: 2, Dropped: map[string]int{"not_a_request": 5, "malformed": 1}}, reqs,
		},
		{"an executor error", "application/json", egBody, fmt.Errorf("%w: read remediation: throttled", remediation.ErrRetry), http.StatusServiceUnavailable,
			azfunc.Summary{Events: 2, Failed: 2}, reqs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.exec.fail = tt.fail
			resp := h.remediate(t, tt.contentType, tt.body)
			if resp.status != tt.status {
				t.Errorf("status %d (%s), want %d", resp.status, resp.body, tt.status)
			}
			if got := resp.summary(t); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("summary %+v, want %+v", got, tt.want)
			}
			got := h.exec.requests()
			slices.SortFunc(got, func(a, b remediation.Request) int { return strings.Compare(string(a.Op), string(b.Op)) })
			if !reflect.DeepEqual(got, tt.wantSeen) {
				t.Errorf("executed %+v\nwant %+v", got, tt.wantSeen)
			}
		})
	}
}

// remediationDeliveries renders requests as the remediation topic's event
// subscription delivers them: the events azbus publishes, in the Event
// Grid schema (with the topic Event Grid adds) and converted to
// CloudEvents 1.0.
func remediationDeliveries(t testing.TB, reqs ...remediation.Request) (eventGrid, cloudEvents []byte) {
	t.Helper()
	const topic = "/subscriptions/5a1f9c1e-3c1d-4b8e-9f1a-2c3d4e5f6a7b/resourceGroups/driftwatch/providers/Microsoft.EventGrid/topics/driftwatch-remediation"
	var egs, ces []map[string]any
	for _, req := range reqs {
		ev, err := azbus.NewEvent(req, t0)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var eg map[string]any
		if err := json.Unmarshal(raw, &eg); err != nil {
			t.Fatal(err)
		}
		eg["topic"], eg["metadataVersion"] = topic, "1"
		egs = append(egs, eg)
		ces = append(ces, map[string]any{"specversion": "1.0", "id": eg["id"], "type": eg["eventType"], "source": topic,
			"subject": eg["subject"], "time": eg["eventTime"], "data": eg["data"]})
	}
	var err error
	if eventGrid, err = json.Marshal(egs); err != nil {
		t.Fatal(err)
	}
	if cloudEvents, err = json.Marshal(ces); err != nil {
		t.Fatal(err)
	}
	return eventGrid, cloudEvents
}

// mixed concatenates two Event Grid schema batches.
func mixed(t *testing.T, a, b []byte) []byte {
	t.Helper()
	var x, y []json.RawMessage
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(append(x, y...))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRemediationRejections(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"not JSON", "application/json", "apply rem-abc", http.StatusBadRequest},
		{"a JSON string", "application/json", `"apply"`, http.StatusBadRequest},
		{"truncated", "application/json", `[{"id":"1",`, http.StatusBadRequest},
		{"XML", "application/xml", `<event/>`, http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		if resp := h.remediate(t, tt.contentType, []byte(tt.body)); resp.status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.status, tt.status)
		}
	}
	if n := len(h.exec.requests()); n != 0 {
		t.Errorf("%d requests executed", n)
	}
}

// Logs say what happened to each event with its id and reason, and never
// carry the credentials or the bodies.
func TestLogs(t *testing.T) {
	h := newHarness(t, nil)
	h.proc.fail = map[string]error{idNSGRuleWrite: errThrottled}
	token := h.token(t)
	resp := do(t, http.MethodPost, h.url+azfunc.ResourceEventsPath, http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}},
		fixture(t, "eventgrid-batch.json"))
	if resp.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.status)
	}
	h.remediate(t, "application/json", []byte("[]"))
	do(t, http.MethodPost, h.url+azfunc.RemediationPath+"?code=wrong-"+testSecret, http.Header{"Content-Type": {"application/json"}}, []byte("[]"))

	out := h.logs.String()
	for _, secret := range []string{token, testSecret, "alice@contoso.com", "invoicesprod/listKeys"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
	dropped := map[string]string{}
	var failed, handled []map[string]any
	for _, l := range h.logs.lines(t) {
		switch l["msg"] {
		case "event dropped":
			id, _ := l["event_id"].(string)
			reason, _ := l["reason"].(string)
			dropped[id] = reason
			if l["detail"] == "" || l["route"] != "resource-events" {
				t.Errorf("drop line %v", l)
			}
		case "event failed":
			failed = append(failed, l)
		case "delivery handled":
			handled = append(handled, l)
		case "delivery rejected":
			if l["status"] != float64(401) {
				t.Errorf("rejection line %v", l)
			}
		default:
			t.Errorf("unexpected log line %v", l)
		}
	}
	want := map[string]string{idListKeys: "read_only", idWriteFailure: "failed", idRGWrite: "unsupported", "": "malformed"}
	if !reflect.DeepEqual(dropped, want) {
		t.Errorf("drops logged %v, want %v", dropped, want)
	}
	if len(failed) != 1 || failed[0]["event_id"] != idNSGRuleWrite || failed[0]["error"] != errThrottled.Error() || failed[0]["level"] != "ERROR" {
		t.Errorf("failure lines %v", failed)
	}
	if len(handled) != 2 || handled[0]["status"] != float64(503) || handled[1]["status"] != float64(200) {
		t.Errorf("delivery lines %v", handled)
	}
}

func TestNewRequiresWholeRoutes(t *testing.T) {
	n, p, a, x := newNormalizer(t), &recorder{}, secretAuth(t), &executor{}
	tests := []struct {
		name string
		cfg  azfunc.Config
		ok   bool
	}{
		{"nothing", azfunc.Config{}, false},
		{"resource events without auth", azfunc.Config{Normalizer: n, Processor: p}, false},
		{"resource events without processor", azfunc.Config{Normalizer: n, ResourceAuth: a}, false},
		{"remediation without auth", azfunc.Config{Executor: x}, false},
		{"remediation without executor", azfunc.Config{RemediationAuth: a}, false},
		{"resource events only", azfunc.Config{Normalizer: n, Processor: p, ResourceAuth: a}, true},
		{"remediation only", azfunc.Config{Executor: x, RemediationAuth: a}, true},
		{"both", azfunc.Config{Normalizer: n, Processor: p, ResourceAuth: a, Executor: x, RemediationAuth: a}, true},
	}
	for _, tt := range tests {
		if _, err := azfunc.New(tt.cfg, nil); (err == nil) != tt.ok {
			t.Errorf("%s: error %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	// A route not configured is not served.
	srv, err := azfunc.New(azfunc.Config{Executor: x, RemediationAuth: a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, azfunc.ResourceEventsPath+"?code="+testSecret, strings.NewReader("[]")))
	if rec.Code != http.StatusNotFound {
		t.Errorf("the unconfigured route answered %d, want 404", rec.Code)
	}
}

// batchOf is an Event Grid schema batch of n storage account writes with
// distinct ids.
func batchOf(t testing.TB, n int) []byte {
	t.Helper()
	var evs []map[string]any
	if err := json.Unmarshal(fixture(t, "eventgrid-batch.json"), &evs); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i := range n {
		ev := maps.Clone(evs[0])
		ev["id"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		out = append(out, ev)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gatedRecorder is a Processor whose first wave calls wait for one
// another, so that the handler's bound is reached before any call returns
// and the peak concurrency is exactly the bound unless the handler
// exceeds it.
type gatedRecorder struct {
	wave int
	full chan struct{}

	mu       sync.Mutex
	inflight int
	peak     int
	closed   bool
}

func newGatedRecorder(wave int) *gatedRecorder {
	return &gatedRecorder{wave: wave, full: make(chan struct{})}
}

func (g *gatedRecorder) Process(ctx context.Context, c change.Change) (pipeline.Outcome, error) {
	g.mu.Lock()
	g.inflight++
	g.peak = max(g.peak, g.inflight)
	if g.inflight == g.wave && !g.closed {
		close(g.full)
		g.closed = true
	}
	g.mu.Unlock()
	select {
	case <-g.full:
	case <-ctx.Done():
		return pipeline.Outcome{}, ctx.Err()
	}
	// Give a handler that ignores its bound every chance to start more
	// calls while these are in flight.
	for range 10 {
		runtime.Gosched()
	}
	g.mu.Lock()
	g.inflight--
	g.mu.Unlock()
	return pipeline.Outcome{EventID: c.EventID}, nil
}
