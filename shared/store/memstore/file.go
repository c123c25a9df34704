package memstore

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

// fileVersion is the layout version of the persistence file.
const fileVersion = 1

// fileData is the persistence file. Lists are sorted so that the file is
// deterministic and diffs of it are readable.
type fileData struct {
	Version   int             `json:"version"`
	Resources []fileResource  `json:"resources"`
	Findings  []store.Finding `json:"findings"`
	Claims    []fileClaim     `json:"claims"`
}

type fileResource struct {
	// State is stored without its document: encoding/json would compact a
	// RawMessage (and escape HTML in it), and documents must keep their
	// exact bytes.
	State store.ResourceState `json:"state"`
	// Document holds the exact bytes (base64 in the file).
	Document   []byte    `json:"document,omitempty"`
	LeaseUntil time.Time `json:"alert_lease_until,omitzero"`
}

type fileClaim struct {
	EventID    string    `json:"event_id"`
	Done       bool      `json:"done"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	ExpiresAt  int64     `json:"expires_at"`
}

// Open returns a store persisted to the JSON file at path: it loads the file
// when it exists and creates it otherwise. Every change rewrites the file
// atomically (a temporary file renamed over it), so a crash leaves either
// the old or the new posture, never half of one. One process at a time may
// use a file.
func Open(path string) (*Store, error) {
	m := New()
	m.path = path
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := m.save(); err != nil {
			return nil, err
		}
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("open posture file: %w", err)
	}
	if err := m.load(b); err != nil {
		return nil, fmt.Errorf("load posture file %s: %w", path, err)
	}
	return m, nil
}

func (m *Store) load(b []byte) error {
	var d fileData
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	if d.Version != fileVersion {
		return fmt.Errorf("version %d, this build reads version %d", d.Version, fileVersion)
	}
	for _, r := range d.Resources {
		if err := r.State.Key.Validate(); err != nil {
			return err
		}
		st := canon.State(r.State)
		st.Document = nil
		if len(r.Document) > 0 {
			st.Document = r.Document
		}
		m.resources[st.Key] = &resource{state: st, leaseUntil: canon.Time(r.LeaseUntil)}
	}
	for _, f := range d.Findings {
		if err := f.Key.Validate(); err != nil {
			return err
		}
		if f.RuleID == "" {
			return fmt.Errorf("finding of %s without a rule id", f.Key)
		}
		byRule := m.findings[f.Key]
		if byRule == nil {
			byRule = map[string]store.Finding{}
			m.findings[f.Key] = byRule
		}
		byRule[f.RuleID] = canon.Finding(f)
	}
	for _, c := range d.Claims {
		if c.EventID == "" {
			return errors.New("event claim without an event id")
		}
		m.claims[c.EventID] = claim{done: c.Done, leaseUntil: canon.Time(c.LeaseUntil), expiresAt: c.ExpiresAt}
	}
	return nil
}

// save writes the whole store to a temporary file in the target directory
// and renames it over the file: rename is atomic within a file system.
func (m *Store) save() error {
	d := fileData{Version: fileVersion, Resources: []fileResource{}, Findings: []store.Finding{}, Claims: []fileClaim{}}
	for _, r := range m.resources {
		st := r.state
		doc := []byte(st.Document)
		st.Document = nil
		d.Resources = append(d.Resources, fileResource{State: st, Document: doc, LeaseUntil: r.leaseUntil})
	}
	slices.SortFunc(d.Resources, func(a, b fileResource) int { return cmp.Compare(a.State.Key.String(), b.State.Key.String()) })
	for _, byRule := range m.findings {
		for _, f := range byRule {
			d.Findings = append(d.Findings, f)
		}
	}
	slices.SortFunc(d.Findings, func(a, b store.Finding) int {
		return cmp.Or(cmp.Compare(a.Key.String(), b.Key.String()), cmp.Compare(a.RuleID, b.RuleID))
	})
	for id, c := range m.claims {
		d.Claims = append(d.Claims, fileClaim{EventID: id, Done: c.done, LeaseUntil: c.leaseUntil, ExpiresAt: c.expiresAt})
	}
	slices.SortFunc(d.Claims, func(a, b fileClaim) int { return cmp.Compare(a.EventID, b.EventID) })

	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encode posture file: %w", err)
	}
	dir, base := filepath.Split(m.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp*")
	if err != nil {
		return fmt.Errorf("save posture file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save posture file: %w", err)
	}
	// Sync before rename: otherwise a crash can leave the new name pointing
	// at an empty file.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save posture file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save posture file: %w", err)
	}
	if err := os.Rename(tmp.Name(), m.path); err != nil {
		return fmt.Errorf("save posture file: %w", err)
	}
	return nil
}
