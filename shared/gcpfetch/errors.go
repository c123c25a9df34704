package gcpfetch

import (
	"errors"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
)

// ErrInvalidRef means the reference cannot name a resource of its type:
// no id, an id that is not the type's canonical full resource name, or an
// id of another project than the reference's account. Not retryable.
var ErrInvalidRef = errors.New("invalid resource reference")

// ErrInvalidResponse means a response holds a value driftwatch does not
// understand (a firewall port that is not a port or range, a timestamp or
// duration in another format). Guessing would let a finding through
// unseen, so the fetch fails; it is not retryable. Port errors also wrap
// gcpres.ErrInvalidPortRange.
var ErrInvalidResponse = errors.New("unexpected value in a Google API response")

// IsRetryable reports whether retrying the fetch later may succeed:
// throttling, server errors and transport failures. Access denials,
// undeclared calls and invalid references never are.
func IsRetryable(err error) bool { return gcpapi.IsRetryable(err) }
