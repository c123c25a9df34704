package memstore

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

// fileVersion is the layout version the store writes. Version 2 added the
// governance records (remediations, exceptions, the audit log, rate
// counters). Files of oldestFileVersion onwards load; the next change
// rewrites them as fileVersion. The number changed, rather than the new
// lists just appearing, so that an older build refuses a newer file instead
// of loading it and dropping its remediations and audit log on its next
// write.
const (
	fileVersion       = 2
	oldestFileVersion = 1
)

// fileData is the persistence file. Lists are sorted so that the file is
// deterministic and diffs of it are readable.
type fileData struct {
	Version   int             `json:"version"`
	Resources []fileResource  `json:"resources"`
	Findings  []store.Finding `json:"findings"`
	Claims    []fileClaim     `json:"claims"`
	// Since version 2.
	Remediations []fileRemediation  `json:"remediations"`
	Exceptions   []store.Exception  `json:"exceptions"`
	Audit        []store.AuditEntry `json:"audit"`
	RateTokens   []fileRate         `json:"rate_tokens"`
}

type fileRemediation struct {
	// Remediation is stored without its snapshot, for the reason State is
	// stored without its document.
	Remediation store.Remediation `json:"remediation"`
	Snapshot    []byte            `json:"snapshot,omitempty"`
}

type fileRate struct {
	Bucket    string        `json:"bucket"`
	Window    time.Duration `json:"window_ns"`
	Start     time.Time     `json:"window_start"`
	Uses      int           `json:"uses"`
	ExpiresAt int64         `json:"expires_at"`
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
	if d.Version < oldestFileVersion || d.Version > fileVersion {
		return fmt.Errorf("version %d, this build reads versions %d to %d", d.Version, oldestFileVersion, fileVersion)
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
	return m.loadGovernance(d)
}

// loadGovernance loads the records of version 2 (a version 1 file has
// none). The store wrote the file, so a duplicate is damage, not an update.
func (m *Store) loadGovernance(d fileData) error {
	for _, f := range d.Remediations {
		r := f.Remediation
		r.Snapshot = f.Snapshot
		if err := r.Validate(); err != nil {
			return err
		}
		if r.Version < 1 {
			return fmt.Errorf("remediation %s of %s: version %d, stored ones start at 1", r.ID, r.Key, r.Version)
		}
		byID := m.remediations[r.Key]
		if byID == nil {
			byID = map[string]store.Remediation{}
			m.remediations[r.Key] = byID
		}
		if _, dup := byID[r.ID]; dup {
			return fmt.Errorf("remediation %s of %s appears twice", r.ID, r.Key)
		}
		byID[r.ID] = canon.Remediation(r)
	}
	for _, x := range d.Exceptions {
		if err := x.Validate(); err != nil {
			return err
		}
		byRule := m.exceptions[x.Key]
		if byRule == nil {
			byRule = map[string]store.Exception{}
			m.exceptions[x.Key] = byRule
		}
		if _, dup := byRule[x.RuleID]; dup {
			return fmt.Errorf("exception %s on %s appears twice", x.RuleID, x.Key)
		}
		byRule[x.RuleID] = canon.Exception(x)
	}
	for _, a := range d.Audit {
		if err := a.Validate(); err != nil {
			return err
		}
		a = canon.Audit(a)
		m.audit[a.Key] = append(m.audit[a.Key], auditEntry{order: canon.AuditOrder(a), entry: a})
	}
	for key, log := range m.audit {
		slices.SortFunc(log, func(a, b auditEntry) int { return cmp.Compare(a.order, b.order) })
		for i := 1; i < len(log); i++ {
			if log[i].order == log[i-1].order {
				return fmt.Errorf("audit entry of %s at %s seq %q appears twice", key, log[i].entry.At, log[i].entry.Seq)
			}
		}
	}
	for _, r := range d.RateTokens {
		switch {
		case r.Bucket == "":
			return errors.New("rate counter without a bucket")
		case r.Window <= 0:
			return fmt.Errorf("rate counter %s: window %s is not positive", r.Bucket, r.Window)
		case r.Uses < 0:
			return fmt.Errorf("rate counter %s: negative uses %d", r.Bucket, r.Uses)
		}
		if err := store.ValidTime("rate counter "+r.Bucket+" window start", r.Start); err != nil {
			return err
		}
		k := rateKey{bucket: r.Bucket, window: r.Window, start: r.Start.UnixNano()}
		if _, dup := m.rates[k]; dup {
			return fmt.Errorf("rate counter %s of the %s window from %s appears twice", r.Bucket, r.Window, r.Start)
		}
		m.rates[k] = rateCount{uses: r.Uses, expiresAt: r.ExpiresAt}
	}
	return nil
}

// save writes the whole store to a temporary file in the target directory
// and renames it over the file: rename is atomic within a file system.
func (m *Store) save() error {
	d := fileData{Version: fileVersion, Resources: []fileResource{}, Findings: []store.Finding{}, Claims: []fileClaim{},
		Remediations: []fileRemediation{}, Exceptions: []store.Exception{}, Audit: []store.AuditEntry{}, RateTokens: []fileRate{}}
	for _, r := range m.resources {
		st := r.state
		doc := []byte(st.Document)
		st.Document = nil
		d.Resources = append(d.Resources, fileResource{State: st, Document: doc, LeaseUntil: r.leaseUntil})
	}
	slices.SortFunc(d.Resources, func(a, b fileResource) int { return compareKeys(a.State.Key, b.State.Key) })
	for _, byRule := range m.findings {
		for _, f := range byRule {
			d.Findings = append(d.Findings, f)
		}
	}
	slices.SortFunc(d.Findings, func(a, b store.Finding) int {
		return cmp.Or(compareKeys(a.Key, b.Key), cmp.Compare(a.RuleID, b.RuleID))
	})
	for id, c := range m.claims {
		d.Claims = append(d.Claims, fileClaim{EventID: id, Done: c.done, LeaseUntil: c.leaseUntil, ExpiresAt: c.expiresAt})
	}
	slices.SortFunc(d.Claims, func(a, b fileClaim) int { return cmp.Compare(a.EventID, b.EventID) })
	m.saveGovernance(&d)

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

// saveGovernance adds the records of version 2 to d, sorted.
func (m *Store) saveGovernance(d *fileData) {
	for _, byID := range m.remediations {
		for _, r := range byID {
			snap := []byte(r.Snapshot)
			r.Snapshot = nil
			d.Remediations = append(d.Remediations, fileRemediation{Remediation: r, Snapshot: snap})
		}
	}
	slices.SortFunc(d.Remediations, func(a, b fileRemediation) int {
		return cmp.Or(compareKeys(a.Remediation.Key, b.Remediation.Key), cmp.Compare(a.Remediation.ID, b.Remediation.ID))
	})
	for _, byRule := range m.exceptions {
		for _, x := range byRule {
			d.Exceptions = append(d.Exceptions, x)
		}
	}
	slices.SortFunc(d.Exceptions, func(a, b store.Exception) int {
		return cmp.Or(compareKeys(a.Key, b.Key), cmp.Compare(a.RuleID, b.RuleID))
	})
	// Each log is in order already; the resources are sorted by key.
	for _, key := range slices.SortedFunc(maps.Keys(m.audit), compareKeys) {
		for _, e := range m.audit[key] {
			d.Audit = append(d.Audit, e.entry)
		}
	}
	for k, c := range m.rates {
		d.RateTokens = append(d.RateTokens, fileRate{Bucket: k.bucket, Window: k.window, Start: time.Unix(0, k.start).UTC(), Uses: c.uses, ExpiresAt: c.expiresAt})
	}
	slices.SortFunc(d.RateTokens, func(a, b fileRate) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Window, b.Window), a.Start.Compare(b.Start))
	})
}

// compareKeys orders keys by cloud, account and resource id. (Key.String
// would not do: an account may contain its separator.)
func compareKeys(a, b store.Key) int {
	return cmp.Or(cmp.Compare(a.Cloud, b.Cloud), cmp.Compare(a.Account, b.Account), cmp.Compare(a.ResourceID, b.ResourceID))
}
