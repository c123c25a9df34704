package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
)

// Governed is a posture store that also keeps the governance records.
type Governed interface {
	store.Store
	store.Governance
}

// NewGoverned returns an empty store for one test and registers its
// cleanup with tb.
type NewGoverned func(tb testing.TB) Governed

// RunGovernance runs the conformance suite of store.Governance, each case
// on a fresh store. A store's test is one call:
//
//	func TestGovernance(t *testing.T) { storetest.RunGovernance(t, newStore) }
func RunGovernance(t *testing.T, newStore NewGoverned) {
	cases := []struct {
		name string
		fn   func(t *testing.T, st Governed)
	}{
		{"RemediationVersions", testRemediationVersions},
		{"ConcurrentRemediationUpdates", testConcurrentRemediationUpdates},
		{"ConcurrentRemediationCreates", testConcurrentRemediationCreates},
		{"GovernanceInvalidInput", testGovernanceInvalidInput},
		{"LoadAll", testLoadAll},
		{"ExceptionsReplaceByRule", testExceptionsReplaceByRule},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"ConcurrentAudit", testConcurrentAudit},
		{"RateTokens", testRateTokens},
		{"ConcurrentRateTokens", testConcurrentRateTokens},
		{"GovernanceRoundTrip", testGovernanceRoundTrip},
		{"GovernanceNoAliasing", testGovernanceNoAliasing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newStore(t))
		})
	}
}

// newRemediation returns a minimal valid proposed remediation of a finding.
func newRemediation(key store.Key, rule string) store.Remediation {
	return store.Remediation{
		ID: "rem-" + rule, Key: key, ResourceType: "AWS::S3::Bucket", Region: "eu-west-1", RuleID: rule,
		Action: "s3_acl_private", Change: "Set the bucket ACL to private", State: store.RemediationProposed,
		FindingFirstSeen: t0, RequiredApprovals: 1, ProposedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0,
		CausedBy: change.Actor{Principal: "arn:aws:iam::111111111111:user/alice", Type: "IAMUser", Name: "alice"},
	}
}

func newException(key store.Key, rule string) store.Exception {
	return store.Exception{Key: key, RuleID: rule, Reason: "public website, reviewed", ApprovedBy: "U0BOB",
		CreatedAt: t0, ExpiresAt: t0.Add(30 * 24 * time.Hour)}
}

func newAudit(key store.Key, at time.Time, seq, kind string) store.AuditEntry {
	return store.AuditEntry{Key: key, At: at, Seq: seq, Kind: kind, Who: "U0BOB", RuleID: "s3_public", What: kind + " " + seq}
}

func createRem(t *testing.T, st Governed, r store.Remediation) store.Remediation {
	t.Helper()
	got, err := st.CreateRemediation(ctx(t), r)
	if err != nil {
		t.Fatalf("CreateRemediation(%s): %v", r.ID, err)
	}
	return got
}

func getRem(t *testing.T, st Governed, key store.Key, id string) store.Remediation {
	t.Helper()
	got, err := st.GetRemediation(ctx(t), key, id)
	if err != nil {
		t.Fatalf("GetRemediation(%s, %s): %v", key, id, err)
	}
	return got
}

func appendAudit(t *testing.T, st Governed, e store.AuditEntry) {
	t.Helper()
	if err := st.AppendAudit(ctx(t), e); err != nil {
		t.Fatalf("AppendAudit(%s, %s, %q): %v", e.Key, e.At, e.Seq, err)
	}
}

func audit(t *testing.T, st Governed, key store.Key) []store.AuditEntry {
	t.Helper()
	got, err := st.Audit(ctx(t), key)
	if err != nil {
		t.Fatalf("Audit(%s): %v", key, err)
	}
	return got
}

// testRemediationVersions walks a remediation through its states: every
// write is conditional on the version read, and a refused write changes
// nothing.
func testRemediationVersions(t *testing.T, st Governed) {
	in := newRemediation(bucketKey, "s3_public")
	_, err := st.GetRemediation(ctx(t), bucketKey, in.ID)
	wantErr(t, "GetRemediation of a missing remediation", err, store.ErrNotFound)
	_, err = st.UpdateRemediation(ctx(t), func() store.Remediation { r := in; r.Version = 1; return r }())
	wantErr(t, "UpdateRemediation of a missing remediation", err, store.ErrNotFound)

	in.Version = 7 // the store sets it
	v1 := createRem(t, st, in)
	want := in
	want.Version = 1
	equal(t, "created remediation", v1, want)
	equal(t, "stored remediation", getRem(t, st, bucketKey, in.ID), want)

	again := in
	again.State = store.RemediationApproved
	_, err = st.CreateRemediation(ctx(t), again)
	wantErr(t, "second CreateRemediation", err, store.ErrConflict)
	equal(t, "stored remediation after a refused create", getRem(t, st, bucketKey, in.ID), want)

	// proposed -> approved -> running -> succeeded, each from the version
	// the last write returned.
	cur := v1
	steps := []func(r *store.Remediation){
		func(r *store.Remediation) {
			r.State = store.RemediationApproved
			r.Approvals = []store.Approval{{SlackUser: "U0BOB", Name: "bob", At: t0.Add(time.Minute)}}
		},
		func(r *store.Remediation) { r.State = store.RemediationRunning },
		func(r *store.Remediation) {
			r.State = store.RemediationSucceeded
			r.Snapshot = json.RawMessage(`{"acl":"public-read"}`)
			r.Result = "The bucket ACL is private."
		},
	}
	for i, step := range steps {
		next := cur
		step(&next)
		next.UpdatedAt = t0.Add(time.Duration(i+2) * time.Minute)
		got, err := st.UpdateRemediation(ctx(t), next)
		wantErr(t, fmt.Sprintf("update %d to %s", i, next.State), err, nil)
		want := next
		want.Version = cur.Version + 1
		equal(t, fmt.Sprintf("returned remediation after update %d", i), got, want)
		equal(t, fmt.Sprintf("stored remediation after update %d", i), getRem(t, st, bucketKey, in.ID), want)

		stale := cur // the version before this update
		stale.State = store.RemediationFailed
		_, err = st.UpdateRemediation(ctx(t), stale)
		wantErr(t, fmt.Sprintf("update from the stale version %d", stale.Version), err, store.ErrConflict)
		equal(t, "stored remediation after a stale update", getRem(t, st, bucketKey, in.ID), want)
		cur = got
	}
	ahead := cur
	ahead.Version += 5
	_, err = st.UpdateRemediation(ctx(t), ahead)
	wantErr(t, "update from a version never stored", err, store.ErrConflict)
	if got := getRem(t, st, bucketKey, in.ID); got.Version != 4 || got.State != store.RemediationSucceeded {
		t.Fatalf("final remediation = version %d state %s, want version 4 succeeded", got.Version, got.State)
	}

	// Remediations are per resource: the same id on another one is a
	// different remediation.
	other := in
	other.Key = awsKey(acct2, bucketKey.ResourceID)
	_, err = st.GetRemediation(ctx(t), other.Key, in.ID)
	wantErr(t, "GetRemediation of the id on another resource", err, store.ErrNotFound)
	equal(t, "remediation of the same id on another resource", createRem(t, st, other).Version, int64(1))
}

// testConcurrentRemediationUpdates: two people clicking at once, or a
// retried request, both read version 1; exactly one write lands.
func testConcurrentRemediationUpdates(t *testing.T, st Governed) {
	v1 := createRem(t, st, newRemediation(bucketKey, "s3_public"))
	errs := race(writers, func(i int) error {
		r := v1
		r.State = store.RemediationApproved
		r.Approvals = []store.Approval{{SlackUser: fmt.Sprintf("U%d", i), At: t0}}
		_, err := st.UpdateRemediation(ctx(t), r)
		return err
	})
	w := oneWinner(t, "concurrent updates from version 1", errs, store.ErrConflict)
	got := getRem(t, st, bucketKey, v1.ID)
	if got.Version != 2 || len(got.Approvals) != 1 || got.Approvals[0].SlackUser != fmt.Sprintf("U%d", w) {
		t.Fatalf("stored remediation = version %d approvals %+v, want version 2 approved by U%d", got.Version, got.Approvals, w)
	}
}

func testConcurrentRemediationCreates(t *testing.T, st Governed) {
	errs := race(writers, func(i int) error {
		r := newRemediation(bucketKey, "s3_public")
		r.Change = fmt.Sprintf("writer %d", i)
		_, err := st.CreateRemediation(ctx(t), r)
		return err
	})
	w := oneWinner(t, "concurrent creates", errs, store.ErrConflict)
	if got := getRem(t, st, bucketKey, "rem-s3_public"); got.Change != fmt.Sprintf("writer %d", w) || got.Version != 1 {
		t.Fatalf("stored remediation = %q version %d, want the winner's (writer %d) at version 1", got.Change, got.Version, w)
	}
}

func testGovernanceInvalidInput(t *testing.T, st Governed) {
	remCases := []struct {
		name   string
		change func(r *store.Remediation)
	}{
		{"empty id", func(r *store.Remediation) { r.ID = "" }},
		{"empty key", func(r *store.Remediation) { r.Key = store.Key{} }},
		{"'#' in account", func(r *store.Remediation) { r.Key.Account = "1#2" }},
		{"empty rule", func(r *store.Remediation) { r.RuleID = "" }},
		{"empty action", func(r *store.Remediation) { r.Action = "" }},
		{"empty state", func(r *store.Remediation) { r.State = "" }},
		{"unknown state", func(r *store.Remediation) { r.State = "done" }},
		{"negative required approvals", func(r *store.Remediation) { r.RequiredApprovals = -1 }},
		{"approval without approver", func(r *store.Remediation) { r.Approvals = []store.Approval{{Name: "bob", At: t0}} }},
		{"snapshot not JSON", func(r *store.Remediation) { r.Snapshot = json.RawMessage(`{"acl":`) }},
		{"snapshot too large", func(r *store.Remediation) {
			r.Snapshot = json.RawMessage(`"` + strings.Repeat("x", store.MaxSnapshotBytes-1) + `"`)
		}},
		{"expiry out of range", func(r *store.Remediation) { r.ExpiresAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, c := range remCases {
		r := newRemediation(bucketKey, "s3_public")
		c.change(&r)
		_, err := st.CreateRemediation(ctx(t), r)
		wantErr(t, "CreateRemediation with "+c.name, err, store.ErrInvalid)
	}
	_, err := st.GetRemediation(ctx(t), bucketKey, "rem-s3_public")
	wantErr(t, "GetRemediation after invalid creates", err, store.ErrNotFound)

	v1 := createRem(t, st, newRemediation(bucketKey, "s3_public"))
	for _, c := range remCases {
		r := v1
		c.change(&r)
		_, err := st.UpdateRemediation(ctx(t), r)
		wantErr(t, "UpdateRemediation with "+c.name, err, store.ErrInvalid)
	}
	for _, v := range []int64{0, -1} {
		r := v1
		r.Version = v
		_, err := st.UpdateRemediation(ctx(t), r)
		wantErr(t, fmt.Sprintf("UpdateRemediation at version %d", v), err, store.ErrInvalid)
	}
	equal(t, "stored remediation after invalid updates", getRem(t, st, bucketKey, v1.ID), v1)

	excCases := []struct {
		name   string
		change func(x *store.Exception)
	}{
		{"empty key", func(x *store.Exception) { x.Key = store.Key{} }},
		{"empty rule", func(x *store.Exception) { x.RuleID = "" }},
		{"empty reason", func(x *store.Exception) { x.Reason = "" }},
		{"blank reason", func(x *store.Exception) { x.Reason = " \t\n" }},
		{"empty approver", func(x *store.Exception) { x.ApprovedBy = "" }},
		{"zero creation time", func(x *store.Exception) { x.CreatedAt = time.Time{} }},
		{"zero expiry", func(x *store.Exception) { x.ExpiresAt = time.Time{} }},
		{"expiry at creation", func(x *store.Exception) { x.ExpiresAt = x.CreatedAt }},
		{"expiry before creation", func(x *store.Exception) { x.ExpiresAt = x.CreatedAt.Add(-time.Nanosecond) }},
	}
	for _, c := range excCases {
		x := newException(bucketKey, "s3_public")
		c.change(&x)
		wantErr(t, "PutException with "+c.name, st.PutException(ctx(t), x), store.ErrInvalid)
	}

	audCases := []struct {
		name   string
		change func(e *store.AuditEntry)
	}{
		{"empty key", func(e *store.AuditEntry) { e.Key = store.Key{} }},
		{"zero time", func(e *store.AuditEntry) { e.At = time.Time{} }},
		{"time out of range", func(e *store.AuditEntry) { e.At = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"empty seq", func(e *store.AuditEntry) { e.Seq = "" }},
		{"empty kind", func(e *store.AuditEntry) { e.Kind = "" }},
		{"empty who", func(e *store.AuditEntry) { e.Who = "" }},
	}
	for _, c := range audCases {
		e := newAudit(bucketKey, t0, "1", "click")
		c.change(&e)
		wantErr(t, "AppendAudit with "+c.name, st.AppendAudit(ctx(t), e), store.ErrInvalid)
	}

	calls := []struct {
		name string
		call func() error
	}{
		{"GetRemediation with an empty id", func() error { _, err := st.GetRemediation(ctx(t), bucketKey, ""); return err }},
		{"GetRemediation with an empty key", func() error { _, err := st.GetRemediation(ctx(t), store.Key{}, "rem"); return err }},
		{"LoadAll with an empty key", func() error { _, err := st.LoadAll(ctx(t), store.Key{}); return err }},
		{"Audit with '#' in cloud", func() error {
			_, err := st.Audit(ctx(t), store.Key{Cloud: "a#b", Account: acct1, ResourceID: "x"})
			return err
		}},
		{"TakeRateToken with an empty bucket", func() error { return st.TakeRateToken(ctx(t), "", t0, time.Hour, 1) }},
		{"TakeRateToken with a zero time", func() error { return st.TakeRateToken(ctx(t), "b", time.Time{}, time.Hour, 1) }},
		{"TakeRateToken with a zero window", func() error { return st.TakeRateToken(ctx(t), "b", t0, 0, 1) }},
		{"TakeRateToken with a negative window", func() error { return st.TakeRateToken(ctx(t), "b", t0, -time.Hour, 1) }},
		{"TakeRateToken with a negative limit", func() error { return st.TakeRateToken(ctx(t), "b", t0, time.Hour, -1) }},
		{"TakeRateToken with a window ending out of range", func() error {
			return st.TakeRateToken(ctx(t), "b", time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), 1<<62, 1)
		}},
	}
	for _, c := range calls {
		wantErr(t, c.name, c.call(), store.ErrInvalid)
	}
	// Nothing invalid was stored: the whole partition holds v1 alone.
	save(t, st, store.Observation{State: newState(bucketKey, t0)})
	l, err := st.LoadAll(ctx(t), bucketKey)
	wantErr(t, "LoadAll after invalid writes", err, nil)
	equal(t, "remediations after invalid writes", l.Remediations, []store.Remediation{v1})
	equal(t, "exceptions after invalid writes", l.Exceptions, []store.Exception(nil))
	equal(t, "audit after invalid writes", audit(t, st, bucketKey), []store.AuditEntry(nil))
	wantErr(t, "TakeRateToken after invalid takes", st.TakeRateToken(ctx(t), "b", t0, time.Hour, 1), nil)
}

// testLoadAll: one call returns the state, findings, remediations and
// exceptions of the resource, nothing of a resource whose key extends its
// key, and none of the audit log, however long.
func testLoadAll(t *testing.T, st Governed) {
	_, err := st.LoadAll(ctx(t), bucketKey)
	wantErr(t, "LoadAll of a missing resource", err, store.ErrNotFound)
	// Governance records alone do not make a resource stored.
	createRem(t, st, newRemediation(bucketKey, "rule-b"))
	_, err = st.LoadAll(ctx(t), bucketKey)
	wantErr(t, "LoadAll of a resource with a remediation but no state", err, store.ErrNotFound)

	other := awsKey(acct1, "arn:aws:s3:::alphabet") // a key that extends bucketKey's
	for _, k := range []store.Key{bucketKey, other} {
		save(t, st, store.Observation{State: newState(k, t0), Findings: []store.Finding{
			newFinding(k, "rule-b", posture.High, store.FindingOpen, t0),
			newFinding(k, "rule-a", posture.Low, store.FindingResolved, t0),
		}})
		// Enough audit entries to fill pages of their own, on both sides
		// of every other record's sort key.
		for i := range 7 {
			appendAudit(t, st, newAudit(k, t0.Add(time.Duration(i)*time.Second), "s", "click"))
		}
		if err := st.PutException(ctx(t), newException(k, "rule-z")); err != nil {
			t.Fatal(err)
		}
		if err := st.PutException(ctx(t), newException(k, "rule-a")); err != nil {
			t.Fatal(err)
		}
	}
	createRem(t, st, newRemediation(other, "rule-b"))
	remA := createRem(t, st, newRemediation(bucketKey, "rule-a"))
	remB := getRem(t, st, bucketKey, "rem-rule-b")

	got, err := st.LoadAll(ctx(t), bucketKey)
	wantErr(t, "LoadAll", err, nil)
	equal(t, "loaded state", got.State, get(t, st, bucketKey))
	equal(t, "loaded findings", got.Findings, findings(t, st, bucketKey))
	equal(t, "loaded findings rules", []string{got.Findings[0].RuleID, got.Findings[1].RuleID}, []string{"rule-a", "rule-b"})
	equal(t, "loaded remediations (by id)", got.Remediations, []store.Remediation{remA, remB})
	equal(t, "loaded exceptions (by rule)", got.Exceptions, []store.Exception{newException(bucketKey, "rule-a"), newException(bucketKey, "rule-z")})

	state, fs, err := st.Load(ctx(t), bucketKey)
	wantErr(t, "Load", err, nil)
	equal(t, "Load's state", state, got.State)
	equal(t, "Load's findings", fs, got.Findings)

	lone := awsKey(acct2, "arn:aws:s3:::gamma")
	save(t, st, store.Observation{State: newState(lone, t0)})
	appendAudit(t, st, newAudit(lone, t0, "1", "alert_posted"))
	got, err = st.LoadAll(ctx(t), lone)
	wantErr(t, "LoadAll of a resource with a state alone", err, nil)
	equal(t, "everything of a resource with a state alone", got, store.Loaded{State: get(t, st, lone)})
}

func testExceptionsReplaceByRule(t *testing.T, st Governed) {
	save(t, st, store.Observation{State: newState(bucketKey, t0)})
	first := newException(bucketKey, "s3_public")
	wantErr(t, "PutException", st.PutException(ctx(t), first), nil)

	// A second acceptance of the same rule replaces the first, whatever
	// its expiry (an earlier one included: the latest decision stands).
	second := first
	second.Reason, second.ApprovedBy, second.ApprovedByName = "until the migration ends", "U0CAROL", "carol"
	second.CreatedAt, second.ExpiresAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	wantErr(t, "PutException of the same rule", st.PutException(ctx(t), second), nil)
	other := newException(bucketKey, "s3_logging")
	wantErr(t, "PutException of another rule", st.PutException(ctx(t), other), nil)

	l, err := st.LoadAll(ctx(t), bucketKey)
	wantErr(t, "LoadAll", err, nil)
	equal(t, "exceptions", l.Exceptions, []store.Exception{other, second})
	if !second.Active(t0.Add(2*time.Hour-1)) || second.Active(t0.Add(2*time.Hour)) {
		t.Fatalf("Active: an exception covers up to, not including, its expiry")
	}
}

// testAuditAppendOnly: entries order by instant then seq, a duplicate is
// refused and leaves the original, and each resource has its own log.
func testAuditAppendOnly(t *testing.T, st Governed) {
	equal(t, "audit of a resource without one", audit(t, st, bucketKey), []store.AuditEntry(nil))
	paris := time.FixedZone("CET", 3600)
	pre1970 := time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	entries := []store.AuditEntry{
		newAudit(bucketKey, t0.Add(2*time.Second), "a", "remediation_succeeded"),
		newAudit(bucketKey, t0, "b", "approval"),
		newAudit(bucketKey, t0.In(paris), "a", "click"), // same instant, earlier seq
		newAudit(bucketKey, t0.Add(time.Second), "z", "remediation_started"),
		newAudit(bucketKey, pre1970, "x", "alert_posted"),
		newAudit(bucketKey, t0.Add(-1), "zz", "alert_posted"), // one nanosecond earlier
		newAudit(bucketKey, t0, "b#2", "approval"),            // seq extending another seq
	}
	for _, e := range entries {
		appendAudit(t, st, e)
	}
	other := awsKey(acct1, "arn:aws:s3:::alphabet")
	appendAudit(t, st, newAudit(other, t0, "a", "click"))

	dup := newAudit(bucketKey, t0.In(time.FixedZone("EST", -5*3600)), "a", "denial")
	wantErr(t, "AppendAudit of the same instant and seq", st.AppendAudit(ctx(t), dup), store.ErrConflict)

	utc := func(e store.AuditEntry) store.AuditEntry { e.At = e.At.UTC(); return e }
	want := []store.AuditEntry{utc(entries[4]), utc(entries[5]), utc(entries[2]), utc(entries[1]), utc(entries[6]), utc(entries[3]), utc(entries[0])}
	equal(t, "audit, oldest first", audit(t, st, bucketKey), want)
	equal(t, "audit of a resource whose key extends it", audit(t, st, other), []store.AuditEntry{newAudit(other, t0, "a", "click")})
}

func testConcurrentAudit(t *testing.T, st Governed) {
	// Distinct seqs: every entry lands.
	errs := race(writers, func(i int) error {
		return st.AppendAudit(ctx(t), newAudit(bucketKey, t0, fmt.Sprintf("w%d", i), "click"))
	})
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("concurrent append %d", i), err, nil)
	}
	// One seq (a replayed request): one entry lands.
	errs = race(writers, func(i int) error {
		e := newAudit(bucketKey, t0.Add(time.Second), "replayed", "click")
		e.What = fmt.Sprintf("writer %d", i)
		return st.AppendAudit(ctx(t), e)
	})
	w := oneWinner(t, "concurrent appends of one entry", errs, store.ErrConflict)
	got := audit(t, st, bucketKey)
	if len(got) != writers+1 || got[writers].What != fmt.Sprintf("writer %d", w) {
		t.Fatalf("audit has %d entries, last %+v; want %d, the last the winner's (writer %d)", len(got), got[len(got)-1], writers+1, w)
	}
}

func testRateTokens(t *testing.T, st Governed) {
	const window, limit = time.Hour, 3
	// t0 is 12:00:00.123456789: its window is [12:00, 13:00).
	start := t0.Truncate(window)
	type take struct {
		bucket string
		at     time.Time
		window time.Duration
		limit  int
		want   error
	}
	takes := []take{
		{"auto|aws|1", t0, window, limit, nil},
		{"auto|aws|1", t0, window, limit, nil},
		{"auto|aws|1", start, window, limit, nil}, // the window's first instant
		{"auto|aws|1", t0, window, limit, store.ErrClaimed},
		{"auto|aws|1", start.Add(window - 1), window, limit, store.ErrClaimed}, // its last instant
		{"auto|aws|1", start.Add(window), window, limit, nil},                  // the next window
		{"auto|aws|1", t0, window, limit + 2, nil},                             // a higher limit counts on
		{"auto|aws|1", t0, window, limit + 2, nil},
		{"auto|aws|1", t0, window, limit + 2, store.ErrClaimed},
		{"auto|aws|2", t0, window, limit, nil},          // another bucket
		{"auto|aws|1", t0, 2 * window, limit, nil},      // another window length
		{"auto|aws|1", t0, window, 0, store.ErrClaimed}, // a limit of zero grants nothing
		{"auto|aws|9", t0, window, 0, store.ErrClaimed}, // even on a fresh counter
		{"auto|aws|9", t0, window, 1, nil},              // which a zero limit did not count on
		{"auto|aws|9", t0.Add(-window), window, 1, nil}, // an earlier window
		{"auto|aws|9", t0.Add(-window), window, 1, store.ErrClaimed},
		{"before-1970", time.Unix(0, -1), window, 1, nil}, // window [-1h, 0)
		{"before-1970", time.Unix(-3600, 0), window, 1, store.ErrClaimed},
		{"before-1970", time.Unix(0, 0), window, 1, nil},      // window [0, 1h)
		{"before-1970", time.Unix(-3600, -1), window, 1, nil}, // window [-2h, -1h)
	}
	for i, tk := range takes {
		err := st.TakeRateToken(ctx(t), tk.bucket, tk.at, tk.window, tk.limit)
		wantErr(t, fmt.Sprintf("take %d: %s at %s, window %s, limit %d", i, tk.bucket, tk.at, tk.window, tk.limit), err, tk.want)
	}
}

// testConcurrentRateTokens: however many take at once, no more than the
// limit succeed.
func testConcurrentRateTokens(t *testing.T, st Governed) {
	const limit = 3
	errs := race(writers, func(int) error { return st.TakeRateToken(ctx(t), "auto|aws|1", t0, time.Hour, limit) })
	granted := 0
	for i, err := range errs {
		switch {
		case err == nil:
			granted++
		case !errors.Is(err, store.ErrClaimed):
			t.Fatalf("taker %d: %v, want nil or ErrClaimed", i, err)
		}
	}
	if granted != limit {
		t.Fatalf("%d of %d concurrent takers got a token, want exactly %d", granted, writers, limit)
	}
}

// testGovernanceRoundTrip stores every field of every record and reads it
// back: times in UTC, the snapshot's bytes exact.
func testGovernanceRoundTrip(t *testing.T, st Governed) {
	paris := time.FixedZone("CET", 3600)
	key := awsKey(acct1, "arn:aws:s3:::payments-logs")
	save(t, st, store.Observation{State: newState(key, t0)})
	in := store.Remediation{
		ID: "rem-abc123", Key: key, ResourceType: "AWS::S3::Bucket", Region: "eu-west-1", RuleID: "s3_public_acl",
		Action: "s3_acl_private", Change: `Set the ACL of "payments-logs" to private <grants: AllUsers READ> & more`,
		State: store.RemediationSucceeded, Version: 99,
		FindingFirstSeen: t0.Add(-time.Hour).In(paris),
		CausedBy: change.Actor{
			Principal: "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com", Type: "AssumedRole",
			Name: "Admin/alice@example.com", SessionIssuer: "arn:aws:iam::111111111111:role/Admin",
			SourceIP: "203.0.113.9", UserAgent: "aws-cli/2.15.0 Python/3.11", Via: "cli",
		},
		Approvals: []store.Approval{
			{SlackUser: "U0BOB", Name: "Bob <ops>", At: t0.Add(time.Minute).In(paris)},
			{SlackUser: "U0CAROL", At: t0.Add(2 * time.Minute)},
		},
		RequiredApprovals: 2,
		ProposedAt:        t0.In(paris),
		ExpiresAt:         t0.Add(24 * time.Hour),
		// Whitespace, key order, escapes and HTML characters must survive.
		Snapshot:  json.RawMessage("{\n  \"z\": 1,\n  \"grants\": [{\"uri\": \"<AllUsers>&\\u00e9\"}],\n  \"n\": [1.50, 2e3, null]\n}"),
		Result:    "Applied: the ACL is private.\nRe-evaluated: s3_public_acl passes.",
		UpdatedAt: t0.Add(3 * time.Minute).In(paris),
		Alert:     store.AlertRef{Channel: "C0PAYMENTS", TS: "1767225600.123456"},
	}
	want := in
	want.Version = 1
	want.FindingFirstSeen, want.ProposedAt, want.UpdatedAt = want.FindingFirstSeen.UTC(), want.ProposedAt.UTC(), want.UpdatedAt.UTC()
	want.Approvals = []store.Approval{{SlackUser: "U0BOB", Name: "Bob <ops>", At: t0.Add(time.Minute)}, in.Approvals[1]}

	got := createRem(t, st, in)
	equal(t, "created remediation", got, want)
	stored := getRem(t, st, key, in.ID)
	equal(t, "stored remediation", stored, want)
	if string(stored.Snapshot) != string(in.Snapshot) {
		t.Fatalf("snapshot = %q, want the exact bytes %q", stored.Snapshot, in.Snapshot)
	}
	// An update may clear what a create set.
	cleared := stored
	cleared.Snapshot, cleared.Approvals, cleared.Alert, cleared.Result = nil, nil, store.AlertRef{}, ""
	got, err := st.UpdateRemediation(ctx(t), cleared)
	wantErr(t, "UpdateRemediation clearing fields", err, nil)
	cleared.Version = 2
	equal(t, "remediation with fields cleared", getRem(t, st, key, in.ID), cleared)
	equal(t, "returned remediation with fields cleared", got, cleared)
	got, err = st.UpdateRemediation(ctx(t), func() store.Remediation { r := in; r.Version = 2; return r }())
	wantErr(t, "UpdateRemediation setting them again", err, nil)
	want.Version = 3
	equal(t, "returned remediation", got, want)

	exc := store.Exception{Key: key, RuleID: "s3_public_acl", Reason: "Public <website> & CDN origin\nreviewed by security",
		ApprovedBy: "U0BOB", ApprovedByName: "Bob <ops>", CreatedAt: t0.In(paris), ExpiresAt: t0.Add(90 * 24 * time.Hour).In(paris)}
	wantErr(t, "PutException", st.PutException(ctx(t), exc), nil)
	wantExc := exc
	wantExc.CreatedAt, wantExc.ExpiresAt = t0, t0.Add(90*24*time.Hour)

	entry := store.AuditEntry{Key: key, At: t0.In(paris), Seq: "01JABCDEF#click", Kind: "remediation_succeeded",
		Who: "arn:aws:sts::111111111111:assumed-role/driftwatch-remediator/x", RuleID: "s3_public_acl", RemediationID: in.ID,
		What: "Set the ACL to private <ok> & re-evaluated\n(2 approvals)"}
	appendAudit(t, st, entry)
	wantEntry := entry
	wantEntry.At = t0

	l, err := st.LoadAll(ctx(t), key)
	wantErr(t, "LoadAll", err, nil)
	equal(t, "loaded remediations", l.Remediations, []store.Remediation{want})
	equal(t, "loaded exceptions", l.Exceptions, []store.Exception{wantExc})
	equal(t, "audit", audit(t, st, key), []store.AuditEntry{wantEntry})
}

func testGovernanceNoAliasing(t *testing.T, st Governed) {
	save(t, st, store.Observation{State: newState(bucketKey, t0)})
	in := newRemediation(bucketKey, "s3_public")
	in.Approvals = []store.Approval{{SlackUser: "U0BOB", At: t0}}
	in.Snapshot = json.RawMessage(`{"acl":"public-read"}`)
	created := createRem(t, st, in)
	want := getRem(t, st, bucketKey, in.ID)

	// Mutating what was passed in, what was returned and what was read must
	// not reach the store.
	in.Approvals[0].SlackUser = "U0MALLORY"
	in.Snapshot[2] = 'X'
	created.Approvals[0].Name = "changed"
	created.Snapshot[3] = 'Y'
	read := getRem(t, st, bucketKey, in.ID)
	read.Approvals[0].SlackUser = "U0EVE"
	read.Snapshot[4] = 'Z'
	l, err := st.LoadAll(ctx(t), bucketKey)
	wantErr(t, "LoadAll", err, nil)
	l.Remediations[0].Approvals[0].SlackUser = "U0TRUDY"
	l.Remediations[0].Snapshot[5] = 'W'
	equal(t, "stored remediation after mutating copies", getRem(t, st, bucketKey, in.ID), want)
	if string(want.Snapshot) != `{"acl":"public-read"}` || want.Approvals[0].SlackUser != "U0BOB" {
		t.Fatalf("stored remediation = %+v, want the values passed at creation", want)
	}

	// The same after an update.
	next := want
	next.Approvals = append([]store.Approval(nil), want.Approvals...)
	next.Snapshot = json.RawMessage(`{"acl":"private"}`)
	updated, err := st.UpdateRemediation(ctx(t), next)
	wantErr(t, "UpdateRemediation", err, nil)
	next.Approvals[0].SlackUser = "U0MALLORY"
	next.Snapshot[2] = 'X'
	updated.Snapshot[3] = 'Y'
	if got := getRem(t, st, bucketKey, in.ID); string(got.Snapshot) != `{"acl":"private"}` || got.Approvals[0].SlackUser != "U0BOB" {
		t.Fatalf("stored remediation after mutating the update's copies = %+v", got)
	}
}
