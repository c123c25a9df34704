package awsevent

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
)

func TestEventPatternFile(t *testing.T) {
	patterns, err := EventPatterns(Table())
	if err != nil {
		t.Fatal(err)
	}
	got, err := MarshalPatterns(patterns)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := EventPatterns(Table())
	if b, _ := MarshalPatterns(again); string(b) != string(got) {
		t.Fatal("EventPatterns is not deterministic")
	}
	checkGolden(t, repoFile("infra", "aws", "eventbridge-pattern.json"), got)
}

func TestEventPatternsCoverTheTable(t *testing.T) {
	patterns, err := EventPatterns(Table())
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range patterns {
		b, _ := json.Marshal(p)
		if len(b) > MaxPatternSize {
			t.Errorf("pattern %d is %d characters", i, len(b))
		}
		if !slices.IsSorted(p.Detail.EventName) || !slices.IsSorted(p.Detail.EventSource) {
			t.Errorf("pattern %d is not sorted", i)
		}
	}
	for _, m := range Table() {
		if !slices.ContainsFunc(patterns, func(p EventPattern) bool { return matches(p, m.Source, m.Operation) }) {
			t.Errorf("no pattern delivers %s %s", m.Source, m.Operation)
		}
	}
	for _, other := range []struct{ source, op string }{
		{"s3.amazonaws.com", "GetObject"}, {"ec2.amazonaws.com", "RunInstances"}, {"sts.amazonaws.com", "AssumeRole"},
	} {
		if slices.ContainsFunc(patterns, func(p EventPattern) bool { return matches(p, other.source, other.op) }) {
			t.Errorf("a pattern delivers %s %s, which no rule needs", other.source, other.op)
		}
	}
}

// TestEventPatternsDeliverTheCorpus replays every corpus envelope whose
// record normalizes to a Change through the patterns, as EventBridge
// would.
func TestEventPatternsDeliverTheCorpus(t *testing.T) {
	patterns, err := EventPatterns(Table())
	if err != nil {
		t.Fatal(err)
	}
	n := newNormalizer(t)
	delivered := 0
	for _, in := range jsonlInputs(t, corpusDir(t), "eventbridge-derived.jsonl") {
		var ev struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
			Detail     struct {
				EventSource string `json:"eventSource"`
				EventName   string `json:"eventName"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(in.raw, &ev); err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		rs := n.Normalize(in.raw)
		if len(rs) != 1 || rs[0].Err != nil {
			continue
		}
		ok := slices.ContainsFunc(patterns, func(p EventPattern) bool {
			return slices.Contains(p.Source, ev.Source) && slices.Contains(p.DetailType, ev.DetailType) &&
				matches(p, ev.Detail.EventSource, ev.Detail.EventName)
		})
		if !ok {
			t.Errorf("%s: %s %s %s normalizes to a change but no pattern delivers it", in.name, ev.Source, ev.Detail.EventSource, ev.Detail.EventName)
		}
		delivered++
	}
	if delivered == 0 {
		t.Fatal("no derived envelope normalized to a change")
	}
}

func matches(p EventPattern, source, op string) bool {
	return slices.Contains(p.Detail.EventSource, source) && slices.Contains(p.Detail.EventName, op) &&
		slices.Contains(p.Source, "aws."+strings.TrimSuffix(source, ".amazonaws.com"))
}

func TestEventPatternsSplitWhenTooBig(t *testing.T) {
	bucket := []RefSpec{{Type: awsres.TypeS3Bucket, Paths: []string{"requestParameters.bucketName"}}}
	var table []Mapping
	for i := range 60 {
		table = append(table,
			Mapping{Source: "s3.amazonaws.com", Operation: fmt.Sprintf("PutBucketSetting%02d", i), Refs: bucket},
			Mapping{Source: "ec2.amazonaws.com", Operation: fmt.Sprintf("ModifyAccountSetting%02d", i), Refs: bucket})
	}
	patterns, err := EventPatterns(table)
	if err != nil {
		t.Fatal(err)
	}
	if len(patterns) != 2 || patterns[0].Source[0] != "aws.ec2" || patterns[1].Source[0] != "aws.s3" {
		t.Fatalf("want one pattern per source, ec2 then s3; got %+v", patterns)
	}
	if len(patterns[0].Detail.EventName) != 60 || patterns[0].Detail.EventSource[0] != "ec2.amazonaws.com" {
		t.Errorf("ec2 pattern: %+v", patterns[0].Detail)
	}

	for i := range 120 {
		table = append(table, Mapping{Source: "s3.amazonaws.com", Operation: fmt.Sprintf("PutBucketVeryLongSettingName%03d", i), Refs: bucket})
	}
	if _, err := EventPatterns(table); err == nil || !strings.Contains(err.Error(), "event pattern for s3.amazonaws.com is") {
		t.Errorf("an oversized per-source pattern: got %v", err)
	}
	if _, err := EventPatterns(nil); err == nil {
		t.Error("an empty table yields no error")
	}
}
