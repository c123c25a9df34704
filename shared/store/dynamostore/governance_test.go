package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
)

// TestLoadRange pins the sort key order LoadAll's key condition relies on:
// the audit log sorts before the range, every other record of a resource
// inside it.
func TestLoadRange(t *testing.T) {
	inside := []string{skExceptionPfx + "", skExceptionPfx + "\xff", skFindingPfx + "", skFindingPfx + "~~~",
		skRemediationPfx + "", skRemediationPfx + "rem-zzzz", skState}
	for _, sk := range inside {
		if sk < loadFrom || sk > loadTo {
			t.Errorf("sort key %q is outside LoadAll's range [%q, %q]", sk, loadFrom, loadTo)
		}
	}
	for _, sk := range []string{skAuditPfx, skAuditPfx + "\xff\xff"} {
		if sk >= loadFrom {
			t.Errorf("audit sort key %q is inside LoadAll's range from %q", sk, loadFrom)
		}
	}
}

// recordingAPI forwards every call to the real client and records the sort
// keys of the items each Query returned: what DynamoDB read.
type recordingAPI struct {
	API
	mu   sync.Mutex
	read []string
}

func (r *recordingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.API.Query(ctx, in, optFns...)
	if err == nil {
		r.mu.Lock()
		for _, item := range out.Items {
			r.read = append(r.read, getS(item, AttrSK))
		}
		r.mu.Unlock()
	}
	return out, err
}

// TestLoadAllNeverReadsAudit: a long audit log costs LoadAll nothing, since
// its items are outside the key condition (a filter would read them).
func TestLoadAllNeverReadsAudit(t *testing.T) {
	client, transport := newClient()
	rec := &recordingAPI{API: client}
	s := New(rec, newTable(t, client))
	s.pageSize = 3
	ctx := t.Context()
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.SaveObservation(ctx, store.Observation{State: store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: now},
		Findings: []store.Finding{{Key: key, RuleID: "s3_public", Severity: posture.High, Status: store.FindingOpen}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRemediation(ctx, store.Remediation{ID: "rem-1", Key: key, RuleID: "s3_public", Action: "s3_acl_private", State: store.RemediationProposed}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutException(ctx, store.Exception{Key: key, RuleID: "s3_logging", Reason: "r", ApprovedBy: "U1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := s.AppendAudit(ctx, store.AuditEntry{Key: key, At: now.Add(time.Duration(i) * time.Second), Seq: "s", Kind: "click", Who: "U1"}); err != nil {
			t.Fatal(err)
		}
	}

	before := transport.count()
	l, err := s.LoadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Findings) != 1 || len(l.Remediations) != 1 || len(l.Exceptions) != 1 {
		t.Fatalf("LoadAll = %d findings, %d remediations, %d exceptions; want one of each", len(l.Findings), len(l.Remediations), len(l.Exceptions))
	}
	want := []string{"EXC#s3_logging", "FINDING#s3_public", "REM#rem-1", "STATE"}
	if !slices.Equal(rec.read, want) {
		t.Fatalf("LoadAll read %q, want %q (and no audit entry)", rec.read, want)
	}
	// Four items in pages of three: two requests, whatever the log's length.
	if n := transport.count() - before; n != 2 {
		t.Fatalf("LoadAll took %d requests, want 2", n)
	}

	rec.read = nil
	if _, _, err := s.Load(ctx, key); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(rec.read, func(sk string) bool { return strings.HasPrefix(sk, skAuditPfx) }) {
		t.Fatalf("Load read audit entries: %q", rec.read)
	}
	entries, err := s.Audit(ctx, key)
	if err != nil || len(entries) != 40 {
		t.Fatalf("Audit = %d entries, %v; want 40", len(entries), err)
	}
}

// TestGovernanceItemLayout pins the layout of the governance items, which
// operators' queries, the TTL and LoadAll's key range depend on.
func TestGovernanceItemLayout(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	s := New(client, name)
	ctx := t.Context()
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	now := time.Date(2026, 3, 1, 12, 30, 0, 5, time.UTC)
	pk := "RES#aws#111111111111#arn:aws:s3:::alpha"

	rem := store.Remediation{ID: "rem-1", Key: key, RuleID: "s3_public", Action: "s3_acl_private", State: store.RemediationProposed}
	v1, err := s.CreateRemediation(ctx, rem)
	if err != nil {
		t.Fatal(err)
	}
	v1.Snapshot = json.RawMessage(`{"acl": "public-read"}`)
	if _, err := s.UpdateRemediation(ctx, v1); err != nil {
		t.Fatal(err)
	}
	if err := s.PutException(ctx, store.Exception{Key: key, RuleID: "s3_logging", Reason: "r", ApprovedBy: "U1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now, time.Unix(0, -1)} {
		if err := s.AppendAudit(ctx, store.AuditEntry{Key: key, At: at, Seq: "01J#click", Kind: "click", Who: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := s.TakeRateToken(ctx, "auto|aws|111111111111", now, time.Hour, 5); err != nil {
			t.Fatal(err)
		}
	}
	windowEnd := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)

	cases := []struct {
		pk, sk string
		want   map[string]string // attribute -> type and value ("S" alone: any string)
		absent []string
	}{
		{pk, "REM#rem-1", map[string]string{"version": "N 2", "snapshot": `B {"acl": "public-read"}`, "body": "S"}, []string{AttrTTL, AttrGSI1PK}},
		{pk, "EXC#s3_logging", map[string]string{"body": "S"}, []string{AttrTTL, AttrGSI1PK}},
		// 2^63 + UnixNano, 20 digits.
		{pk, fmt.Sprintf("AUDIT#%020d#01J#click", uint64(1<<63)+uint64(now.UnixNano())), map[string]string{"body": "S"}, []string{AttrTTL}},
		{pk, "AUDIT#09223372036854775807#01J#click", map[string]string{"body": "S"}, []string{AttrTTL}},
		{"RATE#auto|aws|111111111111", fmt.Sprintf("WINDOW#%d#%020d", int64(time.Hour), uint64(1<<63)+uint64(now.Truncate(time.Hour).UnixNano())),
			map[string]string{"uses": "N 2", "expires_at": fmt.Sprintf("N %d", windowEnd.Unix())}, []string{attrBody}},
	}
	for _, c := range cases {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: itemKey(c.pk, c.sk)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Item == nil {
			t.Fatalf("no item %s %s", c.pk, c.sk)
		}
		for attr, want := range c.want {
			got := describeAV(out.Item[attr])
			if got != want && !(want == "S" && strings.HasPrefix(got, "S ")) {
				t.Errorf("%s %s: %s = %q, want %q", c.pk, c.sk, attr, got, want)
			}
		}
		for _, attr := range c.absent {
			if _, ok := out.Item[attr]; ok {
				t.Errorf("%s %s: unexpected attribute %s", c.pk, c.sk, attr)
			}
		}
	}
}

// TestAppendAuditRetryIsDone: a retried append of the entry the first
// attempt already wrote (its answer lost with the connection) succeeds;
// another entry at the same instant and seq is still a conflict.
func TestAppendAuditRetryIsDone(t *testing.T) {
	client, _ := newClient()
	s := New(client, newTable(t, client))
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	e := store.AuditEntry{Key: key, At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Seq: "s", Kind: "click", Who: "U1"}
	if err := s.AppendAudit(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(t.Context(), e); err != nil {
		t.Errorf("the same entry appended again: %v, want done", err)
	}
	other := e
	other.Kind = "denial"
	if err := s.AppendAudit(t.Context(), other); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another entry at the same instant and seq: %v, want ErrConflict", err)
	}
	log, err := s.Audit(t.Context(), key)
	if err != nil || len(log) != 1 || log[0].Kind != "click" {
		t.Errorf("audit log %+v, %v; want the one click", log, err)
	}
}

// TestRemediationWriteRetryIsDone: creating a remediation, and moving it,
// when the first put was applied but its answer was lost is done when the
// SDK's retry finds its own write; a stale transition is still a conflict.
func TestRemediationWriteRetryIsDone(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	rem := store.Remediation{ID: "rem-1", Key: key, RuleID: "s3_public", Action: "s3_acl_private", State: store.RemediationProposed}
	lossyStore := func() (*Store, *lossyTransport) {
		lossy := &lossyTransport{next: awshttp.NewBuildableClient().GetTransport()}
		return New(dynamodb.NewFromConfig(moto.Config("eu-west-1"), func(o *dynamodb.Options) {
			o.HTTPClient = &http.Client{Transport: lossy}
		}), name), lossy
	}
	s, lossy := lossyStore()
	v1, err := s.CreateRemediation(t.Context(), rem)
	if err != nil || !lossy.dropped {
		t.Fatalf("create whose answer was lost: %v (dropped %v), want it created", err, lossy.dropped)
	}
	moved := v1
	moved.State = store.RemediationApproved
	s, lossy = lossyStore()
	v2, err := s.UpdateRemediation(t.Context(), moved)
	if err != nil || !lossy.dropped || v2.Version != 2 {
		t.Fatalf("transition whose answer was lost: %+v, %v (dropped %v), want version 2", v2, err, lossy.dropped)
	}
	stale := v1
	stale.State = store.RemediationDenied
	if _, err := New(client, name).UpdateRemediation(t.Context(), stale); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a stale transition: %v, want ErrConflict", err)
	}
	if _, err := New(client, name).CreateRemediation(t.Context(), rem); !errors.Is(err, store.ErrConflict) {
		t.Errorf("creating it again: %v, want ErrConflict", err)
	}
}
