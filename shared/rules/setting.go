package rules

import (
	"bytes"
	"encoding/json"
	"strings"
)

// SettingValue reads the value at a dotted json path ("logging.enabled")
// from a JSON document, for a before -> after display. Strings come back
// unquoted, numbers and booleans as written, objects and lists as compact
// JSON; an absent path, a null and malformed JSON give "".
//
// It scans the document without decoding it: an alert shows a handful of
// settings of two documents, and decoding whole documents for that would
// cost more than evaluating the rules.
func SettingValue(doc []byte, path string) string {
	v := lookup(doc, path)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case 'n':
		return ""
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return ""
		}
		return s
	case '{', '[':
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			return ""
		}
		return b.String()
	}
	return string(v)
}

// lookup returns the raw JSON value at path, or nil.
func lookup(doc []byte, path string) []byte {
	i := skipSpace(doc, 0)
	for seg := range strings.SplitSeq(path, ".") {
		if i >= len(doc) || doc[i] != '{' {
			return nil
		}
		i = skipSpace(doc, i+1)
		found := false
		for i < len(doc) && doc[i] != '}' {
			kEnd := skipString(doc, i)
			if kEnd < 0 {
				return nil
			}
			match := keyEquals(doc[i:kEnd], seg)
			i = skipSpace(doc, kEnd)
			if i >= len(doc) || doc[i] != ':' {
				return nil
			}
			i = skipSpace(doc, i+1)
			if match {
				found = true
				break
			}
			if i = skipValue(doc, i); i < 0 {
				return nil
			}
			i = skipSpace(doc, i)
			if i < len(doc) && doc[i] == ',' {
				i = skipSpace(doc, i+1)
			}
		}
		if !found {
			return nil
		}
	}
	end := skipValue(doc, i)
	if end < 0 {
		return nil
	}
	return doc[i:end]
}

// keyEquals compares a quoted JSON key with name, decoding escapes only when
// the key has any.
func keyEquals(quoted []byte, name string) bool {
	raw := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	var k string
	return json.Unmarshal(quoted, &k) == nil && k == name
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1 when
// the document is malformed.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	// A number or a literal: it ends at a delimiter.
	start := i
	for i < len(b) && !isDelim(b[i]) {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
