package gcpfetch

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// testClock is the fixed time every test fetcher reports as ObservedAt.
var testClock = time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)

// newTestFetcher returns a Fetcher reading from a fresh fake through the
// real Google API clients, as production builds it but for the endpoint
// and the clock.
func newTestFetcher(t testing.TB, opts *Options) (*Fetcher, *gcpfake.Server) {
	t.Helper()
	s := gcpfake.New()
	return fetcherOn(t, s, opts, declaredOperations()), s
}

func fetcherOn(t testing.TB, s *gcpfake.Server, opts *Options, ops []gcpapi.Operation) *Fetcher {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.API.Endpoint = s.Start(t)
	o.Now = func() time.Time { return testClock }
	f, err := newFetcher(t.Context(), &o, ops)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fetch reads ref and fails the test on error.
func fetch(t testing.TB, f *Fetcher, ref change.ResourceRef) resource.Resource {
	t.Helper()
	got, err := f.Fetch(t.Context(), ref)
	if err != nil {
		t.Fatalf("Fetch(%+v): %v", ref, err)
	}
	if !got.ObservedAt.Equal(testClock) {
		t.Errorf("ObservedAt = %v, want the clock's %v", got.ObservedAt, testClock)
	}
	return got
}

// assertJSON compares got and want through their JSON form (the form rules
// see) and prints both, line by line, where they differ.
func assertJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(g) == string(w) {
		return
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	var b strings.Builder
	for i := range max(len(gl), len(wl)) {
		var gs, ws string
		if i < len(gl) {
			gs = gl[i]
		}
		if i < len(wl) {
			ws = wl[i]
		}
		if gs != ws {
			fmt.Fprintf(&b, "line %d:\n  got:  %s\n  want: %s\n", i+1, strings.TrimSpace(gs), strings.TrimSpace(ws))
		}
	}
	t.Errorf("%s differs (-got +want by line):\n%s\ngot:\n%s", what, b.String(), g)
}
