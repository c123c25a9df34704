package gcpevent

import (
	"fmt"
	"slices"
	"strings"
)

// ActivityLogFilter is the Logging query restriction to Admin Activity
// audit logs: logName ends with the URL-encoded LOG_ID, whatever the
// project, folder or organization.
const ActivityLogFilter = `logName:"cloudaudit.googleapis.com%2Factivity"`

// SinkFilter returns the Log Router sink filter (Logging query language)
// that publishes the Admin Activity entries of every method of table and
// nothing else: per service, the table's methods as one value list, since
// a method name alone is ambiguous (SetIamPolicy). Services and methods are
// sorted and deduplicated, one service per line, so the output is
// deterministic and a review diff shows exactly which method changed.
// Failed calls are not filtered out here: they are few, and the normalizer
// drops them with a reason that can be counted.
func SinkFilter(table []Mapping) (string, error) {
	if len(table) == 0 {
		return "", fmt.Errorf("sink filter: the table is empty")
	}
	byService := map[string][]string{}
	for _, m := range table {
		if err := checkRow(m); err != nil {
			return "", fmt.Errorf("sink filter: %s %s: %w", m.Service, m.Method, err)
		}
		byService[m.Service] = append(byService[m.Service], m.Method)
	}
	services := make([]string, 0, len(byService))
	for s := range byService {
		services = append(services, s)
	}
	slices.Sort(services)

	var b strings.Builder
	b.WriteString(ActivityLogFilter + "\nAND (\n")
	for i, s := range services {
		methods := slices.Compact(slices.Sorted(slices.Values(byService[s])))
		quoted := make([]string, len(methods))
		for j, m := range methods {
			quoted[j] = `"` + m + `"`
		}
		b.WriteString("  ")
		if i > 0 {
			b.WriteString("OR ")
		}
		fmt.Fprintf(&b, "(protoPayload.serviceName=%q AND protoPayload.methodName=(%s))\n", s, strings.Join(quoted, " OR "))
	}
	b.WriteString(")\n")
	return b.String(), nil
}
