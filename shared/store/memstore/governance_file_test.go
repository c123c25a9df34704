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
)

// govWritten is what writeGovernance stored, as the store returns it.
type govWritten struct {
	rem   store.Remediation
	exc   store.Exception
	audit []store.AuditEntry
}

const rateBucket = "auto|aws|111111111111"

// writeGovernance stores one record of each governance kind on key: a
// remediation at version 2 with a snapshot, an exception, two audit entries
// and both tokens of a rate limit of 2.
func writeGovernance(tb testing.TB, m *memstore.Store) govWritten {
	tb.Helper()
	ctx := tb.Context()
	rem := store.Remediation{ID: "rem-1", Key: key, ResourceType: "AWS::S3::Bucket", RuleID: "s3_public", Action: "s3_acl_private",
		Change: "Set the ACL to private", State: store.RemediationProposed, RequiredApprovals: 1, ProposedAt: t0, ExpiresAt: t0.Add(time.Hour),
		CausedBy: change.Actor{Principal: "alice", Via: "console"}}
	v1, err := m.CreateRemediation(ctx, rem)
	if err != nil {
		tb.Fatal(err)
	}
	v1.State = store.RemediationSucceeded
	v1.Approvals = []store.Approval{{SlackUser: "U0BOB", Name: "bob", At: t0.Add(time.Minute)}}
	// Whitespace and HTML characters must survive the file.
	v1.Snapshot = json.RawMessage("{\n  \"acl\": \"<public-read>&\"\n}")
	v2, err := m.UpdateRemediation(ctx, v1)
	if err != nil {
		tb.Fatal(err)
	}
	exc := store.Exception{Key: key, RuleID: "s3_logging", Reason: "log bucket", ApprovedBy: "U0BOB", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	if err := m.PutException(ctx, exc); err != nil {
		tb.Fatal(err)
	}
	audit := []store.AuditEntry{
		{Key: key, At: t0, Seq: "a", Kind: "click", Who: "U0BOB", What: "clicked Remediate"},
		{Key: key, At: t0.Add(time.Second), Seq: "a", Kind: "approval", Who: "U0BOB", RemediationID: "rem-1"},
	}
	for _, e := range []store.AuditEntry{audit[1], audit[0]} {
		if err := m.AppendAudit(ctx, e); err != nil {
			tb.Fatal(err)
		}
	}
	for range 2 {
		if err := m.TakeRateToken(ctx, rateBucket, t0, time.Hour, 2); err != nil {
			tb.Fatal(err)
		}
	}
	return govWritten{rem: v2, exc: exc, audit: audit}
}

// checkGovernance fails unless m holds what writeGovernance wrote.
func checkGovernance(t *testing.T, m *memstore.Store, w govWritten) {
	t.Helper()
	ctx := t.Context()
	l, err := m.LoadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Remediations, []store.Remediation{w.rem}) || !reflect.DeepEqual(l.Exceptions, []store.Exception{w.exc}) {
		t.Fatalf("governance records after reopening:\nremediations %+v\nexceptions %+v\nwant %+v and %+v", l.Remediations, l.Exceptions, w.rem, w.exc)
	}
	if string(l.Remediations[0].Snapshot) != string(w.rem.Snapshot) {
		t.Fatalf("snapshot after reopening = %q, want the exact bytes %q", l.Remediations[0].Snapshot, w.rem.Snapshot)
	}
	if got, err := m.Audit(ctx, key); err != nil || !reflect.DeepEqual(got, w.audit) {
		t.Fatalf("audit after reopening = %+v, %v; want %+v", got, err, w.audit)
	}
	// The version carries over: a writer holding version 1 is refused.
	stale := w.rem
	stale.Version = 1
	if _, err := m.UpdateRemediation(ctx, stale); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update after reopening: %v, want ErrConflict", err)
	}
	// An audit entry stays written once; the used rate tokens stay used.
	if err := m.AppendAudit(ctx, w.audit[0]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate audit entry after reopening: %v, want ErrConflict", err)
	}
	if err := m.TakeRateToken(ctx, rateBucket, t0.Add(time.Minute), time.Hour, 2); !errors.Is(err, store.ErrClaimed) {
		t.Fatalf("rate token after reopening: %v, want ErrClaimed", err)
	}
}

// TestFileGovernanceRoundTrip writes the governance records through one
// store and reads them through a second one on the same file.
func TestFileGovernanceRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posture.json")
	first := open(t, path)
	if _, err := first.SaveObservation(t.Context(), store.Observation{State: store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	w := writeGovernance(t, first)
	checkGovernance(t, open(t, path), w)
}

// TestFileVersion1 opens a file written by the version 1 store (before the
// governance records existed): everything in it loads, and the first change
// rewrites it as version 2 without losing any of it.
func TestFileVersion1(t *testing.T) {
	v1, err := os.ReadFile(filepath.Join("testdata", "posture-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(v1), `"version": 1,`) {
		t.Fatal("testdata/posture-v1.json is not a version 1 file")
	}
	path := filepath.Join(t.TempDir(), "posture.json")
	if err := os.WriteFile(path, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	beta := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::beta"}
	ref := store.AlertRef{Channel: "C1", TS: "1.2"}
	check := func(m *memstore.Store) store.Loaded {
		t.Helper()
		l, err := m.LoadAll(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		st := l.State
		if st.Revision != 1 || string(st.Document) != "{\n  \"acl\": \"<private>\"\n}" || st.Tags["env"] != "prod" ||
			st.Alert != (store.AlertState{Ref: ref, Open: true, WantRevision: 1, RenderedRevision: 1}) || !st.ObservedAt.Equal(t0) {
			t.Fatalf("state from the version 1 file = %+v (document %q)", st, st.Document)
		}
		if len(l.Findings) != 2 || l.Findings[0].RuleID != "s3_logging" || l.Findings[0].Status != store.FindingResolved ||
			l.Findings[1].RuleID != "s3_public" || l.Findings[1].Alert != ref || l.Findings[1].Before["acl"] != "private" {
			t.Fatalf("findings from the version 1 file = %+v", l.Findings)
		}
		openFs, err := m.OpenFindings(ctx, store.FindingQuery{Severity: posture.High})
		if err != nil || len(openFs) != 1 || openFs[0].RuleID != "s3_public" {
			t.Fatalf("open findings from the version 1 file = %+v, %v", openFs, err)
		}
		// Claims and the alert lease hold as they did.
		for _, id := range []string{"ev-busy", "ev-done"} {
			if err := m.ClaimEvent(ctx, id, t0.Add(time.Minute), time.Minute); !errors.Is(err, store.ErrClaimed) {
				t.Fatalf("claim %s from the version 1 file: %v, want ErrClaimed", id, err)
			}
		}
		if _, err := m.ClaimAlert(ctx, beta, 1, t0.Add(time.Minute), time.Minute); !errors.Is(err, store.ErrClaimed) {
			t.Fatalf("claim of an alert leased in the version 1 file: %v, want ErrClaimed", err)
		}
		return l
	}

	m := open(t, path)
	if l := check(m); l.Remediations != nil || l.Exceptions != nil {
		t.Fatalf("governance records from a version 1 file: %+v", l)
	}
	if a, err := m.Audit(ctx, key); err != nil || a != nil {
		t.Fatalf("audit from a version 1 file = %+v, %v", a, err)
	}
	w := writeGovernance(t, m)

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Version != 2 {
		t.Fatalf("rewritten file: version %d, %v; want 2", head.Version, err)
	}
	again := open(t, path)
	check(again)
	checkGovernance(t, again, w)
}

// TestFileGovernanceWriteFailure: a governance write that cannot reach the
// file leaves memory as it was.
func TestFileGovernanceWriteFailure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := open(t, filepath.Join(dir, "posture.json"))
	ctx := t.Context()
	if _, err := m.SaveObservation(ctx, store.Observation{State: store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	rem := store.Remediation{ID: "rem-1", Key: key, RuleID: "s3_public", Action: "s3_acl_private", State: store.RemediationProposed}
	v1, err := m.CreateRemediation(ctx, rem)
	if err != nil {
		t.Fatal(err)
	}
	audit := store.AuditEntry{Key: key, At: t0, Seq: "a", Kind: "click", Who: "U0BOB"}
	exc := store.Exception{Key: key, RuleID: "s3_public", Reason: "r", ApprovedBy: "U0BOB", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	approved := v1
	approved.State = store.RemediationApproved
	if _, err := m.UpdateRemediation(ctx, approved); err == nil {
		t.Fatal("UpdateRemediation succeeded without a directory")
	}
	if _, err := m.CreateRemediation(ctx, store.Remediation{ID: "rem-2", Key: key, RuleID: "r", Action: "a", State: store.RemediationProposed}); err == nil {
		t.Fatal("CreateRemediation succeeded without a directory")
	}
	if err := m.PutException(ctx, exc); err == nil {
		t.Fatal("PutException succeeded without a directory")
	}
	if err := m.AppendAudit(ctx, audit); err == nil {
		t.Fatal("AppendAudit succeeded without a directory")
	}
	if err := m.TakeRateToken(ctx, rateBucket, t0, time.Hour, 1); err == nil {
		t.Fatal("TakeRateToken succeeded without a directory")
	}
	l, err := m.LoadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Remediations, []store.Remediation{v1}) || l.Exceptions != nil {
		t.Fatalf("failed writes changed memory: %+v", l)
	}
	if a, err := m.Audit(ctx, key); err != nil || a != nil {
		t.Fatalf("a failed append stayed in memory: %+v, %v", a, err)
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// None of the failed writes counts: each succeeds now.
	if _, err := m.UpdateRemediation(ctx, approved); err != nil {
		t.Fatalf("UpdateRemediation after the failed one: %v", err)
	}
	if _, err := m.CreateRemediation(ctx, store.Remediation{ID: "rem-2", Key: key, RuleID: "r", Action: "a", State: store.RemediationProposed}); err != nil {
		t.Fatalf("CreateRemediation after the failed one: %v", err)
	}
	if err := m.AppendAudit(ctx, audit); err != nil {
		t.Fatalf("AppendAudit after the failed one: %v", err)
	}
	if err := m.TakeRateToken(ctx, rateBucket, t0, time.Hour, 1); err != nil {
		t.Fatalf("TakeRateToken after the failed one (limit 1): %v", err)
	}
	if err := m.PutException(ctx, exc); err != nil {
		t.Fatalf("PutException after the failed one: %v", err)
	}
}

func TestOpenGovernanceErrors(t *testing.T) {
	dir := t.TempDir()
	const k = `"key":{"cloud":"aws","account":"1","resource_id":"r"}`
	rem := `{"remediation":{"id":"rem-1",` + k + `,"rule_id":"r","action":"a","state":"proposed","version":1}}`
	audit := `{` + k + `,"at":"2026-01-01T00:00:00Z","seq":"s","kind":"click","who":"U1"}`
	exc := `{` + k + `,"rule_id":"r","reason":"why","approved_by":"U1","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-02T00:00:00Z"}`
	cases := []struct {
		name, content, want string
	}{
		{"remediation without an id", `{"version":2,"remediations":[{"remediation":{` + k + `,"rule_id":"r","action":"a","state":"proposed","version":1}}]}`, "id is empty"},
		{"remediation at version 0", `{"version":2,"remediations":[{"remediation":{"id":"rem-1",` + k + `,"rule_id":"r","action":"a","state":"proposed"}}]}`, "version 0, stored ones start at 1"},
		{"remediation in an unknown state", `{"version":2,"remediations":[{"remediation":{"id":"rem-1",` + k + `,"rule_id":"r","action":"a","state":"done","version":1}}]}`, `unknown state "done"`},
		{"remediation with a snapshot that is not JSON", `{"version":2,"remediations":[{"remediation":{"id":"rem-1",` + k + `,"rule_id":"r","action":"a","state":"proposed","version":1},"snapshot":"ew=="}]}`, "snapshot is not valid JSON"},
		{"remediation twice", `{"version":2,"remediations":[` + rem + `,` + rem + `]}`, "remediation rem-1 of aws|1|r appears twice"},
		{"exception without a reason", `{"version":2,"exceptions":[{` + k + `,"rule_id":"r","approved_by":"U1","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-02T00:00:00Z"}]}`, "reason is empty"},
		{"exception twice", `{"version":2,"exceptions":[` + exc + `,` + exc + `]}`, "exception r on aws|1|r appears twice"},
		{"audit entry without a seq", `{"version":2,"audit":[{` + k + `,"at":"2026-01-01T00:00:00Z","kind":"click","who":"U1"}]}`, "seq is empty"},
		{"audit entry twice", `{"version":2,"audit":[` + audit + `,` + strings.Replace(audit, "00:00:00Z", "01:00:00+01:00", 1) + `]}`, `seq "s" appears twice`},
		{"rate counter without a bucket", `{"version":2,"rate_tokens":[{"window_ns":1,"window_start":"2026-01-01T00:00:00Z","uses":1}]}`, "rate counter without a bucket"},
		{"rate counter without a window", `{"version":2,"rate_tokens":[{"bucket":"b","window_start":"2026-01-01T00:00:00Z","uses":1}]}`, "window 0s is not positive"},
		{"rate counter with negative uses", `{"version":2,"rate_tokens":[{"bucket":"b","window_ns":1,"window_start":"2026-01-01T00:00:00Z","uses":-1}]}`, "negative uses -1"},
		{"rate counter without a start", `{"version":2,"rate_tokens":[{"bucket":"b","window_ns":1,"uses":1}]}`, "window start is not set"},
	}
	for i, c := range cases {
		p := filepath.Join(dir, c.name+".json")
		if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := memstore.Open(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d, Open with %s: error %v, want it to contain %q", i, c.name, err, c.want)
		}
	}
}

// TestFileGovernanceIsDeterministic: the same records written in a
// different order give the same file.
func TestFileGovernanceIsDeterministic(t *testing.T) {
	keys := []store.Key{key, {Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::beta"}, {Cloud: change.GCP, Account: "p", ResourceID: "b"}}
	write := func(order []int) []byte {
		path := filepath.Join(t.TempDir(), "posture.json")
		m := open(t, path)
		ctx := t.Context()
		for _, i := range order {
			k := keys[i]
			for _, id := range []string{"rem-b", "rem-a"} {
				if _, err := m.CreateRemediation(ctx, store.Remediation{ID: id, Key: k, RuleID: "r", Action: "a", State: store.RemediationProposed}); err != nil {
					t.Fatal(err)
				}
			}
			for _, rule := range []string{"r2", "r1"} {
				if err := m.PutException(ctx, store.Exception{Key: k, RuleID: rule, Reason: "why", ApprovedBy: "U1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
			}
			for _, seq := range []string{"b", "a"} {
				if err := m.AppendAudit(ctx, store.AuditEntry{Key: k, At: t0, Seq: seq, Kind: "click", Who: "U1"}); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.TakeRateToken(ctx, k.Account, t0, time.Hour, 10); err != nil {
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
