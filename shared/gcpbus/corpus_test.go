package gcpbus_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpbus"
	"github.com/driftwatch/driftwatch/shared/internal/corpus"
)

// Real push bodies (the google-cloudevents samples, and the corpus's push
// envelopes around captured audit entries) parse: their id, publish time,
// attributes and ordering key come out. None is a remediation request, so
// each is refused as poison, never redelivered.
func TestPushCorpus(t *testing.T) {
	dir := corpus.Dir(t, "gcp")
	files, err := filepath.Glob(filepath.Join(dir, "pubsub-and-eventarc-real", "*MessagePublishedData*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bodies []struct {
		name string
		body []byte
	}
	for _, f := range files {
		b := corpus.ReadFile(t, f)
		// Structured CloudEvents carry the push body as their data.
		var ce struct {
			SpecVersion string          `json:"specversion"`
			Data        json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &ce) == nil && ce.SpecVersion != "" {
			b = ce.Data
		}
		bodies = append(bodies, struct {
			name string
			body []byte
		}{filepath.Base(f), b})
	}
	for i, line := range corpus.Lines(t, filepath.Join(dir, "pubsub-push-derived.jsonl")) {
		if i == 20 {
			break
		}
		bodies = append(bodies, struct {
			name string
			body []byte
		}{"pubsub-push-derived.jsonl#" + strconv.Itoa(i), line["push"]})
	}
	if len(bodies) < 5 {
		t.Fatalf("only %d push bodies in the corpus", len(bodies))
	}
	checked := 0
	for _, b := range bodies {
		m, err := gcpbus.ParsePush(b.body)
		if err != nil {
			t.Errorf("%s: %v", b.name, err)
			continue
		}
		if m.ID == "" && !strings.HasPrefix(b.name, "pubsub-push-derived") {
			t.Errorf("%s: no message id", b.name)
		}
		if strings.Contains(b.name, "duplicatedFields") {
			want := time.Date(2021, 2, 5, 4, 6, 14, 109e6, time.UTC)
			checked++
			if m.ID != "message-id" || !m.PublishTime.Equal(want) || string(m.Data) != "\x01\x02\x03\x04" {
				t.Errorf("%s: parsed %+v", b.name, m)
			}
		}
		if strings.Contains(b.name, "complex") {
			checked++
		}
		if strings.Contains(b.name, "complex") && (m.OrderingKey != "ordering-key" || m.Attributes["attr1"] != "attr1-value" || string(m.Data) != "test message 3") {
			t.Errorf("%s: parsed %+v", b.name, m)
		}
		if _, err := gcpbus.DecodePush(b.body); !errors.Is(err, gcpbus.ErrPoison) {
			t.Errorf("%s: DecodePush error = %v, want ErrPoison", b.name, err)
		}
	}
	if checked != 2 {
		t.Errorf("%d of the two samples checked field by field were found", checked)
	}
}
