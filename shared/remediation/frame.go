package remediation

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Snapshot is the envelope every cloud's actions return from Apply and
// read back in Undo: which action, the resource it acted on (L, the
// cloud's own locator, recorded so that Undo knows what to restore even
// when the resource can no longer be read), whether anything changed, and
// the state before the change (S).
type Snapshot[L, S any] struct {
	Action   string `json:"action"`
	Resource L      `json:"resource"`
	// Changed is false when Apply found the resource compliant and did
	// nothing; undoing such a snapshot makes no call.
	Changed bool `json:"changed"`
	Before  S    `json:"before"`
}

// ErrWrongAction is returned by ReadSnapshot for a snapshot another action
// wrote.
var ErrWrongAction = errors.New("the snapshot is of another action")

// ReadSnapshot decodes raw strictly (DecodeSnapshot) as a snapshot of
// action. The caller checks the resource and the before-state it holds.
func ReadSnapshot[L, S any](raw json.RawMessage, action string) (Snapshot[L, S], error) {
	var s Snapshot[L, S]
	if err := DecodeSnapshot(raw, &s); err != nil {
		return s, err
	}
	if s.Action != action {
		return s, fmt.Errorf("%w: %q", ErrWrongAction, s.Action)
	}
	return s, nil
}

// ErrDocType is returned by DocOf for a target whose document is not of
// the type the action reads.
var ErrDocType = errors.New("wrong document type")

// DocOf returns the target's document as a *D (its fetcher returns D or
// *D), or nil when it carries none (the resource no longer exists).
func DocOf[D any](t Target) (*D, error) {
	switch d := t.Doc.(type) {
	case nil:
		return nil, nil
	case *D:
		return d, nil
	case D:
		return &d, nil
	default:
		return nil, fmt.Errorf("%w: need a %v, got %T", ErrDocType, reflect.TypeFor[*D](), t.Doc)
	}
}
