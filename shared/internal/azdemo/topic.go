package azdemo

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azeventgrid"
)

// Topic is a hand-written fake of an Event Grid custom topic with one
// webhook event subscription: no Event Grid emulator exists, and the
// azeventgrid client has no fake transport. It serves the publish API
// (POST /api/events?api-version=2018-01-01, the Event Grid schema) on a
// local TLS server, accepting the topic key (aeg-sas-key) or, when
// AcceptToken is set, a bearer token it approves; it refuses bodies that
// are not arrays of complete events, as Event Grid does. Each accepted
// event is then delivered, alone, to the webhook as Event Grid delivers
// (the Event Grid schema, aeg-event-type: Notification, the topic's ARM id
// in "topic"), in the background, retried while the webhook answers 429,
// 5xx or nothing. Wait blocks until every delivery has ended.
type Topic struct {
	// ID is the topic's ARM id, written into each delivered event.
	ID string
	// Key is the topic's access key.
	Key string
	// AcceptToken, when set, approves bearer tokens.
	AcceptToken func(token string) bool
	// Retries is how many times a failed delivery is retried (3 when
	// zero), RetryDelay the pause between attempts (50 ms when zero).
	Retries    int
	RetryDelay time.Duration

	srv    *httptest.Server
	client *http.Client

	mu         sync.Mutex
	webhook    string
	refuse     int
	requests   []TopicRequest
	deliveries []Delivered
	pending    sync.WaitGroup
}

// TopicRequest is one request the topic received, refused ones included.
type TopicRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Delivered is one event's delivery.
type Delivered struct {
	EventType string
	Subject   string
	// Status is the webhook's last answer (0: no answer).
	Status   int
	Attempts int
}

// NewTopic starts a topic. webhook may be set later (SetWebhook), before
// the first publish.
func NewTopic(id, key string) *Topic {
	t := &Topic{ID: id, Key: key, client: &http.Client{Timeout: 60 * time.Second}}
	t.srv = httptest.NewTLSServer(http.HandlerFunc(t.serve))
	return t
}

// SetWebhook sets the event subscription's endpoint (with its secret in
// the query, as a webhook URL carries it). Without one the topic accepts
// events and delivers nothing.
func (t *Topic) SetWebhook(url string) {
	t.mu.Lock()
	t.webhook = url
	t.mu.Unlock()
}

// Endpoint is the topic endpoint (https://127.0.0.1:port/api/events).
func (t *Topic) Endpoint() string { return t.srv.URL + "/api/events" }

// Server returns the topic's TLS server (for WriteCA and TLSClient).
func (t *Topic) Server() *httptest.Server { return t.srv }

// KeyClient is an azeventgrid client publishing with the topic key.
func (t *Topic) KeyClient() (*azeventgrid.Client, error) {
	return azeventgrid.NewClientWithSharedKeyCredential(t.Endpoint(), azcore.NewKeyCredential(t.Key),
		&azeventgrid.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: t.srv.Client()}})
}

// Wait blocks until every delivery started so far has ended, or ctx ends.
func (t *Topic) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { t.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("topic deliveries still running: %w", ctx.Err())
	}
}

// Requests returns the requests the topic received, in order.
func (t *Topic) Requests() []TopicRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TopicRequest(nil), t.requests...)
}

// Refuse makes the topic answer every later publish with status and Event
// Grid's error body (401 Unauthorized, 403 Forbidden, ...); zero accepts
// again.
func (t *Topic) Refuse(status int) {
	t.mu.Lock()
	t.refuse = status
	t.mu.Unlock()
}

// Deliveries returns the deliveries that have ended.
func (t *Topic) Deliveries() []Delivered {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Delivered(nil), t.deliveries...)
}

// Close stops the topic after its deliveries end.
func (t *Topic) Close() {
	t.pending.Wait()
	t.srv.Close()
}

// egError answers an Event Grid error body.
func egError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (t *Topic) authorized(r *http.Request) bool {
	if k := r.Header.Get("aeg-sas-key"); k != "" {
		return subtle.ConstantTimeCompare([]byte(k), []byte(t.Key)) == 1
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && t.AcceptToken != nil {
		return t.AcceptToken(tok)
	}
	return false
}

func (t *Topic) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	t.mu.Lock()
	t.requests = append(t.requests, TopicRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	webhook, refuse := t.webhook, t.refuse
	t.mu.Unlock()
	switch {
	case r.URL.Path != "/api/events":
		egError(w, http.StatusNotFound, "NotFound", "The requested resource does not exist.")
		return
	case r.Method != http.MethodPost:
		egError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Only POST is allowed.")
		return
	case r.URL.Query().Get("api-version") == "":
		egError(w, http.StatusBadRequest, "BadRequest", "The api-version query parameter is missing.")
		return
	case !t.authorized(r):
		egError(w, http.StatusUnauthorized, "Unauthorized", "The request authorization key is not authorized for the topic.")
		return
	case refuse != 0:
		egError(w, refuse, http.StatusText(refuse), "Refused by the test.")
		return
	}
	if err != nil || len(body) > 1<<20 {
		egError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The maximum size (1048576) has been exceeded.")
		return
	}
	var events []map[string]json.RawMessage
	if err := json.Unmarshal(body, &events); err != nil || len(events) == 0 {
		egError(w, http.StatusBadRequest, "BadRequest", "The request body is not an array of Event Grid events.")
		return
	}
	for i, ev := range events {
		for _, f := range []string{"id", "subject", "eventType", "eventTime", "dataVersion", "data"} {
			if len(ev[f]) == 0 || string(ev[f]) == "null" {
				egError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Event %d: the required property %q is missing.", i, f))
				return
			}
		}
	}
	if webhook == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, ev := range events {
		topic, _ := json.Marshal(t.ID)
		ev["topic"], ev["metadataVersion"] = topic, json.RawMessage(`"1"`)
		t.pending.Add(1)
		go t.deliver(webhook, ev)
	}
	w.WriteHeader(http.StatusOK)
}

func (t *Topic) deliver(webhook string, ev map[string]json.RawMessage) {
	defer t.pending.Done()
	var typ, subject string
	json.Unmarshal(ev["eventType"], &typ)
	json.Unmarshal(ev["subject"], &subject)
	body, _ := json.Marshal([]map[string]json.RawMessage{ev})
	retries, delay := t.Retries, t.RetryDelay
	if retries == 0 {
		retries = 3
	}
	if delay == 0 {
		delay = 50 * time.Millisecond
	}
	d := Delivered{EventType: typ, Subject: subject}
	for d.Attempts < retries+1 {
		d.Attempts++
		d.Status = post(t.client, webhook, body, d.Attempts-1)
		if d.Status != 0 && d.Status != http.StatusTooManyRequests && d.Status < 500 {
			break
		}
		time.Sleep(delay)
	}
	t.mu.Lock()
	t.deliveries = append(t.deliveries, d)
	t.mu.Unlock()
}

// post delivers body to a webhook as Event Grid does and returns the
// status (0 when there was no answer).
func post(c *http.Client, url string, body []byte, redelivery int) int {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("aeg-event-type", "Notification")
	req.Header.Set("aeg-delivery-count", strconv.Itoa(redelivery))
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
