package azevent

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"
)

// Event Grid limits on an event subscription's advanced filters.
const (
	// MaxFilterValues is the number of values one event subscription may
	// hold across all its advanced filters (and so in one StringIn).
	MaxFilterValues = 25
	// MaxFilterValueLength is the longest string value of a filter.
	MaxFilterValueLength = 512
)

// FilterKeyOperationName is the event field the advanced filter matches.
const FilterKeyOperationName = "data.operationName"

// SubscriptionFilter is the filter of one Event Grid event subscription,
// with the ARM property names of EventSubscriptionFilter.
type SubscriptionFilter struct {
	IncludedEventTypes []string         `json:"includedEventTypes"`
	AdvancedFilters    []AdvancedFilter `json:"advancedFilters"`
}

// AdvancedFilter is one advanced filter. Event Grid compares strings
// case-insensitively, as ARM names operations.
type AdvancedFilter struct {
	OperatorType string   `json:"operatorType"`
	Key          string   `json:"key"`
	Values       []string `json:"values"`
}

// SubscriptionFilters returns the event subscription filters that deliver
// every operation of table and nothing else of the subscription's ARM
// events: each includes the success event types its operations raise and
// one StringIn on data.operationName. An event subscription holds at most
// MaxFilterValues values, so a larger table is split into several filters,
// each of which needs its own event subscription (on the same system
// topic). The output is sorted and deterministic.
func SubscriptionFilters(table []Mapping) ([]SubscriptionFilter, error) {
	if len(table) == 0 {
		return nil, fmt.Errorf("subscription filters: the table is empty")
	}
	ops := make([]string, 0, len(table))
	for _, m := range table {
		if len(m.Operation) > MaxFilterValueLength {
			return nil, fmt.Errorf("subscription filters: operation %.40q... is longer than Event Grid's %d characters", m.Operation, MaxFilterValueLength)
		}
		ops = append(ops, m.Operation)
	}
	// Event Grid compares case-insensitively: spellings of one operation
	// are one value, the table's first in byte order.
	slices.SortFunc(ops, func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	ops = slices.CompactFunc(ops, strings.EqualFold)

	var out []SubscriptionFilter
	for chunk := range slices.Chunk(ops, MaxFilterValues) {
		var types []string
		for _, op := range chunk {
			t, err := successEventType(op)
			if err != nil {
				return nil, fmt.Errorf("subscription filters: %w", err)
			}
			types = append(types, t)
		}
		slices.Sort(types)
		out = append(out, SubscriptionFilter{
			IncludedEventTypes: slices.Compact(types),
			AdvancedFilters: []AdvancedFilter{{
				OperatorType: "StringIn",
				Key:          FilterKeyOperationName,
				Values:       slices.Clone(chunk),
			}},
		})
	}
	return out, nil
}

// successEventType is the event ARM raises when op succeeds.
func successEventType(op string) (string, error) {
	_, verb, ok := splitOperation(op)
	switch {
	case !ok:
		return "", fmt.Errorf("%q is not an ARM operation name", op)
	case hasSuffixFold(op, "/action"):
		return azsystemevents.TypeResourceActionSuccess, nil
	case strings.EqualFold(verb, "write"):
		return azsystemevents.TypeResourceWriteSuccess, nil
	case strings.EqualFold(verb, "delete"):
		return azsystemevents.TypeResourceDeleteSuccess, nil
	}
	return "", fmt.Errorf("%s raises no resource event driftwatch uses", op)
}

// MarshalFilters renders filters as the committed infra file: an indented
// JSON array, one operation per line, so that a review diff shows exactly
// which operation was added or removed. Infra creates one event
// subscription per element.
func MarshalFilters(filters []SubscriptionFilter) ([]byte, error) {
	b, err := json.MarshalIndent(filters, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("subscription filters: %w", err)
	}
	return append(b, '\n'), nil
}
