package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const settingDoc = `{
  "name": "acme-invoices",
  "public_access_block": {"configured": true, "block_public_acls": true, "ignore_public_acls": false},
  "acl_grants": [ {"grantee": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "READ", "public": true} ],
  "policy": {"present": false, "statements": null},
  "versioning_status": "Suspended",
  "logging": {"enabled": false, "target_bucket": "", "target_prefix": ""},
  "backup_retention_period": 7,
  "ratio": -1.5e3,
  "esc\"aped": "q\"uote \u00e9",
  "nested": {"a": {"b": {"c": [1, {"d": "}"}]}}},
  "empty_list": [],
  "tags": {"team": "billing"}
}`

func TestSettingValue(t *testing.T) {
	tests := []struct {
		doc, path, want string
	}{
		{settingDoc, "name", "acme-invoices"},
		{settingDoc, "versioning_status", "Suspended"},
		{settingDoc, "logging.enabled", "false"},
		{settingDoc, "public_access_block.block_public_acls", "true"},
		{settingDoc, "public_access_block", `{"configured":true,"block_public_acls":true,"ignore_public_acls":false}`},
		{settingDoc, "acl_grants", `[{"grantee":"http://acs.amazonaws.com/groups/global/AllUsers","permission":"READ","public":true}]`},
		{settingDoc, "policy.statements", ""},
		{settingDoc, "backup_retention_period", "7"},
		{settingDoc, "ratio", "-1.5e3"},
		{settingDoc, `esc"aped`, `q"uote é`},
		{settingDoc, "nested.a.b", `{"c":[1,{"d":"}"}]}`},
		{settingDoc, "empty_list", "[]"},
		{settingDoc, "tags.team", "billing"},
		{settingDoc, "logging.missing", ""},
		{settingDoc, "missing", ""},
		{settingDoc, "name.deeper", ""},
		{settingDoc, "acl_grants.public", ""},
		{``, "name", ""},
		{`null`, "name", ""},
		{`[1,2]`, "name", ""},
		{`{"name": "x"`, "name", "x"},
		{`{"name": `, "name", ""},
		{`{"a": {"b": [1, 2}`, "a", ""},
		{`{"a" 1}`, "a", ""},
		{`{"a": "unterminated}`, "a", ""},
	}
	for _, tt := range tests {
		if got := SettingValue([]byte(tt.doc), tt.path); got != tt.want {
			t.Errorf("SettingValue(%.30q, %q) = %q, want %q", tt.doc, tt.path, got, tt.want)
		}
	}
}

// TestSettingValueFixtures reads every setting of every built-in rule from
// the fixtures and compares with a full decode, so that the scanner agrees
// with encoding/json on the documents driftwatch really stores.
func TestSettingValueFixtures(t *testing.T) {
	e := builtinEngine(t)
	n := 0
	for _, r := range e.Rules() {
		files, err := filepath.Glob(filepath.Join(fixtureDir, r.ID, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			f, res := loadFixture(t, file, r.ResourceType)
			if !f.Exists {
				continue
			}
			doc, err := json.MarshalIndent(res.Doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Settings {
				got := SettingValue(doc, p)
				if want, ok := referenceSetting(doc, p); !ok || !sameSetting(got, want) {
					t.Errorf("%s %s: SettingValue = %q, decoding gives %q", file, p, got, want)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no settings compared")
	}
}

// referenceSetting is the slow, obviously right version of SettingValue.
func referenceSetting(doc []byte, path string) (string, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	for seg := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", true
		}
		if v, ok = m[seg]; !ok {
			return "", true
		}
	}
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	b, err := json.Marshal(v)
	return string(b), err == nil
}

// sameSetting compares two renderings: exactly for scalars, as JSON values
// for objects and lists (key order and number spelling may differ).
func sameSetting(a, b string) bool {
	if a == b {
		return true
	}
	if !strings.HasPrefix(a, "{") && !strings.HasPrefix(a, "[") {
		fa, ea := strconv.ParseFloat(a, 64)
		fb, eb := strconv.ParseFloat(b, 64)
		return ea == nil && eb == nil && fa == fb
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// hasDuplicateKeys reports whether any object in a valid JSON document
// repeats a key: encoding/json keeps the last, SettingValue the first, and
// driftwatch never writes such documents.
func hasDuplicateKeys(doc []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k := tok.(string)
				if top.keys[k] {
					return true
				}
				top.keys[k] = true
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object the next token is a key again.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].key = true
		}
	}
}

func FuzzSettingValue(f *testing.F) {
	f.Add([]byte(settingDoc), "nested.a.b")
	f.Add([]byte(settingDoc), "acl_grants")
	f.Add([]byte(`{"a":{"b":"c"}}`), "a.b")
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*", "*.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data, "resource")
			f.Add(data, "resource.ingress")
			f.Add(data, "account.name")
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		got := SettingValue(doc, path)
		if !json.Valid(doc) || hasDuplicateKeys(doc) {
			return
		}
		want, ok := referenceSetting(doc, path)
		if ok && !sameSetting(got, want) {
			t.Errorf("SettingValue(%q, %q) = %q, decoding gives %q", doc, path, got, want)
		}
	})
}
