package remediation_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/driftwatch/driftwatch/shared/remediation"
)

type doc struct{ Name string }

func TestDocOf(t *testing.T) {
	d := &doc{Name: "b"}
	for _, tt := range []struct {
		name string
		in   any
		want *doc
		err  error
	}{
		{"pointer", d, d, nil},
		{"value", doc{Name: "b"}, d, nil},
		{"none", nil, nil, nil},
		{"typed nil", (*doc)(nil), nil, nil},
		{"other type", "b", nil, remediation.ErrDocType},
	} {
		got, err := remediation.DocOf[doc](remediation.Target{Doc: tt.in})
		if !errors.Is(err, tt.err) || (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: DocOf = %v, %v", tt.name, got, err)
		}
	}
}

func TestReadSnapshot(t *testing.T) {
	raw, err := json.Marshal(remediation.Snapshot[string, []string]{Action: "a", Resource: "r", Changed: true, Before: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := remediation.ReadSnapshot[string, []string](raw, "a")
	if err != nil || s.Resource != "r" || !s.Changed || len(s.Before) != 1 {
		t.Errorf("ReadSnapshot = %+v, %v", s, err)
	}
	if _, err := remediation.ReadSnapshot[string, []string](raw, "b"); !errors.Is(err, remediation.ErrWrongAction) {
		t.Errorf("another action's snapshot: %v", err)
	}
	if _, err := remediation.ReadSnapshot[string, []string](json.RawMessage(`{"action":"a","extra":1}`), "a"); err == nil {
		t.Error("a snapshot with an unknown field was accepted")
	}
}
