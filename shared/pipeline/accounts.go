package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// ParseAccounts reads the accounts table every function is configured
// with (DRIFTWATCH_ACCOUNTS): a JSON object from account id to Account.
// Keys are AWS account ids (twelve digits), Azure subscription ids
// (GUIDs, stored in lower case as the posture store keys them) or GCP
// project ids (6 to 30 lower-case letters, digits and hyphens, starting
// with a letter). Blank input is an empty table.
func ParseAccounts(v string) (map[string]Account, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var accounts map[string]Account
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&accounts); err != nil {
		return nil, err
	}
	// Decode reads one value; without this, a second object pasted after
	// the first would be silently ignored.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	// Alerts and rule scope look accounts up by id: an entry keyed by a
	// name would silently never match.
	for _, id := range slices.Sorted(maps.Keys(accounts)) {
		if lower := strings.ToLower(id); lower != id && isSubscriptionID(lower) {
			// The portal shows subscription ids in either case.
			accounts[lower] = accounts[id]
			delete(accounts, id)
			continue
		}
		if !isAccountID(id) && !isSubscriptionID(id) && !isProjectID(id) {
			return nil, fmt.Errorf("%q is not a 12-digit AWS account id, an Azure subscription id (a lower-case GUID) or a GCP project id", id)
		}
	}
	return accounts, nil
}

// isProjectID reports whether id has the form of a GCP project id: 6 to 30
// lower-case letters, digits and hyphens, starting with a letter and not
// ending with a hyphen. (A project's display name may be anything; its id
// is what audit logs carry.)
func isProjectID(id string) bool {
	if len(id) < 6 || len(id) > 30 || id[0] < 'a' || id[0] > 'z' || id[len(id)-1] == '-' {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

// isAccountID reports whether id has the form of an AWS account id: exactly
// twelve decimal digits.
func isAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isSubscriptionID reports whether id has the form of an Azure subscription
// id as the posture store keys it: a lower-case GUID
// (00000000-0000-0000-0000-000000000000).
func isSubscriptionID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, r := range id {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
				return false
			}
		}
	}
	return true
}
