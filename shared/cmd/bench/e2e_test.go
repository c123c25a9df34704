package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/awsdetector"
)

// TestWorkload runs a short version of the end-to-end measurement against
// moto: every event must do what its class says, in both phases, and the
// store must be consistent afterwards, so that make bench measures the
// workload its notes describe.
func TestWorkload(t *testing.T) {
	ctx := t.Context()
	w, err := newWorld(ctx, filepath.Join("..", "..", "..", "events", "aws"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	rep, err := w.measure(ctx, 4*6, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Per phase: four classes and the throughput.
	if len(rep.rows) != 2*5 {
		t.Fatalf("%d rows, want 10: %+v", len(rep.rows), rep.rows)
	}
	for _, r := range rep.rows {
		if r.n == "0" || r.result == "no events" {
			t.Errorf("row %q measured nothing", r.measure)
		}
	}
}

func TestLaneJobs(t *testing.T) {
	lanes, err := scenarioLanes()
	if err != nil {
		t.Fatal(err)
	}
	for _, pairs := range lanes {
		for _, n := range []int{1, 6, 7, 30} {
			jobs := laneJobs(pairs, n)
			if len(jobs) < n || len(jobs)%6 != 0 {
				t.Errorf("laneJobs(%d) = %d jobs, want a multiple of 6 >= %d", n, len(jobs), n)
			}
			counts := map[class]int{}
			for _, j := range jobs {
				counts[j.class]++
			}
			if k := len(jobs) / 6; counts[classDrift] != k || counts[classFix] != k || counts[classUnchanged] != 2*k || counts[classIrrelevant] != 2*k {
				t.Errorf("laneJobs(%d) mix = %v", n, counts)
			}
			// A lane ends compliant: its last change is a fix.
			last := classIrrelevant
			for _, j := range jobs {
				if j.class == classDrift || j.class == classFix {
					last = j.class
				}
			}
			if last != classFix {
				t.Errorf("laneJobs(%d) does not end with a fix", n)
			}
		}
	}
}

func TestRewriteEvent(t *testing.T) {
	raw := []byte(`{"id": "old", "detail-type": "AWS API Call via CloudTrail", "detail": {"eventID": "old", "eventName": "StopLogging", "requestParameters": {"name": "t"}, "fromPort": 22}}`)
	out, err := rewriteEvent(raw, "new-id", func(d map[string]any) { d["eventName"] = "StartLogging" })
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		ID     string `json:"id"`
		Detail struct {
			EventID   string          `json:"eventID"`
			EventName string          `json:"eventName"`
			FromPort  json.RawMessage `json:"fromPort"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != "new-id" || ev.Detail.EventID != "new-id" || ev.Detail.EventName != "StartLogging" || string(ev.Detail.FromPort) != "22" {
		t.Errorf("rewritten event = %s", out)
	}
	for _, bad := range []string{`{"eventID": "bare record"}`, `not json`, `[]`} {
		if _, err := rewriteEvent([]byte(bad), "x", func(map[string]any) {}); err == nil {
			t.Errorf("rewriteEvent(%s) succeeded", bad)
		}
	}
}

func TestCheckOutcome(t *testing.T) {
	tests := []struct {
		c    class
		sum  awsdetector.Summary
		want bool
	}{
		{classDrift, awsdetector.Summary{Records: 1, Processed: 1, Drifted: 1, Notified: 1}, true},
		{classDrift, awsdetector.Summary{Records: 1, Processed: 1}, false},
		{classFix, awsdetector.Summary{Records: 1, Processed: 1, Resolved: 1, Notified: 1}, true},
		{classFix, awsdetector.Summary{Records: 1, Processed: 1, Resolved: 1, Notified: 1, Failed: 1}, false},
		{classUnchanged, awsdetector.Summary{Records: 1, Processed: 1}, true},
		{classUnchanged, awsdetector.Summary{Records: 1, Processed: 1, Notified: 1}, false},
		{classIrrelevant, awsdetector.Summary{Records: 1, Dropped: map[string]int{"failed": 1}}, true},
		{classIrrelevant, awsdetector.Summary{Records: 1, Dropped: map[string]int{"duplicate": 1}}, false},
	}
	for _, tt := range tests {
		if err := checkOutcome(tt.c, tt.sum); (err == nil) != tt.want {
			t.Errorf("checkOutcome(%s, %+v) = %v, want ok %v", tt.c, tt.sum, err, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i))
	}
	tests := []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{d, 50, 100},
		{d, 99, 198},
		{d, 100, 200},
		{d[:1], 99, 1},
		{d[:10], 50, 5},
		{d[:10], 99, 10},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%d values, %d) = %d, want %d", len(tt.sorted), tt.p, got, tt.want)
		}
	}
}

func TestSigningService(t *testing.T) {
	tests := []struct{ auth, want string }{
		{"AWS4-HMAC-SHA256 Credential=test/20250101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc", "dynamodb"},
		{"AWS4-HMAC-SHA256 Credential=test/20250101/eu-west-1/s3/aws4_request,SignedHeaders=host", "s3"},
		{"", "unsigned"},
		{"Bearer xyz", "unsigned"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodPost, "http://localhost/", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		if got := signingService(r); got != tt.want {
			t.Errorf("signingService(%q) = %q, want %q", tt.auth, got, tt.want)
		}
	}
}

// TestChatRemediation runs a short chat phase against moto: every approval
// must dispatch one request and end with the fix applied, every refusal
// must be audited and answered, so that make bench measures what its notes
// describe.
func TestChatRemediation(t *testing.T) {
	ctx := t.Context()
	c, err := newChatWorld(ctx, filepath.Join("..", "..", "..", "events", "aws"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	rep, err := c.measure(ctx, 5, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Two approvals (each a click → fix iteration) and three refusals.
	want := []string{"2", "3", "2", "2"}
	if len(rep.rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.rows), len(want), rep.rows)
	}
	for i, r := range rep.rows {
		if r.section != chatSection || r.n != want[i] || !strings.HasPrefix(r.result, "p50 ") {
			t.Errorf("row %q: section %q, n %s, result %q; want %s, n %s, a latency summary", r.measure, r.section, r.n, r.result, chatSection, want[i])
		}
	}
	if open, err := c.sshOpen(ctx); err != nil || !open {
		t.Errorf("after the refusals SSH open = %v (%v), want the last drift still open", open, err)
	}
}

func TestReportTake(t *testing.T) {
	rep := report{rows: []row{{section: "a", measure: "1"}, {section: chatSection, measure: "2"}, {section: "b", measure: "3"}, {section: chatSection, measure: "4"}}}
	taken := rep.take(chatSection)
	if len(taken) != 2 || taken[0].measure != "2" || taken[1].measure != "4" {
		t.Errorf("taken = %+v", taken)
	}
	if len(rep.rows) != 2 || rep.rows[0].measure != "1" || rep.rows[1].measure != "3" {
		t.Errorf("left = %+v", rep.rows)
	}
}

func TestChatCounts(t *testing.T) {
	ss := []chatSample{
		{requests: map[string]int64{"dynamodb PutItem": 2, "dynamodb Query": 1, "events": 1}, slack: 1},
		{requests: map[string]int64{"dynamodb PutItem": 3, "dynamodb Query": 1, "events": 1}, slack: 1},
	}
	want := "DynamoDB 3.5 (3–4): PutItem 2.5 (2–3), Query 1; events 1; Slack 1"
	if got := chatCounts(ss); got != want {
		t.Errorf("chatCounts = %q, want %q", got, want)
	}
	if got := chatCounts(nil); got != "" {
		t.Errorf("chatCounts(nil) = %q", got)
	}
}
