package awsres

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/internal/corpus"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Statement // nil with present=false: no policy
		err  string
	}{
		{name: "empty is absent", doc: "  "},
		{
			name: "public read by Principal *",
			doc:  `{"Version":"2012-10-17","Statement":[{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
			want: []Statement{{Sid: "Pub", Effect: "Allow", Principals: []string{"*"}, Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::b/*"}, Public: true}},
		},
		{
			name: "AWS * in a list is everyone",
			doc:  `{"Statement":{"Effect":"Allow","Principal":{"AWS":["*","arn:aws:iam::111122223333:root"]},"Action":["s3:GetObject"],"Resource":"*"}}`,
			want: []Statement{{Effect: "Allow", Principals: []string{"*", "AWS:arn:aws:iam::111122223333:root"}, Actions: []string{"s3:GetObject"}, Resources: []string{"*"}, Public: true}},
		},
		{
			name: "a restricting condition makes it not public",
			doc:  `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}`,
			want: []Statement{{Effect: "Allow", Principals: []string{"*"}, Actions: []string{"s3:GetObject"}, Resources: []string{"*"}, ConditionKeys: []string{"aws:sourcevpce"}}},
		},
		{
			name: "a non-restricting condition keeps it public",
			doc:  `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
			want: []Statement{{Effect: "Allow", Principals: []string{"*"}, Actions: []string{"s3:GetObject"}, Resources: []string{"*"}, ConditionKeys: []string{"aws:securetransport"}, Public: true}},
		},
		{
			name: "deny to everyone is not public",
			doc:  `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`,
			want: []Statement{{Effect: "Deny", Principals: []string{"*"}, Actions: []string{"s3:*"}, Resources: []string{"*"}}},
		},
		{
			name: "admin: every action on every resource",
			doc:  `{"Statement":[{"Effect":"Allow","Action":"*:*","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			want: []Statement{
				{Effect: "Allow", Actions: []string{"*:*"}, Resources: []string{"*"}, Admin: true},
				{Effect: "Allow", Actions: []string{"s3:*"}, Resources: []string{"*"}},
			},
		},
		{
			name: "URL-encoded as IAM returns it, with a literal plus",
			doc:  url.PathEscape(`{"Statement":[{"Sid":"a+b","Effect":"Allow","Action":"*","Resource":"*"}]}`),
			want: []Statement{{Sid: "a+b", Effect: "Allow", Actions: []string{"*"}, Resources: []string{"*"}, Admin: true}},
		},
		{
			name: "service principal",
			doc:  `{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"}]}`,
			want: []Statement{{Effect: "Allow", Principals: []string{"Service:cloudtrail.amazonaws.com"}, Actions: []string{"s3:PutObject"}, Resources: []string{"*"}}},
		},
		{name: "not JSON", doc: "invalid-json-policy", err: "policy document: "},
		{name: "principal string other than *", doc: `{"Statement":[{"Effect":"Allow","Principal":"bob"}]}`, err: `policy statement 0: Principal: unexpected principal string "bob"`},
		{name: "action of the wrong type", doc: `{"Statement":[{"Effect":"Allow","Action":3}]}`, err: "policy statements: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(tc.doc)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error = %v, want prefix %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if p.Present || len(p.Statements) != 0 {
					t.Fatalf("policy = %+v, want absent", p)
				}
				return
			}
			if !p.Present || !reflect.DeepEqual(p.Statements, tc.want) {
				t.Fatalf("statements =\n%+v\nwant\n%+v", p.Statements, tc.want)
			}
		})
	}
}

// corpusPolicies returns the policy documents found in the external corpus's
// CloudTrail records (bucket, key, role trust and inline policies).
func corpusPolicies(tb testing.TB) []string {
	tb.Helper()
	path := filepath.Join(corpus.Dir(tb, "aws"), "records-all.jsonl")
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("corpus: %v", err)
	}
	defer f.Close()
	var docs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var line struct {
			Record struct {
				RequestParameters map[string]json.RawMessage `json:"requestParameters"`
			} `json:"record"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatalf("corpus line: %v", err)
		}
		for _, k := range []string{"bucketPolicy", "policyDocument", "assumeRolePolicyDocument", "policy"} {
			raw, ok := line.Record.RequestParameters[k]
			if !ok {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) == nil {
				docs = append(docs, s)
			} else {
				docs = append(docs, string(raw))
			}
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(docs) < 10 {
		tb.Fatalf("only %d policy documents found in the corpus", len(docs))
	}
	return docs
}

// Every policy document in the corpus parses or fails with an error, and a
// parsed one keeps one statement per source statement.
func TestParsePolicyCorpus(t *testing.T) {
	parsed := 0
	for _, doc := range corpusPolicies(t) {
		p, err := ParsePolicy(doc)
		if err != nil {
			continue
		}
		parsed++
		var raw struct {
			Statement json.RawMessage
		}
		if json.Unmarshal([]byte(doc), &raw) == nil && len(raw.Statement) > 0 && raw.Statement[0] == '[' {
			var list []json.RawMessage
			_ = json.Unmarshal(raw.Statement, &list)
			if len(list) != len(p.Statements) {
				t.Errorf("%d statements parsed from %d: %.80s", len(p.Statements), len(list), doc)
			}
		}
	}
	if parsed == 0 {
		t.Fatal("no corpus policy parsed")
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, doc := range corpusPolicies(f) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := ParsePolicy(doc)
		if err != nil {
			return
		}
		for _, s := range p.Statements {
			if s.Public && (!strings.EqualFold(s.Effect, "Allow") || !contains(s.Principals, "*")) {
				t.Fatalf("public statement that does not allow everyone: %+v", s)
			}
			if s.Admin && !strings.EqualFold(s.Effect, "Allow") {
				t.Fatalf("admin statement that does not allow: %+v", s)
			}
		}
		// Parsing is deterministic.
		again, err := ParsePolicy(doc)
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
