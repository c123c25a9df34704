package slackinteract

import (
	"context"
	"time"

	"github.com/driftwatch/driftwatch/shared/store"
)

// ErrReplayed is what Replays.Claim returns (wrapped) for a request it has
// seen: the store's ErrClaimed, so a store-backed Replays needs no
// translation.
var ErrReplayed = store.ErrClaimed

// ReplayLease is how long a claimed signature must be remembered: a
// signature is accepted while its timestamp is within Window of now in
// either direction, so for at most 2 × Window after it was first seen;
// a minute more covers clock skew between function instances.
const ReplayLease = 2*Window + time.Minute

// EventClaimer is the part of store.Store that StoreReplays uses.
type EventClaimer interface {
	ClaimEvent(ctx context.Context, eventID string, now time.Time, lease time.Duration) error
}

// StoreReplays keeps claimed request signatures in the posture store's
// event claims (a conditional put with a TTL in DynamoDB), under ids
// prefixed "slack-sig:" so they can never collide with a cloud event id.
func StoreReplays(s EventClaimer) Replays { return storeReplays{s} }

type storeReplays struct{ s EventClaimer }

func (r storeReplays) Claim(ctx context.Context, id string, now time.Time) error {
	return r.s.ClaimEvent(ctx, "slack-sig:"+id, now, ReplayLease)
}
