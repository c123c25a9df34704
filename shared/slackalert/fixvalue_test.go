package slackalert

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/alert"
)

func validRef() alert.FixRef {
	return alert.FixRef{
		Cloud: "aws", Account: "111122223333", ResourceID: "arn:aws:s3:::payments-exports-prod",
		RuleID: "aws_s3_bucket_acl_no_public_grants", FirstSeen: 1741921121000000000,
	}
}

func TestEncodeFixValue(t *testing.T) {
	ref := validRef()
	const want = `{"c":"aws","a":"111122223333","k":"arn:aws:s3:::payments-exports-prod","r":"aws_s3_bucket_acl_no_public_grants","f":1741921121000000000}`
	if got := EncodeFixValue(ref); got != want {
		t.Fatalf("EncodeFixValue = %s, want %s", got, want)
	}

	tests := []struct {
		name string
		edit func(*alert.FixRef)
		ok   bool
	}{
		{"valid", func(*alert.FixRef) {}, true},
		{"azure id with angle brackets kept exact", func(r *alert.FixRef) {
			r.Cloud, r.ResourceID = "azure", "/subscriptions/x/resourceGroups/<b>&c/providers/Microsoft.Storage/storageAccounts/sa"
		}, true},
		{"multibyte resource id", func(r *alert.FixRef) { r.ResourceID = "projects/p/buckets/données-é漢" }, true},
		{"resource id at the limit", func(r *alert.FixRef) { r.ResourceID = strings.Repeat("k", 1850) }, true},
		{"resource id over the limit", func(r *alert.FixRef) { r.ResourceID = strings.Repeat("k", 1900) }, false},
		{"unknown cloud", func(r *alert.FixRef) { r.Cloud = "oci" }, false},
		{"empty account", func(r *alert.FixRef) { r.Account = "" }, false},
		{"account with hash", func(r *alert.FixRef) { r.Account = "1111#2222" }, false},
		{"rule id with capital", func(r *alert.FixRef) { r.RuleID = "Aws_rule" }, false},
		{"zero first seen", func(r *alert.FixRef) { r.FirstSeen = 0 }, false},
		{"control character", func(r *alert.FixRef) { r.ResourceID = "a\x00b" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRef()
			tt.edit(&r)
			v := EncodeFixValue(r)
			if (v != "") != tt.ok {
				t.Fatalf("EncodeFixValue = %q, want ok=%v", v, tt.ok)
			}
			if !tt.ok {
				return
			}
			if n := runeLen(v); n > MaxFixValue {
				t.Errorf("value has %d characters", n)
			}
			back, err := DecodeFixValue(v)
			if err != nil {
				t.Fatalf("DecodeFixValue(EncodeFixValue) = %v", err)
			}
			if back != r {
				t.Errorf("round trip = %+v, want %+v", back, r)
			}
		})
	}
}

func TestDecodeFixValueRejects(t *testing.T) {
	good := EncodeFixValue(validRef())
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", ``, "invalid driftwatch button value: empty"},
		{"too long", `{"c":"` + strings.Repeat("a", 2000) + `"}`, "invalid driftwatch button value: longer than 2000 characters"},
		{"not utf-8", "{\"c\":\"\xff\"}", "invalid driftwatch button value: not UTF-8"},
		{"array", `["aws"]`, "invalid driftwatch button value: not a JSON object"},
		{"string", `"x"`, "invalid driftwatch button value: not a JSON object"},
		{"garbage", `click_me_123`, "invalid driftwatch button value: not a JSON object"},
		{"unknown key", `{"c":"aws","x":"1"}`, `invalid driftwatch button value: unknown key "x"`},
		{"key case differs", `{"C":"aws","a":"1","k":"k","r":"r","f":1}`, `invalid driftwatch button value: unknown key "C"`},
		{"duplicate key", `{"c":"aws","c":"gcp","a":"1","k":"k","r":"r","f":1}`, `invalid driftwatch button value: duplicate key "c"`},
		{"number as string", `{"c":"aws","a":"1","k":"k","r":"r","f":"1"}`, `invalid driftwatch button value: key "f" is not a number`},
		{"float", `{"c":"aws","a":"1","k":"k","r":"r","f":1.5}`, `invalid driftwatch button value: key "f" is not an integer`},
		{"exponent", `{"c":"aws","a":"1","k":"k","r":"r","f":1e18}`, `invalid driftwatch button value: key "f" is not an integer`},
		{"overflow", `{"c":"aws","a":"1","k":"k","r":"r","f":99999999999999999999}`, `invalid driftwatch button value: key "f" is not an integer`},
		{"string as number", `{"c":1}`, `invalid driftwatch button value: key "c" is not a string`},
		{"nested object", `{"c":{"x":1}}`, `invalid driftwatch button value: key "c" is not a string`},
		{"null", `{"c":null}`, `invalid driftwatch button value: key "c" is not a string`},
		{"missing key", `{"c":"aws","a":"1","k":"k","r":"r"}`, `invalid driftwatch button value: missing key "f"`},
		{"trailing data", good + `{}`, "invalid driftwatch button value: data after the object"},
		{"trailing garbage", good + `x`, "invalid driftwatch button value: data after the object"},
		{"unterminated", strings.TrimSuffix(good, "}"), "invalid driftwatch button value: unterminated object"},
		{"unknown cloud", `{"c":"oci","a":"1","k":"k","r":"r","f":1}`, `invalid driftwatch button value: unknown cloud "oci"`},
		{"empty account", `{"c":"aws","a":"","k":"k","r":"r","f":1}`, "invalid driftwatch button value: empty account"},
		{"account with space", `{"c":"aws","a":"1 2","k":"k","r":"r","f":1}`, "invalid driftwatch button value: invalid account"},
		{"empty resource", `{"c":"aws","a":"1","k":"","r":"r","f":1}`, "invalid driftwatch button value: empty resource id"},
		{"resource with newline", `{"c":"aws","a":"1","k":"a\nb","r":"r","f":1}`, "invalid driftwatch button value: resource id has control characters"},
		{"rule id with dash", `{"c":"aws","a":"1","k":"k","r":"a-b","f":1}`, "invalid driftwatch button value: invalid rule id"},
		{"line separators that re-encode too long", `{"c":"aws","a":"1","k":"` + strings.Repeat("\u2028", 400) + `","r":"r","f":1}`,
			"invalid driftwatch button value: longer than 2000 characters once encoded"},
		{"negative first seen", `{"c":"aws","a":"1","k":"k","r":"r","f":-1}`, "invalid driftwatch button value: first-seen time is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := DecodeFixValue(tt.in)
			if err == nil {
				t.Fatalf("DecodeFixValue(%.60q) = %+v, want error", tt.in, ref)
			}
			if !errors.Is(err, ErrInvalidFixValue) {
				t.Errorf("error %v does not wrap ErrInvalidFixValue", err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q\nwant    %q", err, tt.wantErr)
			}
			if ref != (alert.FixRef{}) {
				t.Errorf("returned a partial ref %+v with the error", ref)
			}
		})
	}
}

func TestDecodeFixValueAcceptsWhitespace(t *testing.T) {
	in := " {\n \"f\" : 1741921121000000000, \"r\":\"aws_s3_bucket_acl_no_public_grants\", \"k\":\"arn:aws:s3:::payments-exports-prod\", \"a\":\"111122223333\", \"c\":\"aws\" }\n"
	ref, err := DecodeFixValue(in)
	if err != nil {
		t.Fatal(err)
	}
	if ref != validRef() {
		t.Errorf("ref = %+v", ref)
	}
}

// FuzzDecodeFixValue: decoding never panics, and whatever it accepts
// encodes back to a value that decodes to the same reference.
func FuzzDecodeFixValue(f *testing.F) {
	f.Add(EncodeFixValue(validRef()))
	f.Add(`{"c":"gcp","a":"my-project","k":"//storage.googleapis.com/projects/_/buckets/b","r":"gcp_rule","f":1}`)
	f.Add(`{"c":"aws","c":"aws"}`)
	f.Add(`{"f":1e3}`)
	f.Add(`[{}]`)
	// The values on the buttons of every golden message.
	goldens, _ := filepath.Glob(filepath.Join(testdata, "fix_*.alert.json"))
	for _, p := range goldens {
		a := loadAlert(f, strings.TrimSuffix(filepath.Base(p), ".alert.json"))
		for _, x := range append(a.Failing, a.Resolved...) {
			if x.Fix != nil {
				f.Add(EncodeFixValue(x.Fix.Ref))
			}
		}
	}
	if _, err := os.Stat(testdata); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := DecodeFixValue(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidFixValue) {
				t.Fatalf("error %v does not wrap ErrInvalidFixValue", err)
			}
			return
		}
		v := EncodeFixValue(ref)
		if v == "" {
			t.Fatalf("accepted %q but cannot encode %+v", s, ref)
		}
		back, err := DecodeFixValue(v)
		if err != nil || back != ref {
			t.Fatalf("re-encoded %q decodes to %+v, %v; want %+v", v, back, err, ref)
		}
	})
}
