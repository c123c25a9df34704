package governance

import (
	"testing"
	"time"
)

// windowsPolicy defines windows around the 2026 daylight saving changes:
// Europe/Madrid moves 02:00 -> 03:00 on Sunday 29 March (01:00 UTC) and
// 03:00 -> 02:00 on Sunday 25 October (01:00 UTC); America/New_York moves
// 02:00 -> 03:00 on Sunday 8 March (07:00 UTC) and 02:00 -> 01:00 on
// Sunday 1 November (06:00 UTC).
const windowsPolicy = `version: 1
maintenance_windows:
  - name: madrid-weekday-nights
    timezone: Europe/Madrid
    days: [mon, tue, wed, thu, fri]
    start: "22:00"
    end: "06:00"
  - name: madrid-sunday-early
    timezone: Europe/Madrid
    days: [sun]
    start: "01:00"
    end: "04:00"
  - name: madrid-sunday-2am
    timezone: Europe/Madrid
    days: [sun]
    start: "02:00"
    end: "03:00"
  - name: ny-sunday-2am
    timezone: America/New_York
    days: [sun]
    start: "02:00"
    end: "03:00"
  - name: ny-sunday-1am
    timezone: America/New_York
    days: [sun]
    start: "01:00"
    end: "02:00"
  - name: ny-saturday-night
    timezone: America/New_York
    days: [sat]
    start: "22:00"
    end: "06:00"
  - name: utc-all-day
    timezone: UTC
    start: "00:00"
    end: "24:00"
`

func TestInWindow(t *testing.T) {
	p := mustParse(t, windowsPolicy)
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		window string
		at     string // an instant, in UTC
		local  string // what it is on the window's wall clock, for the reader
		want   bool
	}{
		// Wrapping past midnight, on the days the window starts (CET = UTC+1).
		{"madrid-weekday-nights", "2026-03-13T20:59:00Z", "Fri 21:59", false},
		{"madrid-weekday-nights", "2026-03-13T21:00:00Z", "Fri 22:00", true},
		{"madrid-weekday-nights", "2026-03-14T04:59:59Z", "Sat 05:59:59, Friday's night", true},
		{"madrid-weekday-nights", "2026-03-14T05:00:00Z", "Sat 06:00", false},
		{"madrid-weekday-nights", "2026-03-14T22:00:00Z", "Sat 23:00", false},
		{"madrid-weekday-nights", "2026-03-16T04:00:00Z", "Mon 05:00, Sunday's night", false},
		{"madrid-weekday-nights", "2026-03-16T21:30:00Z", "Mon 22:30", true},
		{"madrid-weekday-nights", "2026-03-17T01:00:00Z", "Tue 02:00, Monday's night", true},

		// Madrid spring forward: 01:00-04:00 lasts two hours that night.
		{"madrid-sunday-early", "2026-03-28T23:59:00Z", "Sun 00:59 CET", false},
		{"madrid-sunday-early", "2026-03-29T00:00:00Z", "Sun 01:00 CET", true},
		{"madrid-sunday-early", "2026-03-29T00:59:00Z", "Sun 01:59 CET", true},
		{"madrid-sunday-early", "2026-03-29T01:00:00Z", "Sun 03:00 CEST", true},
		{"madrid-sunday-early", "2026-03-29T01:59:00Z", "Sun 03:59 CEST", true},
		{"madrid-sunday-early", "2026-03-29T02:00:00Z", "Sun 04:00 CEST", false},
		// Madrid fall back: 02:00-03:00 happens twice, both are inside.
		{"madrid-sunday-2am", "2026-10-24T23:59:00Z", "Sun 01:59 CEST", false},
		{"madrid-sunday-2am", "2026-10-25T00:00:00Z", "Sun 02:00 CEST", true},
		{"madrid-sunday-2am", "2026-10-25T00:30:00Z", "Sun 02:30 CEST", true},
		{"madrid-sunday-2am", "2026-10-25T01:00:00Z", "Sun 02:00 CET (again)", true},
		{"madrid-sunday-2am", "2026-10-25T01:59:00Z", "Sun 02:59 CET", true},
		{"madrid-sunday-2am", "2026-10-25T02:00:00Z", "Sun 03:00 CET", false},
		// The same window on an ordinary Sunday in summer (CEST = UTC+2).
		{"madrid-sunday-2am", "2026-07-05T00:30:00Z", "Sun 02:30 CEST", true},
		{"madrid-sunday-2am", "2026-07-05T01:30:00Z", "Sun 03:30 CEST", false},

		// New York spring forward: 02:00-03:00 does not exist that day.
		{"ny-sunday-2am", "2026-03-08T06:59:00Z", "Sun 01:59 EST", false},
		{"ny-sunday-2am", "2026-03-08T07:00:00Z", "Sun 03:00 EDT", false},
		{"ny-sunday-2am", "2026-03-15T06:30:00Z", "Sun 02:30 EDT, a week later", true},
		// A night wrapping across the change: 22:00 EST to 06:00 EDT is 7 hours.
		{"ny-saturday-night", "2026-03-08T02:59:00Z", "Sat 21:59 EST", false},
		{"ny-saturday-night", "2026-03-08T03:00:00Z", "Sat 22:00 EST", true},
		{"ny-saturday-night", "2026-03-08T07:00:00Z", "Sun 03:00 EDT", true},
		{"ny-saturday-night", "2026-03-08T09:59:00Z", "Sun 05:59 EDT", true},
		{"ny-saturday-night", "2026-03-08T10:00:00Z", "Sun 06:00 EDT", false},
		// New York fall back: 01:00-02:00 happens twice, both are inside.
		{"ny-sunday-1am", "2026-11-01T04:59:00Z", "Sun 00:59 EDT", false},
		{"ny-sunday-1am", "2026-11-01T05:00:00Z", "Sun 01:00 EDT", true},
		{"ny-sunday-1am", "2026-11-01T05:59:00Z", "Sun 01:59 EDT", true},
		{"ny-sunday-1am", "2026-11-01T06:00:00Z", "Sun 01:00 EST (again)", true},
		{"ny-sunday-1am", "2026-11-01T06:59:00Z", "Sun 01:59 EST", true},
		{"ny-sunday-1am", "2026-11-01T07:00:00Z", "Sun 02:00 EST", false},

		// "24:00" ends the day; no days means every day.
		{"utc-all-day", "2026-03-08T00:00:00Z", "Sun 00:00", true},
		{"utc-all-day", "2026-03-11T23:59:59Z", "Wed 23:59:59", true},
		// An instant given in another zone is the same instant.
		{"madrid-weekday-nights", "2026-03-13T17:30:00-04:00", "Fri 22:30 (given in New York time)", true},

		// A name the policy does not define is never open.
		{"no-such-window", "2026-03-13T21:30:00Z", "", false},
	} {
		if got := p.InWindow(tc.window, utc(tc.at)); got != tc.want {
			t.Errorf("InWindow(%s, %s = %s) = %v, want %v", tc.window, tc.at, tc.local, got, tc.want)
		}
	}
}

// TestWindowLocalTimes checks the premise of TestInWindow: the instants
// are the wall-clock times its table says, so a wrong DST date in the
// table cannot make the window tests pass for the wrong reason.
func TestWindowLocalTimes(t *testing.T) {
	for _, tc := range []struct{ zone, at, want string }{
		{"Europe/Madrid", "2026-03-29T01:00:00Z", "Sun 03:00 CEST"},
		{"Europe/Madrid", "2026-03-29T00:59:00Z", "Sun 01:59 CET"},
		{"Europe/Madrid", "2026-10-25T00:30:00Z", "Sun 02:30 CEST"},
		{"Europe/Madrid", "2026-10-25T01:30:00Z", "Sun 02:30 CET"},
		{"America/New_York", "2026-03-08T07:00:00Z", "Sun 03:00 EDT"},
		{"America/New_York", "2026-03-08T06:59:00Z", "Sun 01:59 EST"},
		{"America/New_York", "2026-11-01T05:30:00Z", "Sun 01:30 EDT"},
		{"America/New_York", "2026-11-01T06:30:00Z", "Sun 01:30 EST"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := at.In(loc).Format("Mon 15:04 MST"); got != tc.want {
			t.Errorf("%s in %s = %s, want %s", tc.at, tc.zone, got, tc.want)
		}
	}
}
