// Package storetest is the conformance suite of the posture store: every
// implementation of store.Store runs it, so that the embedded store used for
// local runs behaves exactly as DynamoDB does. A store's test is one call:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, newStore) }
//
// RunGovernance is the suite of store.Governance, run the same way by the
// stores that implement it.
//
// Times are explicit in every case (no sleeps), so lease expiry is tested
// by passing a later "now".
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
)

// NewStore returns an empty store for one test and registers its cleanup
// with tb.
type NewStore func(tb testing.TB) store.Store

// Run runs the conformance suite, each case on a fresh store.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"GetResourceMissing", testGetResourceMissing},
		{"InvalidInput", testInvalidInput},
		{"FirstSave", testFirstSave},
		{"RevisionIncrements", testRevisionIncrements},
		{"OutOfOrder", testOutOfOrder},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentFirstWriters", testConcurrentFirstWriters},
		{"FindingsAtomic", testFindingsAtomic},
		{"FindingsOpenAndResolved", testFindingsOpenAndResolved},
		{"Load", testLoad},
		{"OpenFindingsIndex", testOpenFindingsIndex},
		{"EventClaims", testEventClaims},
		{"ConcurrentEventClaims", testConcurrentEventClaims},
		{"AlertExactlyOnce", testAlertExactlyOnce},
		{"BumpAlert", testBumpAlert},
		{"ConcurrentAlertClaims", testConcurrentAlertClaims},
		{"RoundTrip", testRoundTrip},
		{"EmptyFieldsRemoved", testEmptyFieldsRemoved},
		{"DocumentCap", testDocumentCap},
		{"NoAliasing", testNoAliasing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newStore(t))
		})
	}
}

// t0 has nanoseconds so that any store rounding times would show.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

const (
	acct1 = "111111111111"
	acct2 = "222222222222"
)

func awsKey(account, id string) store.Key {
	return store.Key{Cloud: change.AWS, Account: account, ResourceID: id}
}

var bucketKey = awsKey(acct1, "arn:aws:s3:::alpha")

// newState returns a minimal valid state of key observed at obs.
func newState(key store.Key, obs time.Time) store.ResourceState {
	return store.ResourceState{
		Key: key, Type: "AWS::S3::Bucket", Region: "eu-west-1", Name: key.ResourceID,
		Exists: true, ObservedAt: obs, Document: json.RawMessage(`{"acl":"private"}`),
	}
}

func newFinding(key store.Key, rule string, sev posture.Severity, status store.FindingStatus, seen time.Time) store.Finding {
	f := store.Finding{
		Key: key, RuleID: rule, Severity: sev, ResourceType: "AWS::S3::Bucket", Region: "eu-west-1",
		Status: status, FirstSeen: seen, LastSeen: seen,
		OpenedBy: store.ChangeRef{EventID: "ev-open-" + rule, Operation: "PutBucketAcl", Time: seen,
			Actor: change.Actor{Principal: "arn:aws:iam::111111111111:user/alice", Type: "IAMUser", Name: "alice"}},
	}
	if status == store.FindingResolved {
		f.ResolvedAt = seen
		f.ResolvedBy = store.ChangeRef{EventID: "ev-fix-" + rule, Operation: "PutBucketAcl", Time: seen}
	}
	return f
}

func ctx(t *testing.T) context.Context { return t.Context() }

func save(t *testing.T, st store.Store, obs store.Observation) store.ResourceState {
	t.Helper()
	got, err := st.SaveObservation(ctx(t), obs)
	if err != nil {
		t.Fatalf("SaveObservation(%s, expected revision %d): %v", obs.State.Key, obs.ExpectedRevision, err)
	}
	return got
}

func get(t *testing.T, st store.Store, key store.Key) store.ResourceState {
	t.Helper()
	got, err := st.GetResource(ctx(t), key)
	if err != nil {
		t.Fatalf("GetResource(%s): %v", key, err)
	}
	return got
}

func findings(t *testing.T, st store.Store, key store.Key) []store.Finding {
	t.Helper()
	got, err := st.Findings(ctx(t), key)
	if err != nil {
		t.Fatalf("Findings(%s): %v", key, err)
	}
	return got
}

// wantErr fails unless err is target (nil: no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// equal fails when got and want differ, printing both as JSON (and the
// documents as text: JSON output would compact them).
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	extra := ""
	if gs, ok := got.(store.ResourceState); ok {
		ws := want.(store.ResourceState)
		extra = fmt.Sprintf("\ndocument got %q\ndocument want %q\nobserved got %#v want %#v", gs.Document, ws.Document, gs.ObservedAt, ws.ObservedAt)
	}
	t.Fatalf("%s differs\ngot:  %s\nwant: %s%s", what, g, w, extra)
}

// race runs fn n times concurrently, released together, and returns the
// errors by goroutine.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and every other one is one
// of the allowed sentinels; it returns the winner's index.
func oneWinner(t *testing.T, what string, errs []error, allowed ...error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("%s: goroutines %d and %d both succeeded", what, winner, i)
			}
			winner = i
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || errors.Is(err, a)
		}
		if !ok {
			t.Fatalf("%s: goroutine %d: error %v, want one of %v", what, i, err, allowed)
		}
	}
	if winner < 0 {
		t.Fatalf("%s: no goroutine succeeded: %v", what, errs)
	}
	return winner
}

func testGetResourceMissing(t *testing.T, st store.Store) {
	_, err := st.GetResource(ctx(t), bucketKey)
	wantErr(t, "GetResource of a missing resource", err, store.ErrNotFound)
	if got := findings(t, st, bucketKey); len(got) != 0 {
		t.Fatalf("Findings of a missing resource = %v, want none", got)
	}
}

func testInvalidInput(t *testing.T, st store.Store) {
	valid := func() store.Observation {
		return store.Observation{State: newState(bucketKey, t0), Findings: []store.Finding{newFinding(bucketKey, "r1", posture.High, store.FindingOpen, t0)}}
	}
	obsCases := []struct {
		name   string
		change func(o *store.Observation)
	}{
		{"empty cloud", func(o *store.Observation) { o.State.Key.Cloud = "" }},
		{"empty account", func(o *store.Observation) { o.State.Key.Account = "" }},
		{"empty resource id", func(o *store.Observation) { o.State.Key.ResourceID = "" }},
		{"'#' in account", func(o *store.Observation) { o.State.Key.Account = "1#2" }},
		{"zero observation time", func(o *store.Observation) { o.State.ObservedAt = time.Time{} }},
		{"observation time out of range", func(o *store.Observation) { o.State.ObservedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"negative expected revision", func(o *store.Observation) { o.ExpectedRevision = -1 }},
		{"document not JSON", func(o *store.Observation) { o.State.Document = json.RawMessage(`{"acl":`) }},
		{"finding of another resource", func(o *store.Observation) { o.Findings[0].Key = awsKey(acct1, "arn:aws:s3:::other") }},
		{"finding without rule", func(o *store.Observation) { o.Findings[0].RuleID = "" }},
		{"finding with unknown status", func(o *store.Observation) { o.Findings[0].Status = "snoozed" }},
		{"finding with unknown severity", func(o *store.Observation) { o.Findings[0].Severity = "urgent" }},
		{"finding with capitalised severity", func(o *store.Observation) { o.Findings[0].Severity = "High" }},
		{"two findings of one rule", func(o *store.Observation) { o.Findings = append(o.Findings, o.Findings[0]) }},
		{"too many findings", func(o *store.Observation) {
			o.Findings = nil
			for i := range store.MaxFindingsPerObservation + 1 {
				o.Findings = append(o.Findings, newFinding(bucketKey, fmt.Sprintf("r%03d", i), posture.Low, store.FindingOpen, t0))
			}
		}},
	}
	for _, c := range obsCases {
		obs := valid()
		c.change(&obs)
		_, err := st.SaveObservation(ctx(t), obs)
		wantErr(t, "SaveObservation with "+c.name, err, store.ErrInvalid)
	}
	_, err := st.GetResource(ctx(t), bucketKey)
	wantErr(t, "GetResource after invalid saves", err, store.ErrNotFound)
	if got := findings(t, st, bucketKey); len(got) != 0 {
		t.Fatalf("invalid saves left findings behind: %v", got)
	}

	save(t, st, valid())
	calls := []struct {
		name string
		call func() error
	}{
		{"GetResource with empty key", func() error { _, err := st.GetResource(ctx(t), store.Key{}); return err }},
		{"Findings with '#' in cloud", func() error {
			_, err := st.Findings(ctx(t), store.Key{Cloud: "a#b", Account: acct1, ResourceID: "x"})
			return err
		}},
		{"OpenFindings without severity", func() error { _, err := st.OpenFindings(ctx(t), store.FindingQuery{}); return err }},
		{"OpenFindings with unknown severity", func() error {
			_, err := st.OpenFindings(ctx(t), store.FindingQuery{Severity: "urgent"})
			return err
		}},
		{"OpenFindings with account but no cloud", func() error {
			_, err := st.OpenFindings(ctx(t), store.FindingQuery{Severity: posture.High, Account: acct1})
			return err
		}},
		{"OpenFindings with negative limit", func() error {
			_, err := st.OpenFindings(ctx(t), store.FindingQuery{Severity: posture.High, Limit: -1})
			return err
		}},
		{"ClaimEvent with empty id", func() error { return st.ClaimEvent(ctx(t), "", t0, time.Minute) }},
		{"ClaimEvent with zero lease", func() error { return st.ClaimEvent(ctx(t), "ev", t0, 0) }},
		{"ClaimEvent with zero time", func() error { return st.ClaimEvent(ctx(t), "ev", time.Time{}, time.Minute) }},
		{"CompleteEvent with negative keep", func() error { return st.CompleteEvent(ctx(t), "ev", t0, -time.Hour) }},
		{"ReleaseEvent with empty id", func() error { return st.ReleaseEvent(ctx(t), "") }},
		{"ClaimAlert with zero lease", func() error { _, err := st.ClaimAlert(ctx(t), bucketKey, 1, t0, 0); return err }},
		{"ClaimAlert with empty key", func() error { _, err := st.ClaimAlert(ctx(t), store.Key{}, 1, t0, time.Minute); return err }},
		{"RecordAlert with an empty rule id", func() error {
			return st.RecordAlert(ctx(t), bucketKey, 1, store.AlertRef{Channel: "C1", TS: "1.1"}, true, []string{"r1", ""})
		}},
	}
	for _, c := range calls {
		wantErr(t, c.name, c.call(), store.ErrInvalid)
	}
	// The event that got invalid claims is still claimable, the alert still
	// unrecorded.
	wantErr(t, "ClaimEvent after invalid claims", st.ClaimEvent(ctx(t), "ev", t0, time.Minute), nil)
	if a := get(t, st, bucketKey).Alert; a.RenderedRevision != 0 || !a.Ref.IsZero() {
		t.Fatalf("invalid RecordAlert changed the alert: %+v", a)
	}
}

func testFirstSave(t *testing.T, st store.Store) {
	_, err := st.SaveObservation(ctx(t), store.Observation{State: newState(bucketKey, t0), ExpectedRevision: 1})
	wantErr(t, "first save expecting revision 1", err, store.ErrConflict)

	in := newState(bucketKey, t0)
	in.Revision = 42 // the store sets it
	got := save(t, st, store.Observation{State: in})
	want := in
	want.Revision = 1
	equal(t, "returned state", got, want)
	equal(t, "stored state", get(t, st, bucketKey), want)

	_, err = st.SaveObservation(ctx(t), store.Observation{State: newState(bucketKey, t0.Add(time.Second))})
	wantErr(t, "second first-save with a newer observation", err, store.ErrConflict)
	_, err = st.SaveObservation(ctx(t), store.Observation{State: newState(bucketKey, t0)})
	wantErr(t, "second first-save with the same observation", err, store.ErrStale)
	equal(t, "stored state after refused first saves", get(t, st, bucketKey), want)
}

func testRevisionIncrements(t *testing.T, st store.Store) {
	var rev int64
	for i := range 5 {
		s := newState(bucketKey, t0.Add(time.Duration(i)*time.Minute))
		s.Name = fmt.Sprintf("alpha-%d", i)
		got := save(t, st, store.Observation{State: s, ExpectedRevision: rev})
		if got.Revision != rev+1 {
			t.Fatalf("save %d: revision %d, want %d", i, got.Revision, rev+1)
		}
		rev = got.Revision
		equal(t, fmt.Sprintf("stored state after save %d", i), get(t, st, bucketKey), got)
	}
}

func testOutOfOrder(t *testing.T, st store.Store) {
	first := save(t, st, store.Observation{State: newState(bucketKey, t0.Add(2*time.Minute))})
	cases := []struct {
		name     string
		observed time.Time
		expected int64
		want     error
	}{
		{"older observation", t0.Add(time.Minute), 1, store.ErrStale},
		{"same observation time", t0.Add(2 * time.Minute), 1, store.ErrStale},
		{"one nanosecond older", t0.Add(2*time.Minute - 1), 1, store.ErrStale},
		{"older observation at a wrong revision", t0.Add(time.Minute), 7, store.ErrStale},
		{"newer observation at a wrong revision", t0.Add(3 * time.Minute), 7, store.ErrConflict},
	}
	for _, c := range cases {
		s := newState(bucketKey, c.observed)
		s.Exists = false
		_, err := st.SaveObservation(ctx(t), store.Observation{State: s, ExpectedRevision: c.expected})
		wantErr(t, c.name, err, c.want)
		equal(t, "stored state after "+c.name, get(t, st, bucketKey), first)
	}
	next := save(t, st, store.Observation{State: newState(bucketKey, t0.Add(2*time.Minute+1)), ExpectedRevision: 1})
	if next.Revision != 2 {
		t.Fatalf("revision after a newer save = %d, want 2", next.Revision)
	}
}

const writers = 8

func testConcurrentWriters(t *testing.T, st store.Store) {
	save(t, st, store.Observation{State: newState(bucketKey, t0)})
	results := make([]store.ResourceState, writers)
	errs := race(writers, func(i int) error {
		s := newState(bucketKey, t0.Add(time.Duration(i+1)*time.Second))
		s.Name = fmt.Sprintf("writer-%d", i)
		var err error
		results[i], err = st.SaveObservation(ctx(t), store.Observation{
			State: s, ExpectedRevision: 1,
			Findings: []store.Finding{newFinding(bucketKey, fmt.Sprintf("rule-%d", i), posture.High, store.FindingOpen, s.ObservedAt)},
		})
		return err
	})
	w := oneWinner(t, "writers from revision 1", errs, store.ErrConflict, store.ErrStale)
	if results[w].Revision != 2 {
		t.Fatalf("winner's revision = %d, want 2", results[w].Revision)
	}
	equal(t, "stored state", get(t, st, bucketKey), results[w])
	fs := findings(t, st, bucketKey)
	if len(fs) != 1 || fs[0].RuleID != fmt.Sprintf("rule-%d", w) {
		t.Fatalf("findings = %v, want only the winner's rule-%d", fs, w)
	}
}

func testConcurrentFirstWriters(t *testing.T, st store.Store) {
	results := make([]store.ResourceState, writers)
	errs := race(writers, func(i int) error {
		var err error
		results[i], err = st.SaveObservation(ctx(t), store.Observation{State: newState(bucketKey, t0.Add(time.Duration(i)*time.Second))})
		return err
	})
	w := oneWinner(t, "first writers", errs, store.ErrConflict, store.ErrStale)
	equal(t, "stored state", get(t, st, bucketKey), results[w])
}

func testFindingsAtomic(t *testing.T, st store.Store) {
	a := newFinding(bucketKey, "rule-a", posture.High, store.FindingOpen, t0)
	b := newFinding(bucketKey, "rule-b", posture.Medium, store.FindingOpen, t0)
	first := save(t, st, store.Observation{State: newState(bucketKey, t0), Findings: []store.Finding{a, b}})

	later := t0.Add(time.Minute)
	aResolved := newFinding(bucketKey, "rule-a", posture.High, store.FindingResolved, later)
	c := newFinding(bucketKey, "rule-c", posture.High, store.FindingOpen, later)
	refused := []struct {
		name string
		obs  store.Observation
		want error
	}{
		{"conflicting save", store.Observation{State: newState(bucketKey, later), ExpectedRevision: 5, Findings: []store.Finding{aResolved, c}}, store.ErrConflict},
		{"stale save", store.Observation{State: newState(bucketKey, t0.Add(-time.Minute)), ExpectedRevision: 1, Findings: []store.Finding{aResolved, c}}, store.ErrStale},
		{"first save of a stored resource", store.Observation{State: newState(bucketKey, later), Findings: []store.Finding{aResolved, c}}, store.ErrConflict},
	}
	for _, r := range refused {
		_, err := st.SaveObservation(ctx(t), r.obs)
		wantErr(t, r.name, err, r.want)
		equal(t, "findings after "+r.name, findings(t, st, bucketKey), []store.Finding{a, b})
		equal(t, "state after "+r.name, get(t, st, bucketKey), first)
		open, err := st.OpenFindings(ctx(t), store.FindingQuery{Severity: posture.High})
		wantErr(t, "OpenFindings", err, nil)
		equal(t, "open high findings after "+r.name, open, []store.Finding{a})
	}

	// Findings not named by an observation stay as they are.
	save(t, st, store.Observation{State: newState(bucketKey, later), ExpectedRevision: 1, Findings: []store.Finding{aResolved, c}})
	equal(t, "findings after the accepted save", findings(t, st, bucketKey), []store.Finding{aResolved, b, c})
}

func testFindingsOpenAndResolved(t *testing.T, st store.Store) {
	open := newFinding(bucketKey, "s3_bucket_public_acl", posture.Critical, store.FindingOpen, t0)
	open.LastSeen = t0.Add(time.Hour)
	resolved := newFinding(bucketKey, "s3_bucket_encryption", posture.Medium, store.FindingResolved, t0.Add(time.Minute))
	resolved.FirstSeen = t0.Add(-24 * time.Hour)
	resolved.OpenedBy.Actor = change.Actor{Principal: "arn:aws:sts::111111111111:assumed-role/ci/gh", Type: "AssumedRole",
		Name: "ci/gh", SessionIssuer: "arn:aws:iam::111111111111:role/ci", SourceIP: "198.51.100.7", UserAgent: "Terraform/1.9", Via: "terraform"}
	other := newFinding(awsKey(acct1, "arn:aws:s3:::beta"), "s3_bucket_public_acl", posture.Critical, store.FindingOpen, t0)

	save(t, st, store.Observation{State: newState(bucketKey, t0), Findings: []store.Finding{open, resolved}})
	save(t, st, store.Observation{State: newState(other.Key, t0), Findings: []store.Finding{other}})
	// Ordered by rule id, open and resolved alike, and only this resource's.
	equal(t, "findings", findings(t, st, bucketKey), []store.Finding{resolved, open})
}

// Load returns exactly what GetResource and Findings return, in one call,
// and ErrNotFound for a resource never stored.
func testLoad(t *testing.T, st store.Store) {
	_, _, err := st.Load(ctx(t), bucketKey)
	wantErr(t, "Load of a missing resource", err, store.ErrNotFound)

	a := newFinding(bucketKey, "rule-b", posture.High, store.FindingOpen, t0)
	b := newFinding(bucketKey, "rule-a", posture.Low, store.FindingResolved, t0)
	other := awsKey(acct1, "arn:aws:s3:::alphabet") // a key that extends bucketKey's
	save(t, st, store.Observation{State: newState(bucketKey, t0), Findings: []store.Finding{a, b}})
	save(t, st, store.Observation{State: newState(other, t0), Findings: []store.Finding{newFinding(other, "rule-a", posture.High, store.FindingOpen, t0)}})

	state, fs, err := st.Load(ctx(t), bucketKey)
	wantErr(t, "Load", err, nil)
	equal(t, "loaded state", state, get(t, st, bucketKey))
	equal(t, "loaded findings", fs, findings(t, st, bucketKey))
	equal(t, "loaded findings", fs, []store.Finding{b, a})

	save(t, st, store.Observation{State: newState(awsKey(acct2, "arn:aws:s3:::gamma"), t0)})
	state, fs, err = st.Load(ctx(t), awsKey(acct2, "arn:aws:s3:::gamma"))
	wantErr(t, "Load without findings", err, nil)
	equal(t, "findings of a resource without any", fs, []store.Finding(nil))
	equal(t, "state without findings", state, get(t, st, awsKey(acct2, "arn:aws:s3:::gamma")))
}

// indexed is the fixture of the open-findings index: findings across
// clouds, accounts, resources and severities, named "<resource>/<rule>".
var indexed = []struct {
	key      store.Key
	rule     string
	severity posture.Severity
	status   store.FindingStatus
}{
	{awsKey(acct1, "arn:aws:s3:::alpha"), "s3_public", posture.High, store.FindingOpen},
	{awsKey(acct1, "arn:aws:s3:::alpha"), "s3_encryption", posture.Medium, store.FindingOpen},
	{awsKey(acct1, "arn:aws:s3:::alpha"), "s3_logging", posture.High, store.FindingResolved},
	{awsKey(acct1, "arn:aws:s3:::beta"), "s3_public", posture.High, store.FindingOpen},
	{awsKey(acct1, "arn:aws:s3:::beta"), "s3_versioning", posture.Critical, store.FindingOpen},
	{awsKey(acct2, "arn:aws:s3:::gamma"), "s3_public", posture.High, store.FindingOpen},
	{awsKey(acct2, "arn:aws:ec2:eu-west-1:222222222222:security-group/sg-0a"), "sg_ssh", posture.High, store.FindingOpen},
	{awsKey(acct2, "arn:aws:ec2:eu-west-1:222222222222:security-group/sg-0a"), "sg_rdp", posture.High, store.FindingOpen},
	{awsKey(acct2, "arn:aws:ec2:eu-west-1:222222222222:security-group/sg-0a"), "sg_all", posture.High, store.FindingOpen},
	{store.Key{Cloud: change.GCP, Account: "proj-1", ResourceID: "//storage.googleapis.com/projects/_/buckets/delta"}, "gcs_public", posture.High, store.FindingOpen},
}

func names(fs []store.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Key.ResourceID[strings.LastIndexAny(f.Key.ResourceID, ":/")+1:]+"/"+f.RuleID)
	}
	return out
}

func testOpenFindingsIndex(t *testing.T, st store.Store) {
	revs := map[store.Key]int64{}
	byKey := map[store.Key][]store.Finding{}
	var order []store.Key
	for _, x := range indexed {
		if _, ok := byKey[x.key]; !ok {
			order = append(order, x.key)
		}
		byKey[x.key] = append(byKey[x.key], newFinding(x.key, x.rule, x.severity, x.status, t0))
	}
	for _, k := range order {
		revs[k] = save(t, st, store.Observation{State: newState(k, t0), Findings: byKey[k]}).Revision
	}

	type query struct {
		name string
		q    store.FindingQuery
		want []string
	}
	check := func(qs []query) {
		t.Helper()
		for _, c := range qs {
			got, err := st.OpenFindings(ctx(t), c.q)
			wantErr(t, "OpenFindings "+c.name, err, nil)
			equal(t, "open findings "+c.name, names(got), c.want)
			for _, f := range got {
				if f.Status != store.FindingOpen || f.Severity != c.q.Severity {
					t.Fatalf("open findings %s: got %+v", c.name, f)
				}
			}
		}
	}
	check([]query{
		{"high", store.FindingQuery{Severity: posture.High},
			[]string{"alpha/s3_public", "beta/s3_public", "sg-0a/sg_all", "sg-0a/sg_rdp", "sg-0a/sg_ssh", "gamma/s3_public", "delta/gcs_public"}},
		{"high aws", store.FindingQuery{Severity: posture.High, Cloud: change.AWS},
			[]string{"alpha/s3_public", "beta/s3_public", "sg-0a/sg_all", "sg-0a/sg_rdp", "sg-0a/sg_ssh", "gamma/s3_public"}},
		{"high aws account 2", store.FindingQuery{Severity: posture.High, Cloud: change.AWS, Account: acct2},
			[]string{"sg-0a/sg_all", "sg-0a/sg_rdp", "sg-0a/sg_ssh", "gamma/s3_public"}},
		{"high gcp", store.FindingQuery{Severity: posture.High, Cloud: change.GCP}, []string{"delta/gcs_public"}},
		{"high azure", store.FindingQuery{Severity: posture.High, Cloud: change.Azure}, []string{}},
		{"high, an account that is a prefix of another", store.FindingQuery{Severity: posture.High, Cloud: change.AWS, Account: "11111"}, []string{}},
		{"critical", store.FindingQuery{Severity: posture.Critical}, []string{"beta/s3_versioning"}},
		{"medium", store.FindingQuery{Severity: posture.Medium}, []string{"alpha/s3_encryption"}},
		{"low", store.FindingQuery{Severity: posture.Low}, []string{}},
		{"high limit 4", store.FindingQuery{Severity: posture.High, Limit: 4},
			[]string{"alpha/s3_public", "beta/s3_public", "sg-0a/sg_all", "sg-0a/sg_rdp"}},
		{"high aws account 1 limit 1", store.FindingQuery{Severity: posture.High, Cloud: change.AWS, Account: acct1, Limit: 1}, []string{"alpha/s3_public"}},
		{"high limit above the count", store.FindingQuery{Severity: posture.High, Cloud: change.GCP, Limit: 100}, []string{"delta/gcs_public"}},
	})

	// Resolving leaves the index; a severity change moves the finding.
	alpha, beta := awsKey(acct1, "arn:aws:s3:::alpha"), awsKey(acct1, "arn:aws:s3:::beta")
	later := t0.Add(time.Minute)
	save(t, st, store.Observation{State: newState(alpha, later), ExpectedRevision: revs[alpha],
		Findings: []store.Finding{newFinding(alpha, "s3_public", posture.High, store.FindingResolved, later)}})
	save(t, st, store.Observation{State: newState(beta, later), ExpectedRevision: revs[beta],
		Findings: []store.Finding{newFinding(beta, "s3_public", posture.Critical, store.FindingOpen, later)}})
	check([]query{
		{"high aws account 1 after the changes", store.FindingQuery{Severity: posture.High, Cloud: change.AWS, Account: acct1}, []string{}},
		{"critical after the changes", store.FindingQuery{Severity: posture.Critical}, []string{"beta/s3_public", "beta/s3_versioning"}},
	})
	got := findings(t, st, alpha)
	equal(t, "alpha's findings after resolving", names(got), []string{"alpha/s3_encryption", "alpha/s3_logging", "alpha/s3_public"})
	if got[2].Status != store.FindingResolved {
		t.Fatalf("alpha/s3_public = %+v, want resolved", got[2])
	}
}

func testEventClaims(t *testing.T, st store.Store) {
	const lease, keep = time.Minute, 24 * time.Hour
	type step struct {
		op   string // claim, complete, release
		id   string
		at   time.Duration // after t0
		want error
	}
	steps := []step{
		{"claim", "ev-1", 0, nil},
		{"claim", "ev-1", 30 * time.Second, store.ErrClaimed},
		{"claim", "ev-1", lease, store.ErrClaimed}, // the lease ends after its last instant
		{"claim", "ev-1", lease + 1, nil},          // expired lease: a retry takes over
		{"claim", "ev-1", lease + 2, store.ErrClaimed},
		{"complete", "ev-1", 90 * time.Second, nil},
		{"claim", "ev-1", 3 * lease, store.ErrClaimed}, // done, lease or not
		{"release", "ev-1", 0, nil},                    // releasing a done event does nothing
		{"claim", "ev-1", 4 * lease, store.ErrClaimed},
		{"claim", "ev-1", 90*time.Second + keep + 2*time.Second, nil}, // done, but kept long enough

		{"claim", "ev-2", 0, nil},
		{"release", "ev-2", 0, nil},
		{"claim", "ev-2", time.Second, nil}, // released: claimable at once
		{"claim", "ev-2", 2 * time.Second, store.ErrClaimed},

		{"release", "ev-3", 0, nil}, // unknown: nothing to release
		{"claim", "ev-3", 0, nil},

		{"complete", "ev-4", 0, nil}, // completing without a claim still marks it done
		{"claim", "ev-4", time.Second, store.ErrClaimed},
	}
	for i, s := range steps {
		var err error
		now := t0.Add(s.at)
		switch s.op {
		case "claim":
			err = st.ClaimEvent(ctx(t), s.id, now, lease)
		case "complete":
			err = st.CompleteEvent(ctx(t), s.id, now, keep)
		case "release":
			err = st.ReleaseEvent(ctx(t), s.id)
		}
		wantErr(t, fmt.Sprintf("step %d: %s %s at t0+%s", i, s.op, s.id, s.at), err, s.want)
	}
}

func testConcurrentEventClaims(t *testing.T, st store.Store) {
	errs := race(writers, func(int) error { return st.ClaimEvent(ctx(t), "ev-race", t0, time.Minute) })
	oneWinner(t, "concurrent event claims", errs, store.ErrClaimed)
}

// BumpAlert moves the alert revision on without an observation, and a save
// made from the state read before the bump conflicts instead of writing an
// alert revision the bump already used.
func testBumpAlert(t *testing.T, st store.Store) {
	const lease = time.Minute
	_, err := st.BumpAlert(ctx(t), bucketKey)
	wantErr(t, "BumpAlert of a missing resource", err, store.ErrNotFound)

	s1 := newState(bucketKey, t0)
	s1.Alert.WantRevision = 1
	save(t, st, store.Observation{State: s1})
	_, err = st.ClaimAlert(ctx(t), bucketKey, 1, t0, lease)
	wantErr(t, "claim revision 1", err, nil)
	ref := store.AlertRef{Channel: "C0123", TS: "1767225600.000100"}
	wantErr(t, "record revision 1", st.RecordAlert(ctx(t), bucketKey, 1, ref, true, nil), nil)
	read := get(t, st, bucketKey)

	got, err := st.BumpAlert(ctx(t), bucketKey)
	wantErr(t, "BumpAlert", err, nil)
	equal(t, "alert state after a bump", got, store.AlertState{Ref: ref, Open: true, WantRevision: 2, RenderedRevision: 1})
	after := get(t, st, bucketKey)
	if after.Revision != read.Revision+1 || !after.Alert.Pending() {
		t.Fatalf("after a bump: revision %d (was %d), alert %+v", after.Revision, read.Revision, after.Alert)
	}
	// A save made from the state read before the bump is refused.
	stale := read
	stale.ObservedAt = t0.Add(time.Minute)
	_, err = st.SaveObservation(ctx(t), store.Observation{State: stale, ExpectedRevision: read.Revision})
	wantErr(t, "save from before the bump", err, store.ErrConflict)
	// The bumped revision can be claimed and recorded once (the lease of
	// revision 1 was released by its record).
	_, err = st.ClaimAlert(ctx(t), bucketKey, 2, t0, lease)
	wantErr(t, "claim revision 2", err, nil)
	wantErr(t, "record revision 2", st.RecordAlert(ctx(t), bucketKey, 2, ref, true, nil), nil)
	_, err = st.ClaimAlert(ctx(t), bucketKey, 2, t0.Add(2*lease), lease)
	wantErr(t, "claim revision 2 again", err, store.ErrClaimed)
}

func testAlertExactlyOnce(t *testing.T, st store.Store) {
	const lease = time.Minute
	ref1 := store.AlertRef{Channel: "C0123", TS: "1767225600.000100"}
	ref2 := store.AlertRef{Channel: "C0123", TS: "1767225600.000200"}

	_, err := st.ClaimAlert(ctx(t), bucketKey, 1, t0, lease)
	wantErr(t, "ClaimAlert of a missing resource", err, store.ErrNotFound)
	wantErr(t, "RecordAlert of a missing resource", st.RecordAlert(ctx(t), bucketKey, 1, ref1, true, nil), store.ErrNotFound)

	s1 := newState(bucketKey, t0)
	s1.Alert.WantRevision = 1
	r1 := newFinding(bucketKey, "rule-1", posture.High, store.FindingOpen, t0)
	save(t, st, store.Observation{State: s1, Findings: []store.Finding{r1}})

	got, err := st.ClaimAlert(ctx(t), bucketKey, 1, t0, lease)
	wantErr(t, "first claim of revision 1", err, nil)
	equal(t, "alert state under the first claim", got, store.AlertState{WantRevision: 1})
	_, err = st.ClaimAlert(ctx(t), bucketKey, 1, t0.Add(30*time.Second), lease)
	wantErr(t, "second claim of revision 1 during the lease", err, store.ErrClaimed)

	wantErr(t, "RecordAlert revision 1", st.RecordAlert(ctx(t), bucketKey, 1, ref1, true, []string{"rule-1"}), nil)
	equal(t, "alert state after recording", get(t, st, bucketKey).Alert, store.AlertState{Ref: ref1, Open: true, WantRevision: 1, RenderedRevision: 1})
	r1.Alert = ref1
	equal(t, "findings after recording", findings(t, st, bucketKey), []store.Finding{r1})

	_, err = st.ClaimAlert(ctx(t), bucketKey, 1, t0.Add(10*lease), lease)
	wantErr(t, "claim of a recorded revision", err, store.ErrClaimed)
	wantErr(t, "second RecordAlert of revision 1", st.RecordAlert(ctx(t), bucketKey, 1, ref2, true, nil), store.ErrClaimed)

	// A new observation: the caller passes no alert bookkeeping but the
	// wanted revision; the stored message reference survives, on the state
	// and on a finding passed without one. A finding that names a message
	// gets it.
	at2 := t0.Add(2 * lease)
	s2 := newState(bucketKey, at2)
	s2.Alert = store.AlertState{WantRevision: 2}
	r1Resolved := newFinding(bucketKey, "rule-1", posture.High, store.FindingResolved, at2)
	r2 := newFinding(bucketKey, "rule-2", posture.Critical, store.FindingOpen, at2)
	r2.Alert = ref1
	saved := save(t, st, store.Observation{State: s2, ExpectedRevision: 1, Findings: []store.Finding{r1Resolved, r2}})
	equal(t, "returned alert state (as passed)", saved.Alert, s2.Alert)
	equal(t, "stored alert state after a save", get(t, st, bucketKey).Alert, store.AlertState{Ref: ref1, Open: true, WantRevision: 2, RenderedRevision: 1})
	r1Resolved.Alert = ref1
	equal(t, "findings after a save", findings(t, st, bucketKey), []store.Finding{r1Resolved, r2})

	got, err = st.ClaimAlert(ctx(t), bucketKey, 2, at2, lease)
	wantErr(t, "claim of revision 2", err, nil)
	equal(t, "alert state under the claim of revision 2", got, store.AlertState{Ref: ref1, Open: true, WantRevision: 2, RenderedRevision: 1})

	// A save during the lease keeps the lease.
	at3 := at2.Add(lease / 4)
	s3 := newState(bucketKey, at3)
	s3.Alert = store.AlertState{WantRevision: 2}
	save(t, st, store.Observation{State: s3, ExpectedRevision: 2})
	_, err = st.ClaimAlert(ctx(t), bucketKey, 2, at3, lease)
	wantErr(t, "claim of revision 2 after a save during the lease", err, store.ErrClaimed)
	_, err = st.ClaimAlert(ctx(t), bucketKey, 3, at2.Add(lease), lease)
	wantErr(t, "claim of a later revision at the lease's last instant", err, store.ErrClaimed)

	// The lease ends: another worker takes over.
	_, err = st.ClaimAlert(ctx(t), bucketKey, 2, at2.Add(lease+1), lease)
	wantErr(t, "claim of revision 2 after the lease ended", err, nil)

	// Naming a finding that does not exist changes nothing.
	err = st.RecordAlert(ctx(t), bucketKey, 2, ref2, true, []string{"rule-1", "rule-2", "rule-missing"})
	wantErr(t, "RecordAlert naming a missing finding", err, store.ErrNotFound)
	equal(t, "alert state after a refused record", get(t, st, bucketKey).Alert, store.AlertState{Ref: ref1, Open: true, WantRevision: 2, RenderedRevision: 1})
	equal(t, "findings after a refused record", findings(t, st, bucketKey), []store.Finding{r1Resolved, r2})

	// Duplicate rule ids are stamped once.
	wantErr(t, "RecordAlert revision 2", st.RecordAlert(ctx(t), bucketKey, 2, ref2, false, []string{"rule-2", "rule-2"}), nil)
	equal(t, "alert state after recording revision 2", get(t, st, bucketKey).Alert, store.AlertState{Ref: ref2, Open: false, WantRevision: 2, RenderedRevision: 2})
	r2.Alert = ref2
	equal(t, "findings after recording revision 2", findings(t, st, bucketKey), []store.Finding{r1Resolved, r2})

	// Recording released the lease: a later revision is claimable at once.
	_, err = st.ClaimAlert(ctx(t), bucketKey, 3, at2.Add(lease+2), lease)
	wantErr(t, "claim of revision 3 right after recording", err, nil)
}

func testConcurrentAlertClaims(t *testing.T, st store.Store) {
	s := newState(bucketKey, t0)
	s.Alert.WantRevision = 1
	save(t, st, store.Observation{State: s})
	errs := race(writers, func(int) error {
		_, err := st.ClaimAlert(ctx(t), bucketKey, 1, t0, time.Minute)
		return err
	})
	oneWinner(t, "concurrent alert claims", errs, store.ErrClaimed)
}

func testRoundTrip(t *testing.T, st store.Store) {
	paris := time.FixedZone("CET", 3600)
	in := store.ResourceState{
		Key:    awsKey(acct1, "arn:aws:s3:::payments-logs"),
		Type:   "AWS::S3::Bucket",
		Region: "eu-west-1",
		Name:   "payments-logs",
		Exists: true,
		// Whitespace, key order, escapes and HTML characters must survive.
		Document:   json.RawMessage("{\n  \"z\": 1,\n  \"a\": \"<b>&amp;\\u00e9\",\n  \"n\": [1.50, 2e3, null]\n}"),
		ObservedAt: t0.In(paris),
		Tags:       map[string]string{"env": "prod", "owner": "payments@example.com", "cost-center": ""},
		Evaluations: []posture.Evaluation{
			{RuleID: "s3_public_acl", Status: posture.Fail, Severity: posture.Critical},
			{RuleID: "s3_encryption", Status: posture.Pass, Severity: posture.Medium},
			{RuleID: "s3_object_lock", Status: posture.Error, Severity: posture.Low, Detail: "unexpected <nil> in ObjectLockConfiguration"},
			{RuleID: "s3_logging", Status: posture.NotApplicable, Severity: posture.Low, Detail: "log bucket"},
			{RuleID: "s3_versioning", Status: posture.Suppressed, Severity: posture.Medium},
		},
		LastChange: store.ChangeRef{
			EventID: "d6e4c0de-1234-4bad-9f00-5a5a5a5a5a5a", Operation: "PutBucketAcl", Time: t0.Add(-time.Second).In(paris),
			Actor: change.Actor{
				Principal: "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com", Type: "AssumedRole",
				Name: "Admin/alice@example.com", SessionIssuer: "arn:aws:iam::111111111111:role/Admin",
				SourceIP: "203.0.113.9", UserAgent: "aws-cli/2.15.0 Python/3.11", Via: "cli",
			},
		},
		Alert: store.AlertState{WantRevision: 1},
	}
	fOpen := store.Finding{
		Key: in.Key, RuleID: "s3_public_acl", Severity: posture.Critical, ResourceType: in.Type, Region: in.Region,
		Status: store.FindingOpen, FirstSeen: t0.Add(-time.Hour).In(paris), LastSeen: t0.In(paris), OpenedBy: in.LastChange,
		Before:      map[string]string{"acl.grants": "[]", "public_access_block.block_public_acls": "true", "empty": ""},
		BeforeKnown: true,
	}
	fResolved := store.Finding{
		Key: in.Key, RuleID: "s3_encryption", Severity: posture.Medium, ResourceType: in.Type, Region: in.Region,
		Status: store.FindingResolved, FirstSeen: t0.Add(-48 * time.Hour), LastSeen: t0.Add(-time.Hour),
		ResolvedAt: t0.Add(-time.Minute), OpenedBy: store.ChangeRef{EventID: "ev-0", Operation: "DeleteBucketEncryption", Time: t0.Add(-48 * time.Hour)},
		ResolvedBy: store.ChangeRef{EventID: "ev-9", Operation: "PutBucketEncryption", Time: t0.Add(-time.Minute),
			Actor: change.Actor{Principal: "arn:aws:iam::111111111111:user/bob", Type: "IAMUser", Name: "bob", Via: "console"}},
	}
	got := save(t, st, store.Observation{State: in, Findings: []store.Finding{fOpen, fResolved}})

	want := in
	want.Revision = 1
	want.ObservedAt = t0
	want.LastChange.Time = t0.Add(-time.Second)
	equal(t, "returned state", got, want)
	equal(t, "stored state", get(t, st, in.Key), want)

	ref := store.AlertRef{Channel: "C0PAYMENTS", TS: "1767225600.123456"}
	wantErr(t, "RecordAlert", st.RecordAlert(ctx(t), in.Key, 1, ref, true, []string{"s3_public_acl"}), nil)
	want.Alert = store.AlertState{Ref: ref, Open: true, WantRevision: 1, RenderedRevision: 1}
	equal(t, "stored state with its alert", get(t, st, in.Key), want)

	fOpen.FirstSeen, fOpen.LastSeen, fOpen.OpenedBy.Time = t0.Add(-time.Hour), t0, t0.Add(-time.Second)
	fOpen.Alert = ref
	equal(t, "findings", findings(t, st, in.Key), []store.Finding{fResolved, fOpen})
	open, err := st.OpenFindings(ctx(t), store.FindingQuery{Severity: posture.Critical})
	wantErr(t, "OpenFindings", err, nil)
	equal(t, "open findings", open, []store.Finding{fOpen})
}

func testEmptyFieldsRemoved(t *testing.T, st store.Store) {
	full := newState(bucketKey, t0)
	full.Tags = map[string]string{"env": "prod"}
	full.Evaluations = []posture.Evaluation{{RuleID: "r", Status: posture.Pass, Severity: posture.Low}}
	save(t, st, store.Observation{State: full})

	// A deleted resource: no document, no tags. Empty collections come
	// back as nil.
	gone := store.ResourceState{Key: bucketKey, Type: "AWS::S3::Bucket", ObservedAt: t0.Add(time.Minute),
		Document: json.RawMessage{}, Tags: map[string]string{}, Evaluations: []posture.Evaluation{}}
	save(t, st, store.Observation{State: gone, ExpectedRevision: 1})
	want := store.ResourceState{Key: bucketKey, Type: "AWS::S3::Bucket", ObservedAt: t0.Add(time.Minute), Revision: 2}
	equal(t, "stored state of a deleted resource", get(t, st, bucketKey), want)
}

func testDocumentCap(t *testing.T, st store.Store) {
	// A document of exactly the cap is kept; one byte more is replaced.
	fitting := json.RawMessage(`{"p":"` + strings.Repeat("x", store.MaxDocumentBytes-8) + `"}`)
	if len(fitting) != store.MaxDocumentBytes {
		t.Fatalf("fixture is %d bytes, want %d", len(fitting), store.MaxDocumentBytes)
	}
	s := newState(bucketKey, t0)
	s.Document = fitting
	got := save(t, st, store.Observation{State: s})
	if string(get(t, st, bucketKey).Document) != string(fitting) || string(got.Document) != string(fitting) {
		t.Fatalf("a document of %d bytes was not kept exactly", len(fitting))
	}

	big := json.RawMessage(`{"p":"` + strings.Repeat("y", store.MaxDocumentBytes-7) + `"}`)
	s = newState(bucketKey, t0.Add(time.Second))
	s.Document = big
	s.Tags = map[string]string{"kept": "yes"}
	got = save(t, st, store.Observation{State: s, ExpectedRevision: 1})
	stored := get(t, st, bucketKey)
	equal(t, "stored state with an oversized document", stored, got)
	var placeholder struct {
		Truncated bool `json:"truncated"`
		Bytes     int  `json:"bytes"`
	}
	if err := json.Unmarshal(stored.Document, &placeholder); err != nil {
		t.Fatalf("placeholder %q: %v", stored.Document, err)
	}
	if !placeholder.Truncated || placeholder.Bytes != len(big) {
		t.Fatalf("placeholder = %+v, want truncated with bytes %d", placeholder, len(big))
	}
	if stored.Tags["kept"] != "yes" {
		t.Fatalf("the rest of the state was lost with the document: %+v", stored.Tags)
	}
}

func testNoAliasing(t *testing.T, st store.Store) {
	s := newState(bucketKey, t0)
	s.Tags = map[string]string{"env": "prod"}
	s.Evaluations = []posture.Evaluation{{RuleID: "r", Status: posture.Fail, Severity: posture.High}}
	s.Document = json.RawMessage(`{"acl":"private"}`)
	f := newFinding(bucketKey, "r", posture.High, store.FindingOpen, t0)
	f.Before, f.BeforeKnown = map[string]string{"acl": "private"}, true
	saved := save(t, st, store.Observation{State: s, Findings: []store.Finding{f}})
	want := get(t, st, bucketKey)
	wantFindings := findings(t, st, bucketKey)

	// Mutating what was passed in, what was returned and what was read must
	// not reach the store.
	s.Tags["env"] = "dev"
	s.Evaluations[0].Status = posture.Pass
	s.Document[2] = 'X'
	saved.Tags["env"] = "test"
	saved.Evaluations[0].RuleID = "changed"
	saved.Document[3] = 'Y'
	read := get(t, st, bucketKey)
	read.Tags["env"] = "qa"
	read.Evaluations[0].Severity = posture.Low
	read.Document[4] = 'Z'
	equal(t, "stored state after mutating copies", get(t, st, bucketKey), want)

	f.Before["acl"] = "public-read"
	findings(t, st, bucketKey)[0].Before["acl"] = "public-read-write"
	open, err := st.OpenFindings(ctx(t), store.FindingQuery{Severity: posture.High})
	wantErr(t, "OpenFindings", err, nil)
	open[0].Before["acl"] = "authenticated-read"
	equal(t, "stored findings after mutating copies", findings(t, st, bucketKey), wantFindings)
	if wantFindings[0].Before["acl"] != "private" {
		t.Fatalf("stored finding's before = %v, want acl private", wantFindings[0].Before)
	}
}
