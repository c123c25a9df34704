package awsevent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// oracleProbe is what readProbe must agree with: the same fields decoded
// by encoding/json.
type oracleProbe struct {
	Records     *[]json.RawMessage `json:"Records"`
	DetailType  *string            `json:"detail-type"`
	Account     oracleLoose        `json:"account"`
	Time        oracleLoose        `json:"time"`
	Detail      json.RawMessage    `json:"detail"`
	EventID     string             `json:"eventID"`
	EventSource string             `json:"eventSource"`
	EventName   string             `json:"eventName"`
	EventType   string             `json:"eventType"`
	ErrorCode   string             `json:"errorCode"`
	ReadOnly    flexBool           `json:"readOnly"`
}

// oracleLoose keeps strings and number literals, and empties anything else.
type oracleLoose string

func (s *oracleLoose) UnmarshalJSON(data []byte) error {
	switch {
	case data[0] == '"':
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		*s = oracleLoose(v)
	case data[0] == '-' || (data[0] >= '0' && data[0] <= '9'):
		*s = oracleLoose(data)
	default:
		*s = ""
	}
	return nil
}

// compareProbe reports how readProbe and encoding/json disagree on data.
func compareProbe(data []byte) error {
	got, gotErr := readProbe(data)
	var want oracleProbe
	wantErr := json.Unmarshal(data, &want)
	if (gotErr != nil) != (wantErr != nil) {
		return fmt.Errorf("readProbe error %v, encoding/json error %v", gotErr, wantErr)
	}
	if gotErr != nil {
		return nil
	}
	exp := probe{
		hasRecords:    want.Records != nil,
		hasDetailType: want.DetailType != nil,
		account:       string(want.Account),
		time:          string(want.Time),
		detail:        want.Detail,
		eventID:       want.EventID,
		eventSource:   want.EventSource,
		eventName:     want.EventName,
		eventType:     want.EventType,
		errorCode:     want.ErrorCode,
		readOnly:      bool(want.ReadOnly),
	}
	if want.DetailType != nil {
		exp.detailType = *want.DetailType
	}
	if want.Records != nil {
		exp.records = [][]byte{}
		for _, r := range *want.Records {
			exp.records = append(exp.records, r)
		}
	}
	// encoding/json copies raw values; compare their bytes.
	if len(got.detail) == 0 {
		got.detail = nil
	}
	if len(exp.detail) == 0 {
		exp.detail = nil
	}
	if !reflect.DeepEqual(got, exp) {
		return fmt.Errorf("readProbe\n got %+v\nwant %+v", summarize(got), summarize(exp))
	}
	return nil
}

func summarize(p probe) string {
	return fmt.Sprintf("records=%v(%d) detailType=%v:%q account=%q time=%q detail=%.40q id=%q src=%q name=%q type=%q err=%q ro=%v",
		p.hasRecords, len(p.records), p.hasDetailType, p.detailType, p.account, p.time, p.detail,
		p.eventID, p.eventSource, p.eventName, p.eventType, p.errorCode, p.readOnly)
}

func TestReadProbeAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range corpusInputs(t) {
		if err := compareProbe(in.raw); err != nil {
			t.Errorf("%s: %v", in.name, err)
		}
	}
	cases := []string{
		``, ` `, `null`, ` null `, `true`, `-0.5e+3`, `"x"`, `[]`, `[1,]`, `{}`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`,
		`{"a":1}x`, `{"a":"\u00e9\n"}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a":tru}`, `{"a":1.}`, `{"a":1e}`,
		`{"eventName":"A","eventName":"B"}`, `{"eventName":"A","eventName":null}`, `{"EVENTNAME":"A"}`,
		`{"eventname":"A","eventName":"B","EventName":"C"}`, `{"event\u004eame":"A"}`, `{"eventſource":"s"}`,
		`{"eventName":1}`, `{"eventName":{"a":1}}`, `{"readOnly":"TRUE"}`, `{"readOnly":"yes"}`, `{"readOnly":null}`,
		`{"readOnly":[true]}`, `{"readOnly":true,"readOnly":false}`, `{"account":123456789012,"time":[1]}`,
		`{"account":"1","account":null}`, `{"detail-type":null}`, `{"detail-type":"x","detail-type":null}`,
		`{"detail-type":1}`, `{"detail":null}`, `{"detail":{"a":[1,2]}}`, `{"Records":null}`, `{"Records":[]}`,
		`{"Records":[ {"a":1} , 2 ,"x",null ]}`, `{"Records":{}}`, `{"records":[1]}`, `{"eventName":"caf` + "\xff" + `"}`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
	}
	for _, c := range cases {
		if err := compareProbe([]byte(c)); err != nil {
			t.Errorf("%.60q: %v", c, err)
		}
	}
}

// FuzzReadProbe holds the hand-written probe to encoding/json's verdicts.
func FuzzReadProbe(f *testing.F) {
	dir := corpusDir(f)
	for _, file := range []string{"records-all.jsonl", "eventbridge-real.jsonl", "eventbridge-derived.jsonl"} {
		ins := jsonlInputs(f, dir, file)
		for i := 0; i < len(ins); i += max(1, len(ins)/6) {
			f.Add(ins[i].raw)
		}
	}
	for _, s := range []string{`{"Records":[{"eventName":"x"}]}`, `{"eventname":"A","EventName":null}`, `{"readOnly":"True"}`, `[1,{"a":"\u0041"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := compareProbe(data); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSpecial8(t *testing.T) {
	for b := range 256 {
		want := b == '"' || b == '\\' || b < 0x20
		for pos := range 8 {
			for _, fill := range []byte{'a', 0xff, ' '} {
				w := bytes.Repeat([]byte{fill}, 8)
				w[pos] = byte(b)
				if got := special8(binary.LittleEndian.Uint64(w)); got != want {
					t.Fatalf("special8(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
}
