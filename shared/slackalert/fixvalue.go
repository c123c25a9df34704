package slackalert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/driftwatch/driftwatch/shared/alert"
	"github.com/driftwatch/driftwatch/shared/change"
)

// ErrInvalidFixValue is returned (wrapped, with the reason) by
// DecodeFixValue for a button value that is not exactly what
// EncodeFixValue produces.
var ErrInvalidFixValue = errors.New("invalid driftwatch button value")

// Bounds of a button value. Slack caps a button's value at 2000
// characters; the byte bound stops a decoder from even looking at more.
const (
	MaxFixValue      = 2000
	maxFixValueBytes = 4 * MaxFixValue
	maxRefAccount    = 128
	maxRefRuleID     = 128 // the rules engine's own limit
)

// EncodeFixValue renders ref as the compact JSON a button's value carries
// ({"c":"aws","a":"111122223333","k":"arn:…","r":"rule_id","f":1741921121000000000}).
// It returns "" when ref is not valid (see DecodeFixValue) or does not fit
// Slack's 2000-character limit; Render then offers no buttons for the
// finding rather than a button that cannot work.
func EncodeFixValue(ref alert.FixRef) string {
	if validFixRef(ref) != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" as \u003c would only cost room
	if err := enc.Encode(ref); err != nil {
		return ""
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if len(s) > maxFixValueBytes || utf8.RuneCountInString(s) > MaxFixValue {
		return ""
	}
	return s
}

// DecodeFixValue parses a button value back into the FixRef it carries. The
// value arrives in a signed request, but it is still input: the parse is
// strict (one JSON object with exactly the keys c, a, k, r and f, each
// once and of the right type, nothing after it, within 2000 characters) and
// the reference must be valid: a known cloud, an account and resource id
// without control characters, a rule id as the rules engine allows them
// (^[a-z0-9_]+$, at most 128) and a positive first-seen time. Errors wrap
// ErrInvalidFixValue. On error the returned reference is the zero value.
func DecodeFixValue(s string) (alert.FixRef, error) {
	ref, err := decodeFixValue(s)
	if err != nil {
		return alert.FixRef{}, err
	}
	return ref, nil
}

func decodeFixValue(s string) (alert.FixRef, error) {
	var ref alert.FixRef
	switch {
	case s == "":
		return ref, fmt.Errorf("%w: empty", ErrInvalidFixValue)
	case len(s) > maxFixValueBytes || utf8.RuneCountInString(s) > MaxFixValue:
		return ref, fmt.Errorf("%w: longer than %d characters", ErrInvalidFixValue, MaxFixValue)
	case !utf8.ValidString(s):
		return ref, fmt.Errorf("%w: not UTF-8", ErrInvalidFixValue)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ref, fmt.Errorf("%w: not a JSON object", ErrInvalidFixValue)
	}
	// Keys are matched exactly; encoding/json alone would accept "C" for
	// "c" and let a repeated key override the first.
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ref, fmt.Errorf("%w: %v", ErrInvalidFixValue, err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return ref, fmt.Errorf("%w: duplicate key %q", ErrInvalidFixValue, key)
		}
		seen[key] = true
		val, err := dec.Token()
		if err != nil {
			return ref, fmt.Errorf("%w: %v", ErrInvalidFixValue, err)
		}
		if key == "f" {
			n, ok := val.(json.Number)
			if !ok {
				return ref, fmt.Errorf("%w: key \"f\" is not a number", ErrInvalidFixValue)
			}
			f, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return ref, fmt.Errorf("%w: key \"f\" is not an integer", ErrInvalidFixValue)
			}
			ref.FirstSeen = f
			continue
		}
		str, ok := val.(string)
		if !ok {
			return ref, fmt.Errorf("%w: key %q is not a string", ErrInvalidFixValue, key)
		}
		switch key {
		case "c":
			ref.Cloud = str
		case "a":
			ref.Account = str
		case "k":
			ref.ResourceID = str
		case "r":
			ref.RuleID = str
		default:
			return ref, fmt.Errorf("%w: unknown key %q", ErrInvalidFixValue, key)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return ref, fmt.Errorf("%w: unterminated object", ErrInvalidFixValue)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ref, fmt.Errorf("%w: data after the object", ErrInvalidFixValue)
	}
	for _, k := range []string{"c", "a", "k", "r", "f"} {
		if !seen[k] {
			return ref, fmt.Errorf("%w: missing key %q", ErrInvalidFixValue, k)
		}
	}
	if err := validFixRef(ref); err != nil {
		return ref, err
	}
	// Accept only what EncodeFixValue can produce again: a value within
	// the limit can still re-encode longer (U+2028 becomes \u2028).
	if EncodeFixValue(ref) == "" {
		return ref, fmt.Errorf("%w: longer than %d characters once encoded", ErrInvalidFixValue, MaxFixValue)
	}
	return ref, nil
}

// validFixRef checks the content of a reference; the error wraps
// ErrInvalidFixValue.
func validFixRef(ref alert.FixRef) error {
	switch change.Cloud(ref.Cloud) {
	case change.AWS, change.Azure, change.GCP:
	default:
		return fmt.Errorf("%w: unknown cloud %q", ErrInvalidFixValue, truncate(ref.Cloud, 16))
	}
	switch {
	case ref.Account == "":
		return fmt.Errorf("%w: empty account", ErrInvalidFixValue)
	case len(ref.Account) > maxRefAccount || !printableASCII(ref.Account) || strings.Contains(ref.Account, "#"):
		return fmt.Errorf("%w: invalid account", ErrInvalidFixValue)
	case ref.ResourceID == "":
		return fmt.Errorf("%w: empty resource id", ErrInvalidFixValue)
	case !utf8.ValidString(ref.ResourceID) || hasControl(ref.ResourceID):
		return fmt.Errorf("%w: resource id has control characters", ErrInvalidFixValue)
	case !validRuleID(ref.RuleID):
		return fmt.Errorf("%w: invalid rule id", ErrInvalidFixValue)
	case ref.FirstSeen <= 0:
		return fmt.Errorf("%w: first-seen time is not positive", ErrInvalidFixValue)
	}
	return nil
}

// validRuleID accepts what the rules engine accepts as a rule id.
func validRuleID(s string) bool {
	if s == "" || len(s) > maxRefRuleID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// printableASCII reports a non-empty run of visible ASCII (no spaces).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return true
		}
	}
	return false
}
