package awsevent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// probe holds the top-level fields that tell the input's shape and decide
// the cheap drops.
//
// readProbe fills it in one validating pass over the input without
// decoding anything else: encoding/json spends most of an irrelevant
// record's budget validating and skipping the fields we ignore, and most
// records are irrelevant. Its decisions match json.Unmarshal into the
// equivalent struct (case-insensitive keys, last duplicate wins, the same
// syntax and type errors); a differential test and fuzz target hold it to
// that.
type probe struct {
	// Log file: the elements of Records, as sub-slices of the input.
	hasRecords bool
	records    [][]byte
	// EventBridge envelope.
	hasDetailType bool
	detailType    string
	account, time string // loose: strings or numbers, else empty
	detail        []byte // sub-slice of the input
	// CloudTrail record.
	eventID, eventSource, eventName, eventType, errorCode string
	readOnly                                              bool
}

type probeField int

const (
	fieldNone probeField = iota
	fieldRecords
	fieldDetailType
	fieldAccount
	fieldTime
	fieldDetail
	fieldEventID
	fieldEventSource
	fieldEventName
	fieldEventType
	fieldErrorCode
	fieldReadOnly
)

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

// readProbe validates data as a single JSON value and returns its probe
// fields when it is an object, in one pass.
func readProbe(data []byte) (probe, error) {
	var p probe
	s := scanner{data: data}
	s.space()
	if s.pos >= len(data) {
		return p, syntaxError(data, errSyntax)
	}
	start := s.pos
	var typeErr error
	var err error
	if data[start] == '{' {
		typeErr, err = s.members(&p)
	} else {
		err = s.value(0)
	}
	if err == nil {
		s.space()
		if s.pos != len(data) {
			err = errSyntax
		}
	}
	// Like encoding/json, report bad syntax before a field of the wrong
	// type.
	switch {
	case err != nil:
		return probe{}, syntaxError(data, err)
	case typeErr != nil:
		return probe{}, typeErr
	}
	switch data[start] {
	case '{', 'n': // null decodes to nothing, as with json.Unmarshal
		return p, nil
	}
	return probe{}, fmt.Errorf("the event is a JSON %s, not an object", kindOf(data[start]))
}

// members validates the top-level object at s.pos and sets p's fields
// from its members. A member of the wrong type does not stop the scan.
func (s *scanner) members(p *probe) (typeErr, err error) {
	d := s.data
	s.pos++
	s.space()
	if s.pos < len(d) && d[s.pos] == '}' {
		s.pos++
		return nil, nil
	}
	for {
		if s.pos >= len(d) || d[s.pos] != '"' {
			return typeErr, errSyntax
		}
		keyStart := s.pos
		if err := s.str(); err != nil {
			return typeErr, err
		}
		key := d[keyStart:s.pos]
		s.space()
		if s.pos >= len(d) || d[s.pos] != ':' {
			return typeErr, errSyntax
		}
		s.pos++
		s.space()
		valStart := s.pos
		if err := s.value(1); err != nil {
			return typeErr, err
		}
		if typeErr == nil {
			typeErr = p.set(key, d[valStart:s.pos])
		}
		s.space()
		if s.pos >= len(d) {
			return typeErr, errSyntax
		}
		switch d[s.pos] {
		case ',':
			s.pos++
			s.space()
		case '}':
			s.pos++
			return typeErr, nil
		default:
			return typeErr, errSyntax
		}
	}
}

// syntaxError reports invalid input with encoding/json's message, which
// names the offending character and offset.
func syntaxError(data []byte, fallback error) error {
	var v json.RawMessage
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return fallback
}

func kindOf(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

func (p *probe) set(quotedKey, val []byte) error {
	field := matchKey(quotedKey)
	if field == fieldNone {
		return nil
	}
	isNull := val[0] == 'n'
	switch field {
	case fieldRecords:
		if isNull {
			p.hasRecords, p.records = false, nil
			return nil
		}
		if val[0] != '[' {
			return typeError("Records", val, "an array")
		}
		p.hasRecords, p.records = true, elements(val)
	case fieldDetailType:
		if isNull {
			p.hasDetailType, p.detailType = false, ""
			return nil
		}
		if val[0] != '"' {
			return typeError("detail-type", val, "a string")
		}
		p.hasDetailType, p.detailType = true, unquote(val)
	case fieldAccount, fieldTime:
		v := ""
		switch {
		case val[0] == '"':
			v = unquote(val)
		case val[0] == '-' || (val[0] >= '0' && val[0] <= '9'):
			v = string(val)
		}
		if field == fieldAccount {
			p.account = v
		} else {
			p.time = v
		}
	case fieldDetail:
		p.detail = val
	case fieldReadOnly:
		switch {
		case val[0] == 't':
			p.readOnly = true
		case val[0] == 'f' || isNull:
			p.readOnly = false
		case val[0] == '"':
			p.readOnly = strings.EqualFold(unquote(val), "true")
		default:
			return typeError("readOnly", val, "a boolean")
		}
	default:
		if isNull {
			return nil // like json.Unmarshal: null leaves a string as it was
		}
		if val[0] != '"' {
			return typeError(fieldName(field), val, "a string")
		}
		v := unquote(val)
		switch field {
		case fieldEventID:
			p.eventID = v
		case fieldEventSource:
			p.eventSource = v
		case fieldEventName:
			p.eventName = v
		case fieldEventType:
			p.eventType = v
		case fieldErrorCode:
			p.errorCode = v
		}
	}
	return nil
}

func typeError(key string, val []byte, want string) error {
	return fmt.Errorf("%s is a JSON %s, not %s", key, kindOf(val[0]), want)
}

// probeKeys are the probed JSON keys, indexed by probeField.
func probeKeys() *[fieldReadOnly + 1]string {
	return &[...]string{
		fieldNone:        "",
		fieldRecords:     "Records",
		fieldDetailType:  "detail-type",
		fieldAccount:     "account",
		fieldTime:        "time",
		fieldDetail:      "detail",
		fieldEventID:     "eventID",
		fieldEventSource: "eventSource",
		fieldEventName:   "eventName",
		fieldEventType:   "eventType",
		fieldErrorCode:   "errorCode",
		fieldReadOnly:    "readOnly",
	}
}

func fieldName(f probeField) string { return probeKeys()[f] }

// matchKey finds the probe field a quoted object key names, exactly or
// under Unicode case folding, as encoding/json matches struct fields.
func matchKey(quoted []byte) probeField {
	key := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		key = []byte(unquote(quoted))
	}
	ascii := -1 // unknown
	for f, name := range probeKeys() {
		if f == int(fieldNone) || len(key) < len(name) {
			continue // a folded key is never shorter than an ASCII name
		}
		if len(key) > len(name) {
			// Only non-ASCII runes fold to shorter ASCII ones (ſ to s).
			if ascii < 0 {
				ascii = 1
				for _, c := range key {
					if c >= 0x80 {
						ascii = 0
						break
					}
				}
			}
			if ascii == 1 {
				continue
			}
		}
		if bytes.EqualFold(key, []byte(name)) {
			return probeField(f)
		}
	}
	return fieldNone
}

// unquote decodes a valid JSON string token. Plain ASCII, the common case,
// is copied as is; anything else goes through encoding/json so that escapes
// and invalid UTF-8 decode exactly as json.Unmarshal decodes them.
func unquote(tok []byte) string {
	inner := tok[1 : len(tok)-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			var s string
			if err := json.Unmarshal(tok, &s); err != nil {
				return ""
			}
			return s
		}
	}
	return string(inner)
}

// elements splits a valid JSON array into its elements.
func elements(arr []byte) [][]byte {
	s := scanner{data: arr, pos: 1}
	s.space()
	var out [][]byte
	for s.data[s.pos] != ']' {
		start := s.pos
		_ = s.value(0)
		out = append(out, arr[start:s.pos])
		s.space()
		if s.data[s.pos] == ',' {
			s.pos++
			s.space()
		}
	}
	if out == nil {
		out = [][]byte{}
	}
	return out
}

// scanner validates JSON (RFC 8259, as encoding/json accepts it) in place.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) space() {
	d, i := s.data, s.pos
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\t' || d[i] == '\r') {
		i++
	}
	s.pos = i
}

func (s *scanner) value(depth int) error {
	if s.pos >= len(s.data) {
		return errSyntax
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return errSyntax
}

func (s *scanner) object(depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	s.pos++
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return errSyntax
		}
		if err := s.str(); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return errSyntax
		}
		s.pos++
		s.space()
		if err := s.value(depth); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.space()
		case '}':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return errSyntax
	}
	s.pos++
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.space()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.space()
		case ']':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *scanner) str() error {
	d, i := s.data, s.pos+1 // after the opening quote
	for i < len(d) {
		// Skip eight plain bytes at a time: strings are most of a record.
		for i+8 <= len(d) && !special8(binary.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		if i >= len(d) {
			break
		}
		c := d[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return nil
		case c < 0x20:
			return errSyntax
		}
		// A backslash escape.
		if i+1 >= len(d) {
			return errSyntax
		}
		switch d[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(d) {
				return errSyntax
			}
			for _, h := range d[i+2 : i+6] {
				if !isHex(h) {
					return errSyntax
				}
			}
			i += 6
		default:
			return errSyntax
		}
	}
	return errSyntax
}

// special8 reports whether any of the eight bytes in v may be a quote, a
// backslash or a control character (the SWAR tests of "Bit Twiddling
// Hacks"; a false positive only sends the caller to its byte loop).
func special8(v uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := v ^ (lo * '"')  // zero bytes where v has a quote
	b := v ^ (lo * '\\') // zero bytes where v has a backslash
	return ((q-lo)&^q|(b-lo)&^b|(v-lo*0x20)&^v)&hi != 0
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return errSyntax
	}
	s.pos += len(lit)
	return nil
}

func (s *scanner) number() error {
	d := s.data
	if d[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(d) && d[s.pos] == '0':
		s.pos++
	case s.pos < len(d) && d[s.pos] >= '1' && d[s.pos] <= '9':
		s.digits()
	default:
		return errSyntax
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if !s.digits() {
			return errSyntax
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if !s.digits() {
			return errSyntax
		}
	}
	return nil
}

func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}
