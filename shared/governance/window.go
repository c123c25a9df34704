package governance

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// window is one maintenance window: local wall-clock times in a time zone,
// on the days it starts.
type window struct {
	name string
	line int
	loc  *time.Location
	// days are the weekdays the window starts on.
	days [7]bool
	// start and end are minutes after local midnight; end is 1440 for
	// "24:00". end < start wraps past midnight.
	start, end int
}

// contains reports whether t falls inside the window. Times are compared
// as wall-clock times in the window's zone, which is what people mean by
// "22:00 Madrid time": a window keeps its local times across daylight
// saving changes, so its length in real time changes instead (a
// 22:00-06:00 window lasts 7 or 9 hours on those nights). A local time
// skipped by a spring-forward change never occurs, and one repeated by a
// fall-back change is inside both times.
func (w *window) contains(t time.Time) bool {
	if w == nil || w.loc == nil {
		return false
	}
	local := t.In(w.loc)
	m := local.Hour()*60 + local.Minute()
	day := local.Weekday()
	if w.start < w.end {
		return w.days[day] && m >= w.start && m < w.end
	}
	// Wrapping: the part before midnight belongs to today's window, the
	// part after it to the window that started yesterday.
	yesterday := (day + 6) % 7
	return (w.days[day] && m >= w.start) || (w.days[yesterday] && m < w.end)
}

// InWindow reports whether t is inside the maintenance window called name
// (false for a name the policy does not define). A window covers
// [start, end) in its zone's wall-clock time, on the days it starts.
func (p *Policy) InWindow(name string, t time.Time) bool {
	w, ok := p.windows[name]
	return ok && w.contains(t)
}

// activeWindow returns the first auto window that contains now, or "".
func (p *Policy) activeWindow(now time.Time) string {
	if now.IsZero() {
		return ""
	}
	for _, name := range p.autoWindows {
		if p.windows[name].contains(now) {
			return name
		}
	}
	return ""
}

// window validates one maintenance window; nil when its name is unusable.
func (c *checker) window(f string, rw rawWindow) *window {
	w := &window{name: rw.Name, line: c.lineOf(f)}
	ok := true
	switch {
	case rw.Name == "":
		c.errf(f+".name", "missing")
		ok = false
	case !windowPattern.MatchString(rw.Name):
		c.errf(f+".name", "%q is not a window name (letters, digits, '-', '_' and '.')", rw.Name)
		ok = false
	}
	switch rw.Timezone {
	case "":
		c.errf(f+".timezone", "missing (an IANA time zone such as Europe/Madrid, or UTC)")
	case "Local":
		// Local is whatever the host says (UTC on Lambda): never what the
		// author meant.
		c.errf(f+".timezone", "\"Local\" depends on the host: name an IANA time zone such as Europe/Madrid, or UTC")
	default:
		loc, err := time.LoadLocation(rw.Timezone)
		if err != nil {
			c.errf(f+".timezone", "unknown time zone %q (use an IANA name such as Europe/Madrid, or UTC)", rw.Timezone)
		}
		w.loc = loc
	}
	if len(rw.Days) == 0 {
		w.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range rw.Days {
		df := fmt.Sprintf("%s.days[%d]", f, i)
		wd, known := dayNames[strings.ToLower(d)]
		switch {
		case !known:
			c.errf(df, "unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", d)
		case w.days[wd]:
			c.errf(df, "day %q is listed twice", d)
		default:
			w.days[wd] = true
		}
	}
	w.start = c.clock(f+".start", rw.Start, false)
	w.end = c.clock(f+".end", rw.End, true)
	if w.start >= 0 && w.start == w.end {
		c.errf(f+".end", "the window starts and ends at %s: it would be empty (for a whole day use start \"00:00\", end \"24:00\")", rw.End)
	}
	if !ok {
		return nil
	}
	return w
}

var (
	windowPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	clockPattern  = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
)

// dayNames maps the names a window's days are written with.
var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// clock parses "HH:MM" into minutes after midnight; "24:00" is allowed as
// an end. It returns -1 after recording a problem.
func (c *checker) clock(f, s string, end bool) int {
	if s == "" {
		c.errf(f, "missing (a local time \"HH:MM\")")
		return -1
	}
	if end && s == "24:00" {
		return 24 * 60
	}
	m := clockPattern.FindStringSubmatch(s)
	if m == nil {
		hint := ""
		if end {
			hint = ", or \"24:00\" for the end of the day"
		}
		c.errf(f, "%q is not a time of day \"HH:MM\" (00:00 to 23:59%s)", s, hint)
		return -1
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	return h*60 + mm
}
