package gcpfunc

import (
	"context"
	"errors"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
)

// Pull is pull mode: it receives from the audit subscription and, when
// remediation is not nil, from the remediation subscription, until ctx
// ends (it returns nil) or one of them fails for good (it returns that
// error and stops the other: the platform restarts the function).
//
// Flow control is opts' (gcpbus.Receive). Each audit-log message is acked
// once Message returned nil, that is once its posture is stored or it was
// dropped with its reason logged; each remediation message once Request
// returned nil, or when it is not a request (poison, logged). Anything
// else is nacked, so Pub/Sub redelivers it and, past the subscription's
// maximum delivery attempts, dead-letters it.
func (s *Server) Pull(ctx context.Context, audit, remediation gcpbus.Subscriber, opts *gcpbus.ReceiveOptions) error {
	if audit == nil {
		return errors.New("gcpfunc: pull mode needs the audit subscription")
	}
	if remediation != nil && s.exec == nil {
		return errors.New("gcpfunc: a remediation subscription needs an executor")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type loop struct {
		sub gcpbus.Subscriber
		h   gcpbus.Handler
	}
	loops := []loop{{audit, gcpbus.HandlerFunc(func(ctx context.Context, m gcpbus.Message) error {
		return s.Message(ctx, m.Data, m.Attributes, m.ID, m.PublishTime)
	})}}
	if remediation != nil {
		loops = append(loops, loop{remediation, gcpbus.HandlerFunc(func(ctx context.Context, m gcpbus.Message) error {
			req, err := gcpbus.Decode(m.Data, m.Attributes)
			if err != nil {
				return err // poison: acked, logged by Receive
			}
			return s.Request(ctx, req, m.ID)
		})})
	}
	errc := make(chan error, len(loops))
	for _, l := range loops {
		go func() { errc <- gcpbus.Receive(ctx, l.sub, l.h, opts) }()
	}
	var first error
	for range loops {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}
