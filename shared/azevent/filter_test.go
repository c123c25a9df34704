package azevent

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/azres"
)

// TestFilterFile keeps infra/azure/eventgrid-filter.json equal to what the
// table generates (go test -run TestFilterFile -update rewrites it).
func TestFilterFile(t *testing.T) {
	filters, err := SubscriptionFilters(Table())
	if err != nil {
		t.Fatal(err)
	}
	got, err := MarshalFilters(filters)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SubscriptionFilters(Table())
	if b, _ := MarshalFilters(again); string(b) != string(got) {
		t.Fatal("SubscriptionFilters is not deterministic")
	}
	checkGolden(t, repoFile("infra", "azure", "eventgrid-filter.json"), got)
}

// delivers reports whether one of filters lets an event of type typ and
// operation op through, comparing strings case-insensitively as Event Grid
// does.
func delivers(filters []SubscriptionFilter, typ, op string) bool {
	return slices.ContainsFunc(filters, func(f SubscriptionFilter) bool {
		if !slices.Contains(f.IncludedEventTypes, typ) {
			return false
		}
		for _, af := range f.AdvancedFilters {
			if af.OperatorType != "StringIn" || af.Key != FilterKeyOperationName ||
				!slices.ContainsFunc(af.Values, func(v string) bool { return strings.EqualFold(v, op) }) {
				return false
			}
		}
		return true
	})
}

func TestFiltersCoverTheTable(t *testing.T) {
	filters, err := SubscriptionFilters(Table())
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range filters {
		values := 0
		for _, af := range f.AdvancedFilters {
			values += len(af.Values)
			for _, v := range af.Values {
				if len(v) > MaxFilterValueLength {
					t.Errorf("filter %d: value %q too long", i, v)
				}
			}
		}
		if values > MaxFilterValues {
			t.Errorf("filter %d has %d values, over Event Grid's %d", i, values, MaxFilterValues)
		}
		if !slices.IsSorted(f.IncludedEventTypes) {
			t.Errorf("filter %d: event types not sorted", i)
		}
	}
	for _, m := range Table() {
		typ, err := successEventType(m.Operation)
		if err != nil {
			t.Fatal(err)
		}
		if !delivers(filters, typ, m.Operation) {
			t.Errorf("no filter delivers %s %s", typ, m.Operation)
		}
	}
	for _, other := range []struct{ typ, op string }{
		{azsystemevents.TypeResourceActionSuccess, "Microsoft.Storage/storageAccounts/listKeys/action"},
		{azsystemevents.TypeResourceWriteSuccess, "Microsoft.Resources/subscriptions/resourceGroups/write"},
		{azsystemevents.TypeResourceWriteFailure, "Microsoft.Storage/storageAccounts/write"},
		{azsystemevents.TypeResourceNotificationsResourceManagementCreatedOrUpdated, "Microsoft.Storage/storageAccounts/write"},
	} {
		if delivers(filters, other.typ, other.op) {
			t.Errorf("a filter delivers %s %s, which no rule needs", other.typ, other.op)
		}
	}
}

// TestFiltersDeliverTheCorpus: every corpus event that normalizes to a
// Change passes a filter, as Event Grid would apply it.
func TestFiltersDeliverTheCorpus(t *testing.T) {
	filters, err := SubscriptionFilters(Table())
	if err != nil {
		t.Fatal(err)
	}
	n := newNormalizer(t)
	delivered := 0
	for _, in := range corpusInputs(t) {
		if !strings.HasPrefix(in.name, "eventgrid-schema/") {
			continue
		}
		d, err := n.Decode(in.raw)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		var evs []struct {
			EventType string `json:"eventType"`
			Data      struct {
				OperationName string `json:"operationName"`
			} `json:"data"`
		}
		raw := in.raw
		if raw[0] == '{' {
			raw = []byte("[" + string(raw) + "]")
		}
		if err := json.Unmarshal(raw, &evs); err != nil || len(evs) != len(d.Results) {
			t.Fatalf("%s: %v", in.name, err)
		}
		for i, r := range d.Results {
			if r.Err != nil {
				continue
			}
			if !delivers(filters, evs[i].EventType, evs[i].Data.OperationName) {
				t.Errorf("%s: %s %s normalizes to a change but no filter delivers it", in.name, evs[i].EventType, evs[i].Data.OperationName)
			}
			delivered++
		}
	}
	if delivered == 0 {
		t.Fatal("no Event Grid sample normalized to a change")
	}
}

func TestFiltersSplitAtTheLimit(t *testing.T) {
	var table []Mapping
	for i := range 60 {
		verb := "write"
		if i%3 == 0 {
			verb = "delete"
		}
		table = append(table, Mapping{Operation: fmt.Sprintf("Microsoft.Storage/storageAccounts/setting%02d/%s", i, verb),
			Type: azres.TypeStorageAccount, Target: TargetParent, Kind: KindPosture})
	}
	// A case variant of an operation is the same value for Event Grid.
	table = append(table, Mapping{Operation: "microsoft.storage/storageaccounts/SETTING00/delete"})
	filters, err := SubscriptionFilters(table)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	seen := 0
	for _, f := range filters {
		n := len(f.AdvancedFilters[0].Values)
		sizes = append(sizes, n)
		seen += n
	}
	if !slices.Equal(sizes, []int{25, 25, 10}) || seen != 60 {
		t.Fatalf("filter sizes %v", sizes)
	}
	for _, m := range table {
		typ, _ := successEventType(m.Operation)
		if !delivers(filters, typ, m.Operation) {
			t.Errorf("no filter delivers %s", m.Operation)
		}
	}

	long := Mapping{Operation: "Microsoft.Storage/" + strings.Repeat("x", MaxFilterValueLength) + "/write"}
	for _, bad := range []struct {
		table []Mapping
		want  string
	}{
		{nil, "the table is empty"},
		{[]Mapping{long}, "longer than Event Grid's 512 characters"},
		{[]Mapping{{Operation: "Microsoft.Storage/storageAccounts/read"}}, "raises no resource event"},
		{[]Mapping{{Operation: "write"}}, "is not an ARM operation name"},
	} {
		if _, err := SubscriptionFilters(bad.table); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("got %v, want an error containing %q", err, bad.want)
		}
	}
}
