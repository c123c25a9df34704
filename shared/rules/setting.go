package rules

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// Setting is one of a rule's settings evaluated on one document, formatted
// for people: what an alert shows before -> after.
type Setting struct {
	// Label is the setting's label from the rule (its path for a setting
	// written as a path).
	Label string
	// Value is the expression's result, formatted (see SettingValues).
	Value string
}

// SettingValues evaluates the settings of rule ruleID on doc, a document as
// the pipeline stores it (json.Marshal of the resource type's Go struct),
// and returns them in the rule's order. An empty or null doc (the resource
// was not observed, or no longer exists) gives nil, nil. now is the current
// time and account and tags are empty; SettingValuesAt supplies them.
//
// Values are formatted for an on-call engineer: strings as they are, bools
// and numbers plainly, lists of scalars joined with ", " ("none" when
// empty), timestamps in RFC 3339 UTC (a date alone at midnight, "none" for
// the zero time), durations as "91d" from one day up ("5h30m" below), null
// as "none", and maps, objects and lists of them as compact JSON with
// sorted keys.
//
// The document is decoded strictly into the type's Go struct: a field the
// struct does not have (a document of another type, or the store's
// placeholder for an oversized one) is an error. When one setting fails to
// evaluate the others are still returned, the failed one with an empty
// value, together with an error naming it. An unknown rule id matches
// ErrUnknownRule.
func (e *Engine) SettingValues(ruleID string, doc []byte) ([]Setting, error) {
	return e.SettingValuesAt(ruleID, doc, EvalContext{}, nil)
}

// SettingValuesAt is SettingValues with the context the rule was evaluated
// in: ec's time and account and the resource's tags, for settings whose
// expressions use now, account or tags (an access key's age in days).
func (e *Engine) SettingValuesAt(ruleID string, doc []byte, ec EvalContext, tags map[string]string) ([]Setting, error) {
	r, ok := e.byID[ruleID]
	if !ok {
		return nil, fmt.Errorf("rules: settings of %q: %w", ruleID, ErrUnknownRule)
	}
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "null" || len(r.settings) == 0 {
		return nil, nil
	}
	tr := e.byType[r.ResourceType]
	v, err := decodeDoc(doc, tr.elem)
	if err != nil {
		return nil, fmt.Errorf("rules: settings of %s: %s document: %w", ruleID, r.ResourceType, err)
	}
	act, detail := tr.activation(resource.Resource{Exists: true, Doc: v, Tags: tags}, ec)
	if act == nil {
		// decodeDoc made a value of the type; this is our bug.
		return nil, fmt.Errorf("rules: settings of %s: %s", ruleID, detail)
	}
	out := make([]Setting, len(r.settings))
	var errs []error
	for i, prg := range r.settings {
		out[i].Label = r.Settings[i]
		val, _, err := prg.Eval(act)
		if err != nil {
			errs = append(errs, fmt.Errorf("rules: %s: setting %q: %w", ruleID, r.Settings[i], err))
			continue
		}
		out[i].Value = formatValue(val)
	}
	return out, errors.Join(errs...)
}

// decodeDoc decodes one JSON object into a new value of t and returns the
// pointer to it. Unknown fields and trailing data are errors: a document
// that is not of the type must not show as a row of zero values.
func decodeDoc(doc []byte, t reflect.Type) (any, error) {
	if doc[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	v := reflect.New(t).Interface()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return v, nil
}

// formatValue formats a CEL value for people, as SettingValues describes.
func formatValue(v ref.Val) string {
	if s, ok := formatScalar(v); ok {
		return s
	}
	switch x := v.(type) {
	case *types.Optional:
		if !x.HasValue() {
			return "none"
		}
		return formatValue(x.GetValue())
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		if n == 0 {
			return "none"
		}
		parts := make([]string, 0, int(n))
		for i := range int64(n) {
			s, ok := formatScalar(x.Get(types.Int(i)))
			if !ok {
				// Not a flat list: JSON shows its structure.
				return compactJSON(v)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", ")
	}
	return compactJSON(v)
}

// formatScalar formats a value that is one thing, not a structure.
func formatScalar(v ref.Val) (string, bool) {
	switch x := v.(type) {
	case types.String:
		return string(x), true
	case types.Bool:
		return strconv.FormatBool(bool(x)), true
	case types.Int:
		return strconv.FormatInt(int64(x), 10), true
	case types.Uint:
		return strconv.FormatUint(uint64(x), 10), true
	case types.Double:
		return strconv.FormatFloat(float64(x), 'g', -1, 64), true
	case types.Null:
		return "none", true
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(x), true
	case types.Timestamp:
		return formatTime(x.Time), true
	case types.Duration:
		return formatDuration(x.Duration), true
	case ref.Type:
		return x.TypeName(), true
	}
	return "", false
}

// formatTime writes UTC, and a date alone when there is no time of day (a
// policy's expiry, a day boundary). The zero time is how documents say
// "never" (an access key never used).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

// formatDuration writes whole days from one day up, the unit of every
// posture threshold (90 days, 45 days); shorter ones as Go writes them
// without the trailing zero units ("5h30m", "45m").
func formatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		if d == math.MinInt64 {
			d++ // its absolute value does not fit; a nanosecond does not show in days
		}
		sign, d = "-", -d
	}
	const day = 24 * time.Hour
	if d >= day {
		return sign + strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return sign + s
}

// compactJSON is the fallback for structures: compact JSON with sorted
// keys, so that before and after line up.
func compactJSON(v ref.Val) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // values are shown, not embedded in HTML
	if err := enc.Encode(jsonable(v)); err != nil {
		// jsonable yields only encodable values; say so rather than panic.
		return fmt.Sprintf("(unprintable %s: %v)", v.Type().TypeName(), err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// jsonable converts a CEL value to plain Go values that encoding/json
// writes with sorted keys.
func jsonable(v ref.Val) any {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Bool:
		return bool(x)
	case types.Int:
		return int64(x)
	case types.Uint:
		return uint64(x)
	case types.Double:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64) // JSON has no NaN
		}
		return f
	case types.Null:
		return nil
	case *types.Optional:
		if !x.HasValue() {
			return nil
		}
		return jsonable(x.GetValue())
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		out := make([]any, 0, int(n))
		for i := range int64(n) {
			out = append(out, jsonable(x.Get(types.Int(i))))
		}
		return out
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			out[formatValue(k)] = jsonable(x.Get(k))
		}
		return out
	}
	if s, ok := formatScalar(v); ok {
		return s
	}
	// A document struct (or a part of one): its json tags name the fields.
	// A round trip through encoding/json turns it into maps, whose keys
	// are then written sorted.
	data, err := json.Marshal(v.Value())
	if err != nil {
		return fmt.Sprintf("(unprintable %s)", v.Type().TypeName())
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return fmt.Sprintf("(unprintable %s)", v.Type().TypeName())
	}
	return out
}
