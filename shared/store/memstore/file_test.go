package memstore_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/memstore"
	"github.com/driftwatch/driftwatch/shared/store/storetest"
)

// TestConformanceFile runs the suite on a file-backed store: every change
// goes through the file as well.
func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) store.Store {
		m, err := memstore.Open(filepath.Join(tb.TempDir(), "posture.json"))
		if err != nil {
			tb.Fatalf("Open: %v", err)
		}
		return m
	})
}

// TestGovernanceFile runs the governance suite on a file-backed store.
func TestGovernanceFile(t *testing.T) {
	storetest.RunGovernance(t, func(tb testing.TB) storetest.Governed {
		m, err := memstore.Open(filepath.Join(tb.TempDir(), "posture.json"))
		if err != nil {
			tb.Fatalf("Open: %v", err)
		}
		return m
	})
}

var (
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.UTC)
	key = store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
)

func open(t *testing.T, path string) *memstore.Store {
	t.Helper()
	m, err := memstore.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return m
}

// TestFileRoundTrip writes through one store and reads through a second
// one opened on the same file, as two process invocations would.
func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posture.json")
	ctx := t.Context()
	first := open(t, path)

	state := store.ResourceState{
		Key: key, Type: "AWS::S3::Bucket", Region: "eu-west-1", Name: "alpha", Exists: true, ObservedAt: t0,
		Document:    json.RawMessage("{\n  \"acl\": \"<private>\"\n}"),
		Tags:        map[string]string{"env": "prod"},
		Evaluations: []posture.Evaluation{{RuleID: "s3_public", Status: posture.Fail, Severity: posture.High}},
		LastChange:  store.ChangeRef{EventID: "ev-1", Operation: "PutBucketAcl", Time: t0, Actor: change.Actor{Principal: "alice", Via: "console"}},
		Alert:       store.AlertState{WantRevision: 1},
	}
	finding := store.Finding{Key: key, RuleID: "s3_public", Severity: posture.High, ResourceType: "AWS::S3::Bucket",
		Status: store.FindingOpen, FirstSeen: t0, LastSeen: t0, OpenedBy: state.LastChange}
	saved, err := first.SaveObservation(ctx, store.Observation{State: state, Findings: []store.Finding{finding}})
	if err != nil {
		t.Fatal(err)
	}
	ref := store.AlertRef{Channel: "C1", TS: "1.2"}
	if _, err := first.ClaimAlert(ctx, key, 1, t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := first.RecordAlert(ctx, key, 1, ref, true, []string{"s3_public"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ev-done", "ev-busy"} {
		if err := first.ClaimEvent(ctx, id, t0, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.CompleteEvent(ctx, "ev-done", t0, time.Hour); err != nil {
		t.Fatal(err)
	}

	second := open(t, path)
	got, err := second.GetResource(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := saved
	want.Alert = store.AlertState{Ref: ref, Open: true, WantRevision: 1, RenderedRevision: 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("state after reopening:\ngot  %+v\nwant %+v", got, want)
	}
	if string(got.Document) != string(state.Document) {
		t.Fatalf("document after reopening = %q, want the exact bytes %q", got.Document, state.Document)
	}
	fs, err := second.Findings(ctx, key)
	finding.Alert = ref
	if err != nil || !reflect.DeepEqual(fs, []store.Finding{finding}) {
		t.Fatalf("findings after reopening = %+v, %v; want %+v", fs, err, finding)
	}
	openFs, err := second.OpenFindings(ctx, store.FindingQuery{Severity: posture.High})
	if err != nil || !reflect.DeepEqual(openFs, []store.Finding{finding}) {
		t.Fatalf("open findings after reopening = %+v, %v", openFs, err)
	}
	// Claims survive: done stays done, a live lease stays live.
	for _, id := range []string{"ev-done", "ev-busy"} {
		if err := second.ClaimEvent(ctx, id, t0.Add(30*time.Second), time.Minute); !errors.Is(err, store.ErrClaimed) {
			t.Fatalf("claim %s after reopening: %v, want ErrClaimed", id, err)
		}
	}
	if err := second.ClaimEvent(ctx, "ev-busy", t0.Add(2*time.Minute), time.Minute); err != nil {
		t.Fatalf("claim ev-busy after its lease: %v", err)
	}
	// The revision carries over, so a stale writer is still refused.
	if _, err := second.SaveObservation(ctx, store.Observation{State: state, ExpectedRevision: 1}); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale save after reopening: %v, want ErrStale", err)
	}
}

// TestFileAlertLeaseSurvives checks that an alert lease taken by one process
// holds in the next.
func TestFileAlertLeaseSurvives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posture.json")
	first := open(t, path)
	state := store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: t0, Alert: store.AlertState{WantRevision: 1}}
	if _, err := first.SaveObservation(t.Context(), store.Observation{State: state}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.ClaimAlert(t.Context(), key, 1, t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	second := open(t, path)
	if _, err := second.ClaimAlert(t.Context(), key, 1, t0.Add(time.Second), time.Minute); !errors.Is(err, store.ErrClaimed) {
		t.Fatalf("claim during another process's lease: %v, want ErrClaimed", err)
	}
}

// TestFileWriteFailureChangesNothing removes the directory under an open
// store: the write fails, and memory must not keep what the file lacks.
func TestFileWriteFailureChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := open(t, filepath.Join(dir, "posture.json"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	state := store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: t0}
	if _, err := m.SaveObservation(ctx, store.Observation{State: state}); err == nil {
		t.Fatal("SaveObservation succeeded without a directory")
	}
	if _, err := m.GetResource(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetResource after a failed save: %v, want ErrNotFound", err)
	}
	if err := m.ClaimEvent(ctx, "ev", t0, time.Minute); err == nil {
		t.Fatal("ClaimEvent succeeded without a directory")
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.ClaimEvent(ctx, "ev", t0, time.Minute); err != nil {
		t.Fatalf("ClaimEvent after the failed claim: %v (the failed claim must not count)", err)
	}
	if _, err := m.SaveObservation(ctx, store.Observation{State: state}); err != nil {
		t.Fatalf("first save after the failed one: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"not JSON", write("garbage.json", "{not json"), "invalid character"},
		{"newer version", write("v3.json", `{"version":3}`), "version 3, this build reads versions 1 to 2"},
		{"no version", write("v0.json", `{}`), "version 0, this build reads versions 1 to 2"},
		{"resource without a key", write("nokey.json", `{"version":1,"resources":[{"state":{"key":{"cloud":"aws"}}}]}`), "account is empty"},
		{"finding without a rule", write("norule.json", `{"version":1,"findings":[{"key":{"cloud":"aws","account":"1","resource_id":"r"}}]}`), "without a rule id"},
		{"claim without an id", write("noid.json", `{"version":1,"claims":[{"done":true}]}`), "without an event id"},
		{"missing directory", filepath.Join(dir, "missing", "posture.json"), "no such file or directory"},
	}
	for _, c := range cases {
		_, err := memstore.Open(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open with %s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// TestFileIsDeterministic: the same posture written in a different order
// gives the same file, so that a committed demo state diffs cleanly.
func TestFileIsDeterministic(t *testing.T) {
	keys := []store.Key{key, {Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::beta"}, {Cloud: change.GCP, Account: "p", ResourceID: "b"}}
	write := func(order []int) []byte {
		path := filepath.Join(t.TempDir(), "posture.json")
		m := open(t, path)
		for _, i := range order {
			st := store.ResourceState{Key: keys[i], Type: "T", ObservedAt: t0}
			fs := []store.Finding{
				{Key: keys[i], RuleID: "b", Severity: posture.Low, Status: store.FindingOpen},
				{Key: keys[i], RuleID: "a", Severity: posture.Low, Status: store.FindingOpen},
			}
			if _, err := m.SaveObservation(t.Context(), store.Observation{State: st, Findings: fs}); err != nil {
				t.Fatal(err)
			}
			if err := m.ClaimEvent(t.Context(), keys[i].ResourceID, t0, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := write([]int{0, 1, 2}), write([]int{2, 0, 1})
	if string(a) != string(b) {
		t.Fatalf("files differ with the write order:\n%s\n---\n%s", a, b)
	}
}

func BenchmarkSaveObservationFile(b *testing.B) {
	m, err := memstore.Open(filepath.Join(b.TempDir(), "posture.json"))
	if err != nil {
		b.Fatal(err)
	}
	storetest.BenchSaveObservation(b, m)
}

// FuzzOpen feeds arbitrary files to Open: it must never panic, and a file
// it accepted must still be accepted after the store rewrote it.
func FuzzOpen(f *testing.F) {
	seedPath := filepath.Join(f.TempDir(), "seed.json")
	m, err := memstore.Open(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	st := store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: t0, Document: json.RawMessage(`{"a": [1, 2]}`),
		Tags: map[string]string{"env": "prod"}, Evaluations: []posture.Evaluation{{RuleID: "r", Status: posture.Fail, Severity: posture.High}}}
	fs := []store.Finding{{Key: key, RuleID: "r", Severity: posture.High, Status: store.FindingOpen, FirstSeen: t0, LastSeen: t0}}
	if _, err := m.SaveObservation(f.Context(), store.Observation{State: st, Findings: fs}); err != nil {
		f.Fatal(err)
	}
	if err := m.CompleteEvent(f.Context(), "ev", t0, time.Hour); err != nil {
		f.Fatal(err)
	}
	writeGovernance(f, m)
	seed, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	v1, err := os.ReadFile(filepath.Join("testdata", "posture-v1.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v1)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"resources":[{"state":{"key":{"cloud":"aws","account":"1","resource_id":"r"}},"document":"e30="}]}`))
	f.Add([]byte(`{"version":1,"claims":[{"event_id":"e","lease_until":"2026-01-01T00:00:00Z","expires_at":-1}]}`))
	f.Add([]byte(`{"version":2,"audit":[{"key":{"cloud":"aws","account":"1","resource_id":"r"},"at":"1970-01-01T00:59:59.999999999+01:00","seq":"s","kind":"k","who":"w"}]}`))
	f.Add([]byte(`{"version":2,"rate_tokens":[{"bucket":"b","window_ns":1,"window_start":"1969-12-31T23:59:59Z","uses":1,"expires_at":0}]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "posture.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := memstore.Open(path)
		if err != nil {
			return
		}
		for _, sev := range []posture.Severity{posture.Critical, posture.High, posture.Medium, posture.Low, posture.Informational} {
			if _, err := m.OpenFindings(t.Context(), store.FindingQuery{Severity: sev}); err != nil {
				t.Fatalf("OpenFindings on a loaded file: %v", err)
			}
		}
		// Any change rewrites the whole file.
		if err := m.CompleteEvent(t.Context(), "fuzz-probe", t0, time.Hour); err != nil {
			t.Fatalf("CompleteEvent on a loaded file: %v", err)
		}
		if _, err := memstore.Open(path); err != nil {
			t.Fatalf("the store cannot read the file it wrote: %v\ninput: %q", err, data)
		}
	})
}
