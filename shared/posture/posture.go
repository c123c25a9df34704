// Package posture defines evaluation results and how posture drifts between
// two observations of the same resource.
package posture

import (
	"fmt"
	"slices"
	"strings"
)

// Status is the outcome of one rule on one resource.
type Status string

// The evaluation outcomes.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Error         Status = "error"          // the rule could not be evaluated (a bug or unexpected data)
	NotApplicable Status = "not_applicable" // out of the rule's scope, or the resource is gone
	Suppressed    Status = "suppressed"     // failing, but covered by an accepted-risk exception
)

// Severity ranks how urgent a failing rule is.
type Severity string

// Severities, from most to least urgent.
const (
	Critical      Severity = "critical"
	High          Severity = "high"
	Medium        Severity = "medium"
	Low           Severity = "low"
	Informational Severity = "informational"
)

// ParseSeverity validates a severity name.
func ParseSeverity(s string) (Severity, error) {
	switch Severity(strings.ToLower(s)) {
	case Critical, High, Medium, Low, Informational:
		return Severity(strings.ToLower(s)), nil
	}
	return "", fmt.Errorf("unknown severity %q (want critical, high, medium, low or informational)", s)
}

// Rank orders severities: 0 is the most urgent.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 0
	case High:
		return 1
	case Medium:
		return 2
	case Low:
		return 3
	}
	return 4
}

// Evaluation is the outcome of one rule on one resource observation.
type Evaluation struct {
	RuleID   string   `json:"rule_id"`
	Status   Status   `json:"status"`
	Severity Severity `json:"severity"`
	// Detail explains an error or a not-applicable outcome.
	Detail string `json:"detail,omitempty"`
}

// Failing returns the ids of the failing evaluations, sorted.
func Failing(evals []Evaluation) []string {
	var ids []string
	for _, e := range evals {
		if e.Status == Fail {
			ids = append(ids, e.RuleID)
		}
	}
	slices.Sort(ids)
	return ids
}

// Drift is the difference between the stored and the new failing sets of one
// resource.
type Drift struct {
	// Opened are rules that pass (or were unknown) before and fail now.
	Opened []string
	// Resolved are rules that failed before and no longer fail.
	Resolved []string
	// Still are rules that failed before and still fail.
	Still []string
}

// Diff compares two sorted failing sets.
func Diff(before, after []string) Drift {
	var d Drift
	for _, id := range after {
		if slices.Contains(before, id) {
			d.Still = append(d.Still, id)
		} else {
			d.Opened = append(d.Opened, id)
		}
	}
	for _, id := range before {
		if !slices.Contains(after, id) {
			d.Resolved = append(d.Resolved, id)
		}
	}
	return d
}

// Changed reports whether the failing set changed.
func (d Drift) Changed() bool { return len(d.Opened) > 0 || len(d.Resolved) > 0 }
