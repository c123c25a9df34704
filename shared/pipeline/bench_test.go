package pipeline_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsevent"
	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/resource"
	"github.com/driftwatch/driftwatch/shared/rules"
)

// BenchmarkNormalizeEvaluateDiff is the CPU the detector spends on one event
// apart from I/O (fetch, store, Slack): normalize the CloudTrail record,
// evaluate the built-in rules on the resource document, and compare with the
// stored posture as the pipeline's plan does (encode the document, compare
// it and the failing sets with the stored ones). The records are real
// (Stratus Red Team detonations in the corpus):
//
//   - irrelevant: a read-only DescribeSecurityGroups, dropped by the
//     normalizer before anything else runs;
//   - unchanged: AuthorizeSecurityGroupIngress on a group whose document is
//     the stored one (HTTPS open to the world, compliant): no drift;
//   - drifting: the same record on a group that now also opens SSH to the
//     world, against a stored passing evaluation: one rule opens.
func BenchmarkNormalizeEvaluateDiff(b *testing.B) {
	dir := corpusDir(b)
	readOnly := corpusRecord(b, filepath.Join(dir, "records-all.jsonl"), func(r corpusFields) bool {
		return r.EventName == "DescribeSecurityGroups" && string(r.ReadOnly) == "true" && r.ErrorCode == ""
	})
	relevant := targetedRecord(b, filepath.Join(dir, "targeted", "AuthorizeSecurityGroupIngress.json"))

	norm, err := awsevent.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	if rs := norm.Normalize(readOnly); len(rs) != 1 || !isDrop(rs[0].Err, change.ReasonReadOnly) {
		b.Fatalf("the read-only record normalizes to %+v, want a read_only drop", rs)
	}
	specs, err := rules.Load(rules.Builtin("aws"))
	if err != nil {
		b.Fatal(err)
	}
	engine, err := rules.Compile(specs, awsres.Types())
	if err != nil {
		b.Fatal(err)
	}

	// The stored observation: the group as Terraform left it.
	rs := norm.Normalize(relevant)
	if len(rs) != 1 || rs[0].Err != nil || len(rs[0].Change.Resources) == 0 {
		b.Fatalf("relevant record: %+v", rs)
	}
	c := rs[0].Change
	ref := c.Resources[0]
	if ref.Type != awsres.TypeSecurityGroup {
		b.Fatalf("relevant record references %s, want %s", ref.Type, awsres.TypeSecurityGroup)
	}
	ec := rules.EvalContext{Now: c.Time, Account: map[string]string{"id": ref.Account, "name": "payments-prod", "environment": "prod"}}
	compliant := securityGroup(ref, false)
	storedDoc, err := json.Marshal(compliant)
	if err != nil {
		b.Fatal(err)
	}
	stored := engine.Evaluate(resource.Resource{Ref: ref, Exists: true, ObservedAt: c.Time, Tags: compliant.Tags, Doc: compliant}, ec)
	before := posture.Failing(stored)
	if slices.Contains(before, sshRule) {
		b.Fatalf("the stored group already fails %s", sshRule)
	}

	// step is the measured work for one record; it reports what it found so
	// that the setup can check each case does what its name says.
	step := func(tb testing.TB, raw []byte, doc *awsres.SecurityGroup) (dropped bool, d posture.Drift, docChanged bool) {
		res := norm.Normalize(raw)
		if res[0].Err != nil {
			return true, d, false
		}
		for _, r := range res[0].Change.Resources {
			cur := resource.Resource{Ref: r, Exists: true, ObservedAt: res[0].Change.Time, Tags: doc.Tags, Doc: doc}
			evals := engine.Evaluate(cur, ec)
			enc, err := json.Marshal(cur.Doc)
			if err != nil {
				tb.Fatal(err)
			}
			docChanged = !bytes.Equal(enc, storedDoc)
			d = posture.Diff(before, posture.Failing(evals))
		}
		return false, d, docChanged
	}

	cases := []struct {
		name        string
		raw         []byte
		doc         *awsres.SecurityGroup
		wantDropped bool
		wantOpened  []string
	}{
		{"irrelevant", readOnly, compliant, true, nil},
		{"unchanged", relevant, compliant, false, nil},
		{"drifting", relevant, securityGroup(ref, true), false, []string{sshRule}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			dropped, d, docChanged := step(b, bc.raw, bc.doc)
			if dropped != bc.wantDropped {
				b.Fatalf("dropped = %v, want %v", dropped, bc.wantDropped)
			}
			if !bc.wantDropped && (!slices.Equal(d.Opened, bc.wantOpened) || len(d.Resolved) > 0 || docChanged != (bc.doc != compliant)) {
				b.Fatalf("drift = %+v, document changed %v; want opened %v", d, docChanged, bc.wantOpened)
			}
			b.SetBytes(int64(len(bc.raw)))
			b.ReportAllocs()
			for b.Loop() {
				step(b, bc.raw, bc.doc)
			}
		})
	}
}

const sshRule = "aws_ec2_sg_no_public_ingress_tcp_22"

func isDrop(err error, want change.DropReason) bool {
	got, ok := change.DropReasonOf(err)
	return ok && got == want
}

// securityGroup is the document a fetcher returns for ref: a web tier group
// with HTTPS open to the world, and SSH too when ssh is set.
func securityGroup(ref change.ResourceRef, ssh bool) *awsres.SecurityGroup {
	sg := &awsres.SecurityGroup{
		ID: ref.Name, ARN: ref.ID, Name: "payments-web", Description: "payments web tier", VPCID: "vpc-0a1b2c3d4e5f60718",
		Ingress: []awsres.SGRule{{RuleID: "sgr-0443", Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0", Description: "public HTTPS", Public: true}},
		Egress:  []awsres.SGRule{{RuleID: "sgr-0eg1", Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0", Public: true}},
		Tags:    map[string]string{"team": "payments", "env": "prod"},
	}
	if ssh {
		sg.Ingress = append(sg.Ingress, awsres.SGRule{RuleID: "sgr-0022", Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Description: "temp debug", Public: true})
	}
	return sg
}

// corpusDir is the AWS part of the external corpus.
func corpusDir(tb testing.TB) string { return corpus.Dir(tb, "aws") }

// corpusFields are the record fields used to pick a record from the corpus.
type corpusFields struct {
	EventName string `json:"eventName"`
	// ReadOnly is raw: a few corpus records carry it as a string.
	ReadOnly  json.RawMessage `json:"readOnly"`
	ErrorCode string          `json:"errorCode"`
}

// corpusRecord returns the first record of a JSON-lines corpus file that
// matches pick.
func corpusRecord(tb testing.TB, path string, pick func(corpusFields) bool) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var line struct {
			Record json.RawMessage `json:"record"`
		}
		var fields corpusFields
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if line.Record == nil {
			continue
		}
		if err := json.Unmarshal(line.Record, &fields); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if pick(fields) {
			return line.Record
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	tb.Fatalf("%s: no record matches", path)
	return nil
}

// targetedRecord returns the first record of a targeted corpus file (a JSON
// array of {meta, record}).
func targetedRecord(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var entries []struct {
		Record json.RawMessage `json:"record"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(entries) == 0 || entries[0].Record == nil {
		tb.Fatalf("%s: no record", path)
	}
	return entries[0].Record
}
