package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/motoserver"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/storetest"
)

// moto is the one emulator of the package (it takes most of a second to
// start).
var moto *motoserver.Server

func TestMain(m *testing.M) {
	s, err := motoserver.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamostore tests:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// serialTransport sends one request at a time. moto's DynamoDB is not
// atomic across its server threads: TransactWriteItems checks conditions
// and writes without a lock, and a cancelled transaction restores a deep
// copy of the whole table taken when it started, undoing writes other
// threads made meanwhile (moto 5.2.1, dynamodb/models/__init__.py,
// transact_write_items). DynamoDB makes each request atomic; one request at
// a time restores exactly that, while the store's goroutines still
// interleave between requests. moto builds a response completely before
// sending it, so the request is done when the headers arrive.
// It also counts requests, for the benchmarks' round trips per operation.
type serialTransport struct {
	mu       sync.Mutex
	next     http.RoundTripper
	requests int
}

func (s *serialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	return s.next.RoundTrip(r)
}

func (s *serialTransport) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// newClient returns a DynamoDB client of the emulator with its own serial
// transport (tables of different tests still run in parallel).
func newClient() (*dynamodb.Client, *serialTransport) {
	// The SDK's own transport settings, one request at a time.
	transport := &serialTransport{next: awshttp.NewBuildableClient().GetTransport()}
	return dynamodb.NewFromConfig(moto.Config("eu-west-1"), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: transport}
	}), transport
}

var tables atomic.Int64

// newTable creates a fresh table, so that every test is isolated.
func newTable(tb testing.TB, client *dynamodb.Client) string {
	tb.Helper()
	name := fmt.Sprintf("posture-%d", tables.Add(1))
	if err := CreateTable(tb.Context(), client, name); err != nil {
		tb.Fatalf("CreateTable: %v", err)
	}
	return name
}

// newStore returns a store on a fresh table with pages of three items, so
// that the suite's queries cross page boundaries.
func newStore(tb testing.TB) store.Store {
	s, _ := newCountingStore(tb)
	return s
}

func newCountingStore(tb testing.TB) (*Store, *serialTransport) {
	client, transport := newClient()
	s := New(client, newTable(tb, client))
	s.pageSize = 3
	return s, transport
}

func TestConformance(t *testing.T) { storetest.Run(t, newStore) }

func TestGovernance(t *testing.T) {
	storetest.RunGovernance(t, func(tb testing.TB) storetest.Governed { s, _ := newCountingStore(tb); return s })
}

func TestCreateTable(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	// Idempotent: the demo and `make table` call it on every run.
	if err := CreateTable(t.Context(), client, name); err != nil {
		t.Fatalf("CreateTable on an existing table: %v", err)
	}

	d, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	tbl := d.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("status %s, want ACTIVE", tbl.TableStatus)
	}
	if tbl.BillingModeSummary == nil || tbl.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", tbl.BillingModeSummary)
	}
	if got := keySchema(tbl.KeySchema); got != "pk HASH, sk RANGE" {
		t.Errorf("key schema %q", got)
	}
	var defs []string
	for _, a := range tbl.AttributeDefinitions {
		defs = append(defs, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
	}
	slices.Sort(defs)
	if got := strings.Join(defs, ", "); got != "gsi1pk S, gsi1sk S, pk S, sk S" {
		t.Errorf("attribute definitions %q", got)
	}
	if len(tbl.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("indexes %+v, want gsi1 only", tbl.GlobalSecondaryIndexes)
	}
	gsi := tbl.GlobalSecondaryIndexes[0]
	if aws.ToString(gsi.IndexName) != IndexOpenFindings || keySchema(gsi.KeySchema) != "gsi1pk HASH, gsi1sk RANGE" ||
		gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("index %s: keys %q, projection %+v; want gsi1 on gsi1pk HASH, gsi1sk RANGE projecting ALL",
			aws.ToString(gsi.IndexName), keySchema(gsi.KeySchema), gsi.Projection)
	}

	ttl, err := client.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != AttrTTL {
		t.Errorf("TTL %+v, want ENABLED on %s", d, AttrTTL)
	}
}

func keySchema(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return strings.Join(parts, ", ")
}

func TestCreateTableTTLOnAnotherAttribute(t *testing.T) {
	client, _ := newClient()
	name := fmt.Sprintf("posture-%d", tables.Add(1))
	if _, err := client.CreateTable(t.Context(), TableInput(name)); err != nil {
		t.Fatal(err)
	}
	_, err := client.UpdateTimeToLive(t.Context(), &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = CreateTable(t.Context(), client, name)
	if err == nil || !strings.Contains(err.Error(), `TTL is on attribute "ttl", want "expires_at"`) {
		t.Fatalf("CreateTable with a foreign TTL: %v", err)
	}
}

func TestMissingTable(t *testing.T) {
	client, _ := newClient()
	s := New(client, "no-such-table")
	_, err := s.GetResource(t.Context(), store.Key{Cloud: change.AWS, Account: "1", ResourceID: "r"})
	if err == nil || !strings.Contains(err.Error(), "run CreateTable") || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetResource on a missing table: %v", err)
	}
}

// TestItemLayout pins the item layout that the Terraform table, operators'
// queries and the TTL depend on.
func TestItemLayout(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	s := New(client, name)
	ctx := t.Context()
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	now := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	st := store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: now, Document: []byte(`{"a": 1}`)}
	open := store.Finding{Key: key, RuleID: "s3_public", Severity: posture.High, Status: store.FindingOpen, FirstSeen: now, LastSeen: now}
	resolved := store.Finding{Key: key, RuleID: "s3_logging", Severity: posture.Low, Status: store.FindingResolved, FirstSeen: now, LastSeen: now, ResolvedAt: now}
	if _, err := s.SaveObservation(ctx, store.Observation{State: st, Findings: []store.Finding{open, resolved}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimEvent(ctx, "ev-1", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteEvent(ctx, "ev-2", now, time.Hour); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		pk, sk string
		want   map[string]string // attribute -> type and value ("" value: any)
		absent []string
	}{
		{"RES#aws#111111111111#arn:aws:s3:::alpha", "STATE",
			map[string]string{"revision": "N 1", "observed_at": fmt.Sprintf("N %d", now.UnixNano()), "doc": `B {"a": 1}`, "body": "S", "alert_rendered": "N 0", "alert_want": "N 0"},
			[]string{AttrGSI1PK, AttrTTL, "alert_lease_until", "alert_claim_token"}},
		{"RES#aws#111111111111#arn:aws:s3:::alpha", "FINDING#s3_public",
			map[string]string{"gsi1pk": "S OPEN#high", "gsi1sk": "S aws#111111111111#arn:aws:s3:::alpha#s3_public", "body": "S"},
			[]string{AttrTTL}},
		{"RES#aws#111111111111#arn:aws:s3:::alpha", "FINDING#s3_logging",
			map[string]string{"body": "S"},
			[]string{AttrGSI1PK, AttrGSI1SK}},
		{"EVENT#ev-1", "CLAIM",
			map[string]string{"state": "S processing", "lease_until": fmt.Sprintf("N %d", now.Add(time.Minute).UnixNano()), "expires_at": fmt.Sprintf("N %d", now.Unix()+61), "claim_token": "S"},
			nil},
		{"EVENT#ev-2", "CLAIM",
			map[string]string{"state": "S done", "expires_at": fmt.Sprintf("N %d", now.Unix()+3601)},
			[]string{"lease_until", "claim_token"}},
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
			if got != want && !(strings.HasSuffix(want, "S") && len(want) == 1 && strings.HasPrefix(got, "S ")) {
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

func describeAV(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return "S " + v.Value
	case *types.AttributeValueMemberN:
		return "N " + v.Value
	case *types.AttributeValueMemberB:
		return "B " + string(v.Value)
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprintf("BOOL %t", v.Value)
	case nil:
		return "absent"
	}
	return fmt.Sprintf("%T", av)
}

// The DynamoDB benchmarks give the round trip to moto (not to DynamoDB)
// and the requests per operation: the budget is one store round trip per
// drifting event.
func BenchmarkSaveObservation(b *testing.B) {
	s, transport := newCountingStore(b)
	before := transport.count()
	storetest.BenchSaveObservation(b, s)
	b.ReportMetric(float64(transport.count()-before)/float64(b.N), "requests/op")
}

func BenchmarkGetResource(b *testing.B) {
	s, transport := newCountingStore(b)
	before := transport.count()
	storetest.BenchGetResource(b, s)
	// One request of setup (the stored state) is spread over b.N.
	b.ReportMetric(float64(transport.count()-before-1)/float64(b.N), "requests/op")
}

// BenchmarkLoadAll: one request per load with DynamoDB's page size,
// whatever the length of the audit log.
func BenchmarkLoadAll(b *testing.B) {
	s, transport := newCountingStore(b)
	s.pageSize = 0
	before := transport.count()
	storetest.BenchLoadAll(b, s)
	setup := 1 + 1 + 1 + storetest.BenchAuditEntries
	b.ReportMetric(float64(transport.count()-before-setup)/float64(b.N), "requests/op")
}

// lossyTransport forwards every request but, the first time it sees a
// PutItem, drops the answer and reports the connection reset, as a dropped
// connection does after DynamoDB applied the write: the SDK retries the
// put (the emulator's configured retryer retries reset connections).
type lossyTransport struct {
	mu   sync.Mutex
	next http.RoundTripper
	// target is the operation whose answer is dropped (".PutItem" when
	// empty).
	target  string
	dropped bool
}

func (l *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	target := l.target
	if target == "" {
		target = ".PutItem"
	}
	if err == nil && !l.dropped && strings.HasSuffix(r.Header.Get("X-Amz-Target"), target) {
		l.dropped = true
		resp.Body.Close()
		return nil, fmt.Errorf("read answer: %w", syscall.ECONNRESET)
	}
	return resp, err
}

// TestClaimEventRetryIsDone: a claim whose first put was applied but whose
// answer was lost is the caller's when the SDK's retry finds it, not a
// claim by someone else (which would drop a new event as a duplicate, or
// refuse a Slack click as a replay); a second claim of the same id is
// still refused.
func TestClaimEventRetryIsDone(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	lossy := &lossyTransport{next: awshttp.NewBuildableClient().GetTransport()}
	s := New(dynamodb.NewFromConfig(moto.Config("eu-west-1"), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: lossy}
	}), name)
	now := time.Now()
	if err := s.ClaimEvent(t.Context(), "ev-lost", now, time.Minute); err != nil {
		t.Fatalf("the claim whose answer was lost: %v, want it claimed", err)
	}
	if !lossy.dropped {
		t.Fatal("no answer was dropped: the test did not exercise the retry")
	}
	if err := s.ClaimEvent(t.Context(), "ev-lost", now, time.Minute); !errors.Is(err, store.ErrClaimed) {
		t.Errorf("a second claim of the same event: %v, want ErrClaimed", err)
	}
}

// TestClaimAlertRetryIsDone: an alert claim whose first update was applied
// but whose answer was lost is the caller's when the SDK's retry finds it
// (else the alert would wait for the next event: "someone else renders
// it"); a second claim is still refused while the lease holds.
func TestClaimAlertRetryIsDone(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	now := time.Now()
	if _, err := New(client, name).SaveObservation(t.Context(), store.Observation{State: store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: now}}); err != nil {
		t.Fatal(err)
	}
	lossy := &lossyTransport{next: awshttp.NewBuildableClient().GetTransport(), target: ".UpdateItem"}
	s := New(dynamodb.NewFromConfig(moto.Config("eu-west-1"), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: lossy}
	}), name)
	if _, err := s.ClaimAlert(t.Context(), key, 1, now, time.Minute); err != nil {
		t.Fatalf("the claim whose answer was lost: %v, want it claimed", err)
	}
	if !lossy.dropped {
		t.Fatal("no answer was dropped: the test did not exercise the retry")
	}
	if _, err := s.ClaimAlert(t.Context(), key, 1, now, time.Minute); !errors.Is(err, store.ErrClaimed) {
		t.Errorf("a second claim while the lease holds: %v, want ErrClaimed", err)
	}
}

// TestRecordAlertRetryIsDone: a record of the alert message whose first
// write was applied but whose answer was lost is done when the SDK's retry
// finds it; recording another message at the same revision is refused.
func TestRecordAlertRetryIsDone(t *testing.T) {
	client, _ := newClient()
	name := newTable(t, client)
	key := store.Key{Cloud: change.AWS, Account: "111111111111", ResourceID: "arn:aws:s3:::alpha"}
	now := time.Now()
	plain := New(client, name)
	if _, err := plain.SaveObservation(t.Context(), store.Observation{State: store.ResourceState{Key: key, Type: "AWS::S3::Bucket", ObservedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ClaimAlert(t.Context(), key, 1, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	lossy := &lossyTransport{next: awshttp.NewBuildableClient().GetTransport(), target: ".UpdateItem"}
	s := New(dynamodb.NewFromConfig(moto.Config("eu-west-1"), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: lossy}
	}), name)
	ref := store.AlertRef{Channel: "C0DRIFT", TS: "1700000000.000100"}
	if err := s.RecordAlert(t.Context(), key, 1, ref, true, nil); err != nil {
		t.Fatalf("the record whose answer was lost: %v, want it done", err)
	}
	if !lossy.dropped {
		t.Fatal("no answer was dropped: the test did not exercise the retry")
	}
	other := store.AlertRef{Channel: "C0DRIFT", TS: "1700000000.000200"}
	if err := plain.RecordAlert(t.Context(), key, 1, other, true, nil); !errors.Is(err, store.ErrClaimed) {
		t.Errorf("another message at the same revision: %v, want ErrClaimed", err)
	}
}
