package awsdetector_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
	"github.com/driftwatch/driftwatch/shared/awsevent"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/posture"
)

// Event ids of the records in testdata/awsdetector/records.jsonl: real
// CloudTrail records from Stratus Red Team detonations, copied verbatim
// from the project's corpus with their provenance.
const (
	idStopLogging      = "10163ed2-2253-469d-a5ee-cbc6651f8934" // relevant
	idGetSecretValue   = "b9c3d881-1e77-426c-abd3-5ca20d903380" // read-only
	idRunInstancesDeny = "1a4debbb-12e9-4bde-b8c7-ea29002bb2a7" // failed (Client.UnauthorizedOperation)
	idDeleteFlowLogs   = "ded2f5af-f3a5-46d2-a170-a23206a32c36" // no rule reads flow logs
	idConsoleLogin     = "865d9377-9c6b-4fd7-8aad-725e95f6a140" // a sign-in, not an API call
	idDeleteTrail      = "ee73c230-44bc-4492-8542-cfb189eae287" // relevant
	idPutEventSelector = "c2a89408-340a-42f0-8ace-75d9f5769393" // relevant
	idAuthorizeIngress = "9fd68588-ecbf-4528-a345-199fa6bb0821" // relevant
	idCreateAccessKey  = "c64c4ded-ef03-4e5c-81eb-153b118d72f2" // relevant
	idAttachUserPolicy = "083dc4ad-e264-46bc-a407-d0dd31b58bdc" // relevant
	idAttachRolePolicy = "39480357-0a1d-4531-a3f2-71be4c041c25" // relevant
)

// relevantIDs are the records of the test data that reach the processor.
var relevantIDs = []string{idStopLogging, idDeleteTrail, idPutEventSelector, idAuthorizeIngress, idCreateAccessKey, idAttachUserPolicy, idAttachRolePolicy}

func repoPath(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", ".."}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// records returns the test records by event id.
func records(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	f, err := os.Open(repoPath(t, "testdata", "awsdetector", "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]json.RawMessage{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Record json.RawMessage `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("records.jsonl: %v", err)
		}
		var id struct {
			EventID string `json:"eventID"`
		}
		if err := json.Unmarshal(line.Record, &id); err != nil || id.EventID == "" {
			t.Fatalf("records.jsonl: record without eventID (%v)", err)
		}
		out[id.EventID] = line.Record
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// logFile builds a CloudTrail log file of the records with the given ids.
func logFile(t *testing.T, ids ...string) json.RawMessage {
	t.Helper()
	recs := records(t)
	var doc struct {
		Records []json.RawMessage `json:"Records"`
	}
	for _, id := range ids {
		r, ok := recs[id]
		if !ok {
			t.Fatalf("no record %s in the test data", id)
		}
		doc.Records = append(doc.Records, r)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// demoEvent reads an EventBridge event of the demo with its placeholders
// filled.
func demoEvent(t *testing.T, name string, vars map[string]string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(repoPath(t, "events", "aws", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(os.Expand(string(raw), func(k string) string {
		v, ok := vars[k]
		if !ok {
			t.Fatalf("%s: no value for ${%s}", name, k)
		}
		return v
	}))
}

// recorder is a Processor that records the changes it is given and answers
// with a configured outcome. It stands in for pipeline.Detector, whose real
// behaviour against the emulator the end-to-end test covers; here only the
// handler's bookkeeping around it is under test.
type recorder struct {
	// fail and duplicate select the answer by event id; every other change
	// is processed with outcome.
	fail      map[string]error
	duplicate map[string]bool
	outcome   []pipeline.ResourceOutcome
	// wave, when > 0, makes the first wave calls wait for one another, so
	// that the handler's bound is actually reached before any call returns.
	wave int

	mu       sync.Mutex
	seen     []change.Change
	inflight int
	peak     int
	waveFull chan struct{}
	waveDone bool
}

func newRecorder() *recorder {
	return &recorder{waveFull: make(chan struct{})}
}

func (r *recorder) Process(ctx context.Context, c change.Change) (pipeline.Outcome, error) {
	r.mu.Lock()
	r.seen = append(r.seen, c)
	r.inflight++
	r.peak = max(r.peak, r.inflight)
	if r.inflight == r.wave && !r.waveDone {
		close(r.waveFull)
		r.waveDone = true
	}
	wait := r.wave > 0
	r.mu.Unlock()
	if wait {
		select {
		case <-r.waveFull:
		case <-ctx.Done():
			return pipeline.Outcome{}, ctx.Err()
		}
		// Give a handler that ignores its bound every chance to start
		// more calls while these are still in flight.
		for range 10 {
			runtime.Gosched()
		}
	}
	r.mu.Lock()
	r.inflight--
	r.mu.Unlock()

	if err := r.fail[c.EventID]; err != nil {
		return pipeline.Outcome{EventID: c.EventID}, err
	}
	if r.duplicate[c.EventID] {
		return pipeline.Outcome{EventID: c.EventID, Duplicate: true}, nil
	}
	return pipeline.Outcome{EventID: c.EventID, Resources: slices.Clone(r.outcome)}, nil
}

// seenIDs returns the event ids processed, sorted.
func (r *recorder) seenIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, c := range r.seen {
		ids = append(ids, c.EventID)
	}
	slices.Sort(ids)
	return ids
}

func newNormalizer(t *testing.T) *awsevent.Normalizer {
	t.Helper()
	n, err := awsevent.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logLine is one decoded slog JSON line.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

// logTo returns a JSON logger at debug level writing to buf, and a function
// decoding what was written.
func logTo(t *testing.T) (*slog.Logger, func() []logLine) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return log, func() []logLine {
		t.Helper()
		var out []logLine
		dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
		for dec.More() {
			var l logLine
			if err := dec.Decode(&l); err != nil {
				t.Fatalf("log output is not JSON lines: %v", err)
			}
			out = append(out, l)
		}
		return out
	}
}

// syncBuffer is a bytes.Buffer safe for the handler's concurrent loggers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

var errThrottled = errors.New("fetch: Throttling: rate exceeded")

func TestHandle(t *testing.T) {
	drifted := []pipeline.ResourceOutcome{{Exists: true, Drift: posture.Drift{Opened: []string{"aws_cloudtrail_trail_logging"}}, Notified: true}}
	tests := []struct {
		name      string
		payload   json.RawMessage
		fail      map[string]error
		duplicate map[string]bool
		outcome   []pipeline.ResourceOutcome
		want      awsdetector.Summary
		wantSeen  []string
		wantErr   error
	}{
		{
			name:    "empty body",
			payload: json.RawMessage(""),
			want:    awsdetector.Summary{Records: 1, Dropped: map[string]int{"malformed": 1}},
		},
		{
			name:    "not JSON",
			payload: json.RawMessage("StopLogging by bob"),
			want:    awsdetector.Summary{Records: 1, Dropped: map[string]int{"malformed": 1}},
		},
		{
			name:    "a JSON array of garbage",
			payload: json.RawMessage(`[1, "x", {"eventName": 3}, null]`),
			want:    awsdetector.Summary{Records: 1, Dropped: map[string]int{"malformed": 1}},
		},
		{
			name:    "an object that is no event",
			payload: json.RawMessage(`{"hello": "world"}`),
			want:    awsdetector.Summary{Records: 1, Dropped: map[string]int{"malformed": 1}},
		},
		{
			name:    "a log file of garbage records",
			payload: json.RawMessage(`{"Records": [1, "x", [], {"eventName": "StopLogging"}]}`),
			want:    awsdetector.Summary{Records: 4, Dropped: map[string]int{"malformed": 4}},
		},
		{
			name:    "an empty log file",
			payload: json.RawMessage(`{"Records": []}`),
			want:    awsdetector.Summary{},
		},
		{
			name: "an EventBridge event of the demo",
			payload: demoEvent(t, "14-stop-logging.json", map[string]string{
				"ACCOUNT": "123456789012", "REGION": "eu-west-1", "TIME": "2025-06-01T10:00:00Z", "TRAIL": "org-audit-trail",
			}),
			outcome:  drifted,
			want:     awsdetector.Summary{Records: 1, Processed: 1, Drifted: 1, Notified: 1},
			wantSeen: []string{"8867d96a-2bd5-5a19-bdb5-827b6aaa528e"},
		},
		{
			name:     "a log file mixing every kind of record",
			payload:  logFile(t, idGetSecretValue, idStopLogging, idRunInstancesDeny, idDeleteFlowLogs, idConsoleLogin),
			outcome:  drifted,
			want:     awsdetector.Summary{Records: 5, Dropped: map[string]int{"read_only": 1, "failed": 1, "unsupported": 1, "not_audit": 1}, Processed: 1, Drifted: 1, Notified: 1},
			wantSeen: []string{idStopLogging},
		},
		{
			name:    "a processor error on one record of a log file",
			payload: logFile(t, idStopLogging, idDeleteTrail, idConsoleLogin, idAuthorizeIngress),
			fail:    map[string]error{idDeleteTrail: fmt.Errorf("fetch AWS::CloudTrail::Trail: %w", errThrottled)},
			outcome: []pipeline.ResourceOutcome{{Exists: true}},
			// The others are still processed; the error asks for a retry
			// of the whole file, which the pipeline's event claims make
			// safe.
			want:     awsdetector.Summary{Records: 4, Dropped: map[string]int{"not_audit": 1}, Processed: 2, Failed: 1},
			wantSeen: []string{idStopLogging, idDeleteTrail, idAuthorizeIngress},
			wantErr:  errThrottled,
		},
		{
			name:      "a duplicate",
			payload:   logFile(t, idStopLogging, idDeleteTrail),
			duplicate: map[string]bool{idDeleteTrail: true},
			outcome:   []pipeline.ResourceOutcome{{Exists: true, Drift: posture.Drift{Resolved: []string{"aws_cloudtrail_trail_logging"}}, Notified: true}},
			want:      awsdetector.Summary{Records: 2, Dropped: map[string]int{"duplicate": 1}, Processed: 1, Resolved: 1, Notified: 1},
			wantSeen:  []string{idStopLogging, idDeleteTrail},
		},
		{
			name:    "a change touching two resources",
			payload: logFile(t, idAttachUserPolicy),
			outcome: []pipeline.ResourceOutcome{
				{Exists: true, Drift: posture.Drift{Opened: []string{"aws_iam_user_no_admin_star_policy"}}, Notified: true},
				{Exists: true, Drift: posture.Drift{Still: []string{"aws_iam_user_access_key_rotated_90d"}}},
			},
			want:     awsdetector.Summary{Records: 1, Processed: 1, Drifted: 1, Notified: 1},
			wantSeen: []string{idAttachUserPolicy},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := newRecorder()
			proc.fail, proc.duplicate, proc.outcome = tt.fail, tt.duplicate, tt.outcome
			h := awsdetector.NewHandler(newNormalizer(t), proc, nil, 0)
			got, err := h.Handle(t.Context(), tt.payload)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Handle: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("Handle error = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("summary = %+v, want %+v", got, tt.want)
			}
			want := slices.Sorted(slices.Values(tt.wantSeen))
			if seen := proc.seenIDs(); !slices.Equal(seen, want) {
				t.Errorf("processed %v, want %v", seen, want)
			}
		})
	}
}

// The changes handed to the processor are the normalizer's, whole.
func TestHandlePassesTheChange(t *testing.T) {
	proc := newRecorder()
	h := awsdetector.NewHandler(newNormalizer(t), proc, nil, 0)
	payload := logFile(t, idStopLogging)
	if _, err := h.Handle(t.Context(), payload); err != nil {
		t.Fatal(err)
	}
	want := newNormalizer(t).Normalize(payload)
	if len(want) != 1 || want[0].Err != nil {
		t.Fatalf("normalizer: %+v", want)
	}
	if len(proc.seen) != 1 || !reflect.DeepEqual(proc.seen[0], want[0].Change) {
		t.Errorf("processed %+v\nwant %+v", proc.seen, want[0].Change)
	}
	if c := proc.seen[0]; c.Operation != "StopLogging" || len(c.Resources) == 0 {
		t.Errorf("change = %+v", c)
	}
}

func TestHandleLogs(t *testing.T) {
	log, lines := logTo(t)
	proc := newRecorder()
	proc.fail = map[string]error{idDeleteTrail: fmt.Errorf("claim event: %w", errThrottled)}
	h := awsdetector.NewHandler(newNormalizer(t), proc, log, 2)
	payload := logFile(t, idGetSecretValue, idStopLogging, idRunInstancesDeny, idDeleteFlowLogs, idConsoleLogin, idDeleteTrail)
	if _, err := h.Handle(t.Context(), payload); !errors.Is(err, errThrottled) {
		t.Fatalf("Handle error = %v", err)
	}
	if _, err := h.Handle(t.Context(), json.RawMessage("{not json")); err != nil {
		t.Fatalf("Handle of a malformed payload: %v", err)
	}

	dropped := map[string]string{} // event_id -> reason
	var failed []logLine
	for _, l := range lines() {
		switch l.str("msg") {
		case "event dropped":
			if l.str("level") != "INFO" || l.str("detail") == "" {
				t.Errorf("drop line %v: want level INFO and a detail", l)
			}
			if _, dup := dropped[l.str("event_id")]; dup {
				t.Errorf("event %q logged as dropped twice", l.str("event_id"))
			}
			dropped[l.str("event_id")] = l.str("reason")
		case "event failed":
			failed = append(failed, l)
		default:
			t.Errorf("unexpected log line %v", l)
		}
	}
	want := map[string]string{
		idGetSecretValue:   "read_only",
		idRunInstancesDeny: "failed",
		idDeleteFlowLogs:   "unsupported",
		idConsoleLogin:     "not_audit",
		// The undecodable payload has no event id to log.
		"": "malformed",
	}
	if !reflect.DeepEqual(dropped, want) {
		t.Errorf("drops logged %v, want %v", dropped, want)
	}
	if len(failed) != 1 {
		t.Fatalf("%d failure lines, want 1: %v", len(failed), failed)
	}
	f := failed[0]
	if f.str("level") != "ERROR" || f.str("event_id") != idDeleteTrail || f.str("operation") != "DeleteTrail" || f.str("error") != "claim event: "+errThrottled.Error() {
		t.Errorf("failure line = %v", f)
	}
}

func TestHandleBoundsConcurrency(t *testing.T) {
	// Every relevant record twice: a log file longer than the default
	// bound.
	ids := append(slices.Clone(relevantIDs), relevantIDs...)
	payload := logFile(t, ids...)
	tests := []struct {
		name    string
		workers int
		bound   int
	}{
		{"one at a time", 1, 1},
		{"three", 3, 3},
		{"default", 0, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := newRecorder()
			proc.wave = tt.bound
			h := awsdetector.NewHandler(newNormalizer(t), proc, nil, tt.workers)
			sum, err := h.Handle(t.Context(), payload)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Processed != len(ids) {
				t.Errorf("processed %d, want %d", sum.Processed, len(ids))
			}
			// The first wave waits until bound calls are in flight, so the
			// peak is the bound exactly unless the handler exceeds it.
			if proc.peak != tt.bound {
				t.Errorf("peak concurrency %d, want %d", proc.peak, tt.bound)
			}
		})
	}
}
