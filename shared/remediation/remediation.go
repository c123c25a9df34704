// Package remediation is governed, reversible remediation: the state machine
// every fix goes through (proposed -> approved -> running -> succeeded |
// failed; succeeded -> rolling back -> rolled back), the Action contract
// every cloud's fixes implement, and the service that records approvals and
// runs approved fixes.
package remediation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/store"
)

// The states, re-exported from the store where remediations are kept.
const (
	Proposed    = store.RemediationProposed
	Approved    = store.RemediationApproved
	Running     = store.RemediationRunning
	Succeeded   = store.RemediationSucceeded
	Failed      = store.RemediationFailed
	RollingBack = store.RemediationRollingBack
	RolledBack  = store.RemediationRolledBack
	Denied      = store.RemediationDenied
	Expired     = store.RemediationExpired
)

// transitions lists the states each state may move to.
var transitions = map[store.RemediationState][]store.RemediationState{
	Proposed:    {Approved, Denied, Expired},
	Approved:    {Running, Expired},
	Running:     {Succeeded, Failed},
	Succeeded:   {RollingBack},
	RollingBack: {RolledBack, Succeeded}, // back to Succeeded when the undo fails cleanly
}

// CanMove reports whether from -> to is a transition of the state machine.
func CanMove(from, to store.RemediationState) bool {
	return slices.Contains(transitions[from], to)
}

// Terminal reports whether no transition leaves s.
func Terminal(s store.RemediationState) bool { return len(transitions[s]) == 0 }

// ErrTransition is returned for a transition the state machine does not
// have (a bug, or a stale click).
var ErrTransition = errors.New("invalid remediation transition")

// NewID derives the remediation id of one finding episode, so that every
// click on the same alert finds the same remediation.
func NewID(key store.Key, ruleID string, firstSeen time.Time) string {
	h := sha256.Sum256([]byte(key.String() + "|" + ruleID + "|" + strconv.FormatInt(firstSeen.UnixNano(), 10)))
	return "rem-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:15]))
}

// Target is what an action acts on.
type Target struct {
	Ref change.ResourceRef
	// Doc is the live configuration document just read (as the fetcher
	// returns it, e.g. *awsres.S3Bucket).
	Doc any
}

// Plan is what an action would do to a target.
type Plan struct {
	// Noop is true when the target already complies: nothing to do.
	Noop bool
	// Change says in plain words exactly what changes ("Revoke ingress
	// rule sgr-0abc: tcp/22 from 0.0.0.0/0").
	Change string
}

// Action is one automatic fix. Every action declares the exact cloud
// permissions it needs (least-privilege roles are generated from them),
// supports a dry run (Plan), is idempotent, snapshots what it changes and
// can undo from the snapshot.
type Action interface {
	// Name is the id rules refer to (remediation.action).
	Name() string
	// ResourceType is the type of resource it acts on.
	ResourceType() string
	// Permissions are the exact cloud permissions Apply and Undo use
	// (e.g. "s3:PutBucketAcl").
	Permissions() []string
	// Plan says what Apply would change; it changes nothing (dry run).
	Plan(ctx context.Context, t Target) (Plan, error)
	// Apply makes the target comply and returns the snapshot Undo needs.
	// Applied to a compliant target it changes nothing. On error it leaves
	// the target as it was.
	Apply(ctx context.Context, t Target) (snapshot json.RawMessage, err error)
	// Undo restores the snapshot Apply returned.
	Undo(ctx context.Context, t Target, snapshot json.RawMessage) error
}

// Catalog finds actions by name.
type Catalog map[string]Action

// NewCatalog indexes actions, refusing duplicates.
func NewCatalog(actions ...Action) (Catalog, error) {
	c := make(Catalog, len(actions))
	for _, a := range actions {
		if _, dup := c[a.Name()]; dup {
			return nil, fmt.Errorf("remediation action %q declared twice", a.Name())
		}
		c[a.Name()] = a
	}
	return c, nil
}

// Permissions returns every permission the catalogue's actions declare,
// sorted and without duplicates.
func (c Catalog) Permissions() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range c {
		for _, p := range a.Permissions() {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// DecodeSnapshot reads a snapshot strictly into v: a snapshot is stored
// data, and one with unknown fields or trailing data is refused rather than
// half-restored. Actions wrap the error with their own sentinel.
func DecodeSnapshot(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the snapshot")
	}
	return nil
}
