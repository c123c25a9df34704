package gcpfunc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpfunc"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// pushRequests decodes a push body whose message data is a request's
// JSON. It stands in for gcpbus, whose own tests cover the real decoding;
// here only the route's handling of the decoder's answer matters.
type pushRequests struct{}

func (pushRequests) DecodePush(body []byte) (remediation.Request, string, error) {
	var push struct {
		Message struct {
			Data      []byte `json:"data"`
			MessageID string `json:"messageId"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &push); err != nil {
		return remediation.Request{}, "", err
	}
	var req remediation.Request
	if err := json.Unmarshal(push.Message.Data, &req); err != nil {
		return remediation.Request{}, push.Message.MessageID, err
	}
	return req, push.Message.MessageID, req.Validate()
}

// executor records the requests it handles and answers with err.
type executor struct {
	mu   sync.Mutex
	reqs []remediation.Request
	err  error
}

func (e *executor) Handle(_ context.Context, req remediation.Request) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reqs = append(e.reqs, req)
	return e.err
}

func (e *executor) handled() []remediation.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]remediation.Request(nil), e.reqs...)
}

func remediationServer(t *testing.T, exec *executor) *fixture {
	t.Helper()
	f := &fixture{proc: &recorder{}, google: newGoogleFake(t, "k1"), logs: &logBuffer{}}
	srv, err := gcpfunc.New(gcpfunc.Config{
		Normalizer: newNormalizer(t), Processor: f.proc, Auth: verifier(t, f.google),
		Executor: exec, Requests: pushRequests{},
	}, &gcpfunc.Options{Logger: newJSONLogger(f.logs)})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

func approved() remediation.Request {
	return remediation.Request{
		Op:           remediation.OpApply,
		Key:          store.Key{Cloud: change.GCP, Account: "demo-project", ResourceID: "//storage.googleapis.com/projects/_/buckets/b"},
		ResourceType: "storage.googleapis.com/Bucket", RemediationID: "rem-abc", By: "U123", At: t0,
	}
}

func pushOf(t *testing.T, data []byte, id string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"message":      map[string]any{"data": base64.StdEncoding.EncodeToString(data), "messageId": id},
		"subscription": "projects/demo-project/subscriptions/driftwatch-remediation",
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestRemediationRoute(t *testing.T) {
	req, err := json.Marshal(approved())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		body     []byte
		token    bool
		execErr  error
		status   int
		outcome  string
		reason   string
		executed int
	}{
		{"approved fix", "/remediation", pushOf(t, req, "m1"), true, nil, http.StatusOK, gcpfunc.OutcomeProcessed, "", 1},
		{"trailing slash", "/remediation/", pushOf(t, req, "m1"), true, nil, http.StatusOK, gcpfunc.OutcomeProcessed, "", 1},
		{"executor fails: redelivered", "/remediation", pushOf(t, req, "m1"), true, errors.New("store throttled"), http.StatusServiceUnavailable, gcpfunc.OutcomeFailed, "", 1},
		{"not a request: acked", "/remediation", pushOf(t, []byte(`{"op":"destroy"}`), "m2"), true, nil, http.StatusOK, gcpfunc.OutcomeDropped, gcpfunc.ReasonNotARequest, 0},
		{"not a push body: acked", "/remediation", []byte(`[1,2`), true, nil, http.StatusOK, gcpfunc.OutcomeDropped, gcpfunc.ReasonNotARequest, 0},
		{"no token", "/remediation", pushOf(t, req, "m1"), false, nil, http.StatusUnauthorized, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := &executor{err: tt.execErr}
			f := remediationServer(t, exec)
			tok := ""
			if tt.token {
				tok = goodToken(t)
			}
			rec := f.post(t, tt.path, tok, tt.body, nil)
			if rec.Code != tt.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			if got := len(exec.handled()); got != tt.executed {
				t.Fatalf("%d requests executed, want %d", got, tt.executed)
			}
			if len(f.proc.changes()) != 0 {
				t.Error("a remediation delivery reached the drift pipeline")
			}
			if tt.outcome == "" {
				return
			}
			a := answerOf(t, rec)
			if a.Outcome != tt.outcome || a.Reason != tt.reason {
				t.Errorf("answer %+v, want %s %q", a, tt.outcome, tt.reason)
			}
			if tt.executed > 0 {
				if got := exec.handled()[0]; got.RemediationID != "rem-abc" || got.Op != remediation.OpApply || a.RemediationID != "rem-abc" || a.MessageID != "m1" {
					t.Errorf("executed %+v, answer %+v", got, a)
				}
			}
		})
	}
}

func TestRemediationRouteOnlyWithExecutor(t *testing.T) {
	f := newFixture(t, nil)
	req, _ := json.Marshal(approved())
	if rec := f.post(t, "/remediation", goodToken(t), pushOf(t, req, "m1"), nil); rec.Code != http.StatusNotFound {
		t.Errorf("status %d without an executor, want 404", rec.Code)
	}
	google := newGoogleFake(t, "k1")
	base := gcpfunc.Config{Normalizer: newNormalizer(t), Processor: &recorder{}, Auth: verifier(t, google)}
	half := base
	half.Executor = &executor{}
	if _, err := gcpfunc.New(half, nil); err == nil {
		t.Error("an executor without a request decoder was accepted")
	}
	both := base
	both.Executor, both.Requests = &executor{}, pushRequests{}
	if _, err := gcpfunc.New(both, &gcpfunc.Options{Path: "/x", RemediationPath: "/x/"}); err == nil {
		t.Error("the remediation path equal to the events path was accepted")
	}
	if _, err := gcpfunc.New(both, &gcpfunc.Options{RemediationPath: "remediation"}); err == nil {
		t.Error("a relative remediation path was accepted")
	}
}

// TestPulledMessages runs pulled messages (pull mode) through Message:
// processed and dropped ones are acked (nil), a processor failure and a
// normalizer panic are nacked (ErrRetry).
func TestPulledMessages(t *testing.T) {
	s, want := processable(t)
	var push struct {
		Message struct {
			Data       []byte            `json:"data"`
			Attributes map[string]string `json:"attributes"`
			MessageID  string            `json:"messageId"`
		} `json:"message"`
	}
	if err := json.Unmarshal(s.body, &push); err != nil {
		t.Fatal(err)
	}
	m := push.Message
	t.Run("processed", func(t *testing.T) {
		f := newFixture(t, nil)
		if err := f.srv.Message(context.Background(), m.Data, m.Attributes, m.MessageID, t0); err != nil {
			t.Fatal(err)
		}
		got := f.proc.changes()
		if len(got) != 1 || got[0].EventID != want.EventID {
			t.Fatalf("processed %+v, want event %s", got, want.EventID)
		}
	})
	t.Run("dropped", func(t *testing.T) {
		f := newFixture(t, nil)
		if err := f.srv.Message(context.Background(), []byte(`{"not":"an entry"}`), nil, "m9", t0); err != nil {
			t.Fatalf("a malformed message is not acked: %v", err)
		}
		if len(f.proc.changes()) != 0 {
			t.Error("a malformed message was processed")
		}
	})
	t.Run("processor fails", func(t *testing.T) {
		google := newGoogleFake(t, "k1")
		srv, err := gcpfunc.New(gcpfunc.Config{Normalizer: newNormalizer(t), Auth: verifier(t, google),
			Processor: procFunc(func(context.Context, change.Change) (pipeline.Outcome, error) {
				return pipeline.Outcome{}, errors.New("throttled")
			})}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Message(context.Background(), m.Data, m.Attributes, m.MessageID, t0); !errors.Is(err, gcpfunc.ErrRetry) {
			t.Fatalf("error %v, want ErrRetry", err)
		}
	})
	t.Run("normalizer panics", func(t *testing.T) {
		google := newGoogleFake(t, "k1")
		srv, err := gcpfunc.New(gcpfunc.Config{Normalizer: panicky{}, Processor: &recorder{}, Auth: verifier(t, google)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Message(context.Background(), m.Data, m.Attributes, m.MessageID, t0); !errors.Is(err, gcpfunc.ErrRetry) {
			t.Fatalf("error %v, want ErrRetry", err)
		}
	})
}

func TestPulledRequests(t *testing.T) {
	for _, execErr := range []error{nil, fmt.Errorf("write conflict")} {
		exec := &executor{err: execErr}
		f := remediationServer(t, exec)
		err := f.srv.Request(context.Background(), approved(), "m1")
		if (err != nil) != (execErr != nil) || (err != nil && !errors.Is(err, gcpfunc.ErrRetry)) {
			t.Errorf("executor error %v: Request returned %v", execErr, err)
		}
		if len(exec.handled()) != 1 {
			t.Errorf("%d requests executed", len(exec.handled()))
		}
	}
	f := newFixture(t, nil)
	if err := f.srv.Request(context.Background(), approved(), "m1"); err == nil {
		t.Error("a request was accepted with no executor")
	}
}

// A pull-mode server handles pulled messages and refuses HTTP, even with
// a valid token.
func TestPullServerRefusesHTTP(t *testing.T) {
	proc := &recorder{}
	srv, err := gcpfunc.NewPull(gcpfunc.Config{Normalizer: newNormalizer(t), Processor: proc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := processable(t)
	f := &fixture{srv: srv, proc: proc, logs: &logBuffer{}}
	if rec := f.post(t, "/", goodToken(t), s.body, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", rec.Code)
	}
	if len(proc.changes()) != 0 {
		t.Error("an HTTP delivery reached the processor of a pull-mode server")
	}
}
