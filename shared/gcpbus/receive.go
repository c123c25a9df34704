package gcpbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/driftwatch/driftwatch/shared/remediation"
)

// Handler handles one pulled message. Its result decides the message's
// fate: nil acknowledges it (so return nil only once the work is durable:
// the posture stored, the fix recorded); an error wrapping ErrPoison
// (Permanent) acknowledges it too, logged with its reason, since no
// redelivery would help; any other error asks for a redelivery (Nack).
type Handler interface {
	HandleMessage(ctx context.Context, m Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m Message) error

// HandleMessage implements Handler.
func (f HandlerFunc) HandleMessage(ctx context.Context, m Message) error { return f(ctx, m) }

// Requests is the Handler of the remediation subscription in pull mode: it
// decodes each message (a refusal is poison) and runs handle, typically
// remediation.Executor.Handle, which returns an error only when a retry
// can help.
func Requests(handle func(ctx context.Context, req remediation.Request) error) Handler {
	return HandlerFunc(func(ctx context.Context, m Message) error {
		req, err := Decode(m.Data, m.Attributes)
		if err != nil {
			return err
		}
		return handle(ctx, req)
	})
}

// Subscriber is the pulling end of a subscription (*pubsub.Subscriber
// satisfies it).
type Subscriber interface {
	Receive(ctx context.Context, f func(context.Context, *pubsub.Message)) error
}

// ReceiveOptions tune Receive. The zero value keeps the subscriber's
// settings (the client library's defaults: 1000 messages or 1 GB
// outstanding, one stream, leases extended up to an hour).
type ReceiveOptions struct {
	// MaxOutstandingMessages bounds the messages being handled at once
	// (received, not yet acknowledged): the number of concurrent
	// handlers. Negative: no limit.
	MaxOutstandingMessages int
	// MaxOutstandingBytes bounds their total size. Negative: no limit.
	MaxOutstandingBytes int
	// NumGoroutines is the number of streaming pulls (it does not bound
	// the handlers: MaxOutstandingMessages does).
	NumGoroutines int
	// MaxExtension is how long a message's lease is extended while its
	// handler runs; past it, Pub/Sub redelivers. Negative: never extended.
	MaxExtension time.Duration
	// Logger receives one line per message that is not acknowledged as
	// handled; nil discards them.
	Logger *slog.Logger
}

// apply sets the non-zero flow control of o on s.
func (o *ReceiveOptions) apply(s *pubsub.ReceiveSettings) {
	if o.MaxOutstandingMessages != 0 {
		s.MaxOutstandingMessages = o.MaxOutstandingMessages
	}
	if o.MaxOutstandingBytes != 0 {
		s.MaxOutstandingBytes = o.MaxOutstandingBytes
	}
	if o.NumGoroutines != 0 {
		s.NumGoroutines = o.NumGoroutines
	}
	if o.MaxExtension != 0 {
		s.MaxExtension = o.MaxExtension
	}
}

// Receive pulls messages from sub and hands each to h, until ctx is
// cancelled (it then returns nil, once the handlers running have returned)
// or the subscription fails for good (it returns that error).
//
// When sub is a *pubsub.Subscriber, the flow control of opts replaces that
// of its ReceiveSettings (the fields opts leaves zero are kept).
//
// Each message is acknowledged only after h returned nil, or an error
// wrapping ErrPoison (logged with its reason, as the subscription's
// dead-letter policy would only see the same refusal again). Any other
// error is logged and the message nacked, so Pub/Sub redelivers it (with
// the subscription's retry policy, then dead-letters it). A panic in h is
// recovered, logged with its stack, and the message nacked. Logs carry the
// message id and delivery attempt, never the data.
func Receive(ctx context.Context, sub Subscriber, h Handler, opts *ReceiveOptions) error {
	var o ReceiveOptions
	if opts != nil {
		o = *opts
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if ps, ok := sub.(*pubsub.Subscriber); ok {
		o.apply(&ps.ReceiveSettings)
		log = log.With("subscription", ps.String())
	}
	err := sub.Receive(ctx, func(ctx context.Context, pm *pubsub.Message) {
		m := messageOf(pm)
		mlog := log.With("message_id", m.ID)
		if m.DeliveryAttempt > 0 {
			mlog = mlog.With("delivery_attempt", m.DeliveryAttempt)
		}
		switch err := handle(ctx, h, m, mlog); {
		case err == nil:
			pm.Ack()
		case errors.Is(err, ErrPoison):
			mlog.Warn("message dropped", "reason", err.Error())
			pm.Ack()
		default:
			pm.Nack()
		}
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("receive from %v: %w", sub, err)
	}
	return nil
}

// handle runs h, turning a panic into an error (already logged) that is
// not poison.
func handle(ctx context.Context, h Handler, m Message, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("message handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	err = h.HandleMessage(ctx, m)
	if err != nil && !errors.Is(err, ErrPoison) {
		log.Warn("message nacked", "error", err.Error())
	}
	return err
}

var errPanic = errors.New("message handler panicked")

// messageOf copies what a handler may see of a pulled message.
func messageOf(pm *pubsub.Message) Message {
	m := Message{ID: pm.ID, Data: pm.Data, Attributes: pm.Attributes, PublishTime: pm.PublishTime, OrderingKey: pm.OrderingKey}
	if pm.DeliveryAttempt != nil {
		m.DeliveryAttempt = *pm.DeliveryAttempt
	}
	return m
}
