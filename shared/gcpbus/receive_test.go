package gcpbus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/internal/logbuf"
	"github.com/driftwatch/driftwatch/shared/remediation"
)

// calls counts a handler's calls per message id.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) inc(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *calls) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// With MaxOutstandingMessages 1, the handlers never overlap, and every
// message is handled and acked once.
func TestReceiveFlowControl(t *testing.T) {
	for _, tt := range []struct {
		max     int
		wantMax int32 // the highest concurrency allowed
	}{
		{1, 1},
		{3, 3},
	} {
		t.Run(fmt.Sprint("max outstanding ", tt.max), func(t *testing.T) {
			e := newEmulator(t)
			const n = 8
			var ids []string
			for i := range n {
				ids = append(ids, e.publishRaw(fmt.Sprint("m", i), nil))
			}
			var running, highest, handled atomic.Int32
			h := gcpbus.HandlerFunc(func(context.Context, gcpbus.Message) error {
				now := running.Add(1)
				for {
					h := highest.Load()
					if now <= h || highest.CompareAndSwap(h, now) {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
				running.Add(-1)
				handled.Add(1)
				return nil
			})
			stop := receive(t, func(ctx context.Context) error {
				return gcpbus.Receive(ctx, e.client.Subscriber(subName), h, &gcpbus.ReceiveOptions{MaxOutstandingMessages: tt.max, NumGoroutines: 2})
			})
			eventually(t, "every message is acked", func() bool {
				for _, id := range ids {
					if e.message(id).Acks == 0 {
						return false
					}
				}
				return true
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := highest.Load(); got > tt.wantMax || got < 1 {
				t.Errorf("%d handlers ran at once, want at most %d", got, tt.wantMax)
			}
			if got := handled.Load(); got != n {
				t.Errorf("%d messages handled, want %d", got, n)
			}
		})
	}
}

// A handler error is a nack: the message comes back and is acked once
// handled. A panic is the same, and is logged. The message's data is never
// logged.
func TestReceiveRedeliversFailures(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fail    func() error
		wantLog string
	}{
		{"error", func() error { return errors.New("dynamodb unavailable") }, `"msg":"message nacked"`},
		{"panic", func() error { panic("nil map in the fetcher") }, `"msg":"message handler panicked"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmulator(t)
			const secret = "body-must-not-be-logged"
			id := e.publishRaw(secret, map[string]string{"k": "v"})
			var c calls
			h := gcpbus.HandlerFunc(func(_ context.Context, m gcpbus.Message) error {
				if string(m.Data) != secret || m.Attributes["k"] != "v" || m.ID != id || m.PublishTime.IsZero() {
					t.Errorf("handler got %+v", m)
				}
				if c.inc(m.ID) == 1 {
					return tt.fail()
				}
				return nil
			})
			var logs logbuf.Buffer
			stop := receive(t, func(ctx context.Context) error {
				return gcpbus.Receive(ctx, e.client.Subscriber(subName), h, &gcpbus.ReceiveOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			})
			eventually(t, "the message is acked", func() bool { return e.message(id).Acks == 1 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if got := c.get(id); got != 2 {
				t.Errorf("handled %d times, want 2 (a failure, then the redelivery)", got)
			}
			if got := e.message(id).Deliveries; got != 2 {
				t.Errorf("%d deliveries, want 2", got)
			}
			out := logs.String()
			if !strings.Contains(out, tt.wantLog) || !strings.Contains(out, `"message_id":"`+id+`"`) {
				t.Errorf("logs lack %s for message %s: %s", tt.wantLog, id, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the message data was logged: %s", out)
			}
		})
	}
}

// A poison message (a refused request, or a handler's Permanent error) is
// acked at once, logged with its reason, and never comes back.
func TestReceiveAcksPoison(t *testing.T) {
	e := newEmulator(t)
	notARequest := e.publishRaw(`{"insertId":"x"}`, nil)
	locked := e.publishRaw(good, attrs("Driftwatch.RemediationApproved", "1.0"))
	var c calls
	h := gcpbus.HandlerFunc(func(ctx context.Context, m gcpbus.Message) error {
		c.inc(m.ID)
		return gcpbus.Requests(func(context.Context, remediation.Request) error {
			return gcpbus.Permanent(errors.New("the bucket has a locked retention policy"))
		}).HandleMessage(ctx, m)
	})
	var logs logbuf.Buffer
	stop := receive(t, func(ctx context.Context) error {
		return gcpbus.Receive(ctx, e.client.Subscriber(subName), h, &gcpbus.ReceiveOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	})
	eventually(t, "both messages are acked", func() bool { return e.message(notARequest).Acks == 1 && e.message(locked).Acks == 1 })
	// A nack would bring a message back at once (the emulator redelivers a
	// nacked message immediately): give it the time to.
	time.Sleep(200 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{notARequest, locked} {
		if got := c.get(id); got != 1 {
			t.Errorf("message %s handled %d times, want 1", id, got)
		}
		if got := e.message(id).Deliveries; got != 1 {
			t.Errorf("message %s delivered %d times, want 1", id, got)
		}
	}
	out := logs.String()
	for _, want := range []string{
		`"msg":"message dropped","subscription":"` + subName + `","message_id":"` + notARequest + `","reason":"poison message: not a remediation request: no driftwatch_type attribute"`,
		`"msg":"message dropped","subscription":"` + subName + `","message_id":"` + locked + `","reason":"the bucket has a locked retention policy"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s: %s", want, out)
		}
	}
	if strings.Contains(out, "insertId") || strings.Contains(out, "rem-1") {
		t.Errorf("a message body was logged: %s", out)
	}
}

// Cancelling the context stops Receive with nil, after the running handler
// returned; the message it was handling when cancelled is not acked (its
// handler saw the cancellation and failed).
func TestReceiveStopsOnCancel(t *testing.T) {
	e := newEmulator(t)
	id := e.publishRaw("slow", nil)
	started := make(chan struct{})
	var returned atomic.Bool
	h := gcpbus.HandlerFunc(func(ctx context.Context, _ gcpbus.Message) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
		returned.Store(true)
		return ctx.Err()
	})
	stop := receive(t, func(ctx context.Context) error {
		return gcpbus.Receive(ctx, e.client.Subscriber(subName), h, nil)
	})
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the message was not handled")
	}
	if err := stop(); err != nil {
		t.Errorf("Receive returned %v on cancellation, want nil", err)
	}
	if !returned.Load() {
		t.Error("Receive returned before the handler did")
	}
	if got := e.message(id).Acks; got != 0 {
		t.Errorf("the interrupted message was acked %d times", got)
	}
}

// A subscription that does not exist is an error, not a silent stop.
func TestReceiveMissingSubscription(t *testing.T) {
	e := newEmulator(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := gcpbus.Receive(ctx, e.client.Subscriber("projects/"+project+"/subscriptions/nope"), gcpbus.HandlerFunc(func(context.Context, gcpbus.Message) error { return nil }), nil)
	if err == nil || !strings.Contains(err.Error(), "receive from projects/"+project+"/subscriptions/nope") {
		t.Errorf("error = %v, want a receive error naming the subscription", err)
	}
}

// A message whose handler keeps failing is nacked on every delivery, with
// the delivery attempt logged, until the subscription's dead-letter policy
// moves it to the dead-letter topic: the receiver never drops it.
func TestReceiveDeadLetters(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	const (
		dlq    = "projects/" + project + "/topics/driftwatch-remediation-dead"
		dlqSub = "projects/" + project + "/subscriptions/driftwatch-remediation-dead"
		sub    = "projects/" + project + "/subscriptions/driftwatch-remediation-dlp"
	)
	if _, err := e.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: dlq}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: dlqSub, Topic: dlq}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: topicName, AckDeadlineSeconds: 10,
		DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: dlq, MaxDeliveryAttempts: 5},
	}); err != nil {
		t.Fatal(err)
	}
	id := e.publishRaw(good, attrs("Driftwatch.RemediationApproved", "1.0"))
	var (
		mu       sync.Mutex
		attempts []int
	)
	h := gcpbus.HandlerFunc(func(_ context.Context, m gcpbus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, m.DeliveryAttempt)
		return errors.New("the posture table is throttled")
	})
	var logs logbuf.Buffer
	stop := receive(t, func(ctx context.Context) error {
		return gcpbus.Receive(ctx, e.client.Subscriber(sub), h, &gcpbus.ReceiveOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	})
	// The dead-letter topic's subscription receives it.
	dead := make(chan gcpbus.Message, 1)
	stopDead := receive(t, func(ctx context.Context) error {
		return gcpbus.Receive(ctx, e.client.Subscriber(dlqSub), gcpbus.HandlerFunc(func(_ context.Context, m gcpbus.Message) error {
			select {
			case dead <- m:
			default:
			}
			return nil
		}), nil)
	})
	select {
	case m := <-dead:
		if string(m.Data) != good {
			t.Errorf("dead-lettered data %q", m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the message was not dead-lettered")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := stopDead(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 2, 3, 4, 5}; !slices.Equal(attempts, want) {
		t.Errorf("delivery attempts %v, want %v", attempts, want)
	}
	if out := logs.String(); !strings.Contains(out, `"message_id":"`+id+`","delivery_attempt":5,"error":"the posture table is throttled"`) {
		t.Errorf("logs lack the fifth attempt's nack: %s", out)
	}
}
