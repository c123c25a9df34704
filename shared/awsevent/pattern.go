package awsevent

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxPatternSize is EventBridge's default quota on the size of one event
// pattern, in characters (adjustable to 4096 on request).
const MaxPatternSize = 2048

// EventPattern is an EventBridge event pattern matching CloudTrail API calls.
type EventPattern struct {
	Source     []string      `json:"source"`
	DetailType []string      `json:"detail-type"`
	Detail     PatternDetail `json:"detail"`
}

// PatternDetail matches the CloudTrail record inside the event.
type PatternDetail struct {
	EventSource []string `json:"eventSource"`
	EventName   []string `json:"eventName"`
}

// EventPatterns returns the EventBridge patterns that deliver every
// operation of table to the detector: one pattern when it fits in
// MaxPatternSize, otherwise one per eventSource (each of which then needs
// its own rule). The output is sorted and deterministic.
//
// A single pattern matches the cross product of its sources and names
// (s3.amazonaws.com with CreateTrail); that is harmless, since no such
// event exists and the normalizer drops unmapped pairs anyway. IAM and
// other global services deliver their events in us-east-1 only, so the
// rule must exist there.
func EventPatterns(table []Mapping) ([]EventPattern, error) {
	bySource := map[string][]string{}
	for _, m := range table {
		bySource[m.Source] = append(bySource[m.Source], m.Operation)
	}
	if len(bySource) == 0 {
		return nil, fmt.Errorf("event patterns: the table is empty")
	}
	sources := slices.Sorted(maps.Keys(bySource))
	var all []string
	for _, s := range sources {
		all = append(all, bySource[s]...)
	}
	one := pattern(sources, all)
	if size, err := patternSize(one); err != nil {
		return nil, err
	} else if size <= MaxPatternSize {
		return []EventPattern{one}, nil
	}
	out := make([]EventPattern, 0, len(sources))
	for _, s := range sources {
		p := pattern([]string{s}, bySource[s])
		size, err := patternSize(p)
		if err != nil {
			return nil, err
		}
		if size > MaxPatternSize {
			return nil, fmt.Errorf("event pattern for %s is %d characters, over EventBridge's %d", s, size, MaxPatternSize)
		}
		out = append(out, p)
	}
	return out, nil
}

func pattern(eventSources, names []string) EventPattern {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	p := EventPattern{DetailType: []string{DetailTypeAPICall}}
	for _, s := range eventSources {
		p.Source = append(p.Source, "aws."+strings.TrimSuffix(s, ".amazonaws.com"))
	}
	p.Detail = PatternDetail{EventSource: slices.Clone(eventSources), EventName: names}
	return p
}

// patternSize is the length of the compact JSON EventBridge stores.
func patternSize(p EventPattern) (int, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("event pattern: %w", err)
	}
	return len(b), nil
}

// MarshalPatterns renders patterns as the committed infra file: an
// indented JSON array, one event name per line, so that a review diff shows
// exactly which operation was added or removed. Infra code deploys each
// element, compacted, as one rule's pattern.
func MarshalPatterns(patterns []EventPattern) ([]byte, error) {
	b, err := json.MarshalIndent(patterns, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("event patterns: %w", err)
	}
	return append(b, '\n'), nil
}
