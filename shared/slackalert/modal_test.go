package slackalert

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// submitted returns the view Slack sends back in a view_submission for
// the modal m, with the given reason and expiry entered (nil leaves the
// field out of the state, as Slack does for an untouched optional
// input). It goes through JSON the way the real payload does.
func submitted(t testing.TB, m slack.ModalViewRequest, reason, expiry *string) slack.View {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	values := map[string]any{}
	if reason != nil {
		values[AcceptRiskReasonBlockID] = map[string]any{
			AcceptRiskReasonActionID: map[string]any{"type": "plain_text_input", "value": *reason},
		}
	}
	if expiry != nil {
		values[AcceptRiskExpiryBlockID] = map[string]any{
			AcceptRiskExpiryActionID: map[string]any{"type": "static_select", "selected_option": map[string]any{
				"text": map[string]any{"type": "plain_text", "text": *expiry + " days", "emoji": true}, "value": *expiry,
			}},
		}
	}
	v["id"], v["team_id"], v["hash"] = "V0123ABCDEF", "T0DRIFT", "1712345678.abcdEFGH"
	v["state"] = map[string]any{"values": values}
	raw, err = json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var view slack.View
	if err := json.Unmarshal(raw, &view); err != nil {
		t.Fatalf("slack-go cannot decode the submitted view: %v", err)
	}
	return view
}

func ptr(s string) *string { return &s }

func TestAcceptRiskModalGolden(t *testing.T) {
	m := AcceptRiskModal(validRef(), "S3 bucket ACL grants access to <everyone>", 30, "C0DRIFT", "1700000000.000100")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	got := unescapeHTML(buf.Bytes())
	path := filepath.Join(testdata, "accept_risk_modal.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update and review):\n%s", path, firstDiff(string(want), string(got)))
	}

	// Slack's limits on a modal.
	if n := utf8.RuneCountInString(m.Title.Text); n > 24 {
		t.Errorf("title has %d characters, want ≤ 24", n)
	}
	if n := utf8.RuneCountInString(m.PrivateMetadata); n == 0 || n > 3000 {
		t.Errorf("private_metadata has %d characters, want 1..3000", n)
	}
	if m.CallbackID != AcceptRiskCallbackID || len(m.Blocks.BlockSet) != 3 {
		t.Errorf("callback_id %q, %d blocks", m.CallbackID, len(m.Blocks.BlockSet))
	}
	intro := m.Blocks.BlockSet[0].(*slack.SectionBlock).Text.Text
	checkInert(t, "modal intro", intro, true)
	if !strings.Contains(intro, "*S3 bucket ACL grants access to &lt;everyone&gt;*") {
		t.Errorf("intro does not escape the title: %q", intro)
	}
}

func TestAcceptRiskModalExpiryChoices(t *testing.T) {
	tests := []struct {
		maxDays int
		want    []string
	}{
		{0, []string{"7", "30", "90"}},
		{-1, []string{"7", "30", "90"}},
		{90, []string{"7", "30", "90"}},
		{365, []string{"7", "30", "90"}},
		{60, []string{"7", "30"}},
		{30, []string{"7", "30"}},
		{7, []string{"7"}},
		{3, []string{"3"}},
		{1, []string{"1"}},
	}
	for _, tt := range tests {
		m := AcceptRiskModal(validRef(), "t", tt.maxDays, "C0DRIFT", "1700000000.000100")
		sel := m.Blocks.BlockSet[2].(*slack.InputBlock).Element.(*slack.SelectBlockElement)
		var got []string
		for _, o := range sel.Options {
			got = append(got, o.Value)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("maxDays %d: options %v, want %v", tt.maxDays, got, tt.want)
		}
		// Every offered value parses.
		for _, v := range got {
			if _, err := ParseAcceptRisk(submitted(t, m, ptr("ok"), ptr(v))); err != nil {
				t.Errorf("maxDays %d: offered %s does not parse: %v", tt.maxDays, v, err)
			}
		}
	}
}

func TestParseAcceptRisk(t *testing.T) {
	m := AcceptRiskModal(validRef(), "S3 bucket ACL grants access to everyone", 90, "C0DRIFT", "1700000000.000100")
	got, err := ParseAcceptRisk(submitted(t, m, ptr("  Public dataset by design (DATA-12); owner: data team.\nReviewed monthly.  "), ptr("30")))
	if err != nil {
		t.Fatal(err)
	}
	want := AcceptRisk{
		Ref: validRef(), Reason: "Public dataset by design (DATA-12); owner: data team.\nReviewed monthly.",
		Days: 30, Channel: "C0DRIFT", TS: "1700000000.000100",
	}
	if got != want {
		t.Errorf("ParseAcceptRisk = %+v\nwant %+v", got, want)
	}
	// The longest reason passes.
	if _, err := ParseAcceptRisk(submitted(t, m, ptr(strings.Repeat("é", MaxAcceptReason)), ptr("7"))); err != nil {
		t.Errorf("reason of %d characters: %v", MaxAcceptReason, err)
	}
}

func TestParseAcceptRiskFieldErrors(t *testing.T) {
	m := AcceptRiskModal(validRef(), "t", 90, "C0DRIFT", "1700000000.000100")
	R, E := AcceptRiskReasonBlockID, AcceptRiskExpiryBlockID
	tests := []struct {
		name           string
		reason, expiry *string
		want           FieldErrors
	}{
		{"nothing entered", nil, nil, FieldErrors{R: MsgReasonRequired, E: MsgExpiryRequired}},
		{"blank reason", ptr(" \n\t "), ptr("7"), FieldErrors{R: MsgReasonRequired}},
		{"reason too long", ptr(strings.Repeat("x", MaxAcceptReason+1)), ptr("7"), FieldErrors{R: MsgReasonTooLong}},
		{"reason with NUL", ptr("a\x00b"), ptr("7"), FieldErrors{R: MsgReasonInvalid}},
		{"reason with escape", ptr("a\x1b[31mb"), ptr("7"), FieldErrors{R: MsgReasonInvalid}},
		{"reason with C1 control", ptr("a\u009bb"), ptr("7"), FieldErrors{R: MsgReasonInvalid}},
		{"no expiry", ptr("ok"), nil, FieldErrors{E: MsgExpiryRequired}},
		{"empty expiry", ptr("ok"), ptr(""), FieldErrors{E: MsgExpiryRequired}},
		{"a year", ptr("ok"), ptr("365"), FieldErrors{E: MsgExpiryInvalid}},
		{"zero", ptr("ok"), ptr("0"), FieldErrors{E: MsgExpiryInvalid}},
		{"negative", ptr("ok"), ptr("-7"), FieldErrors{E: MsgExpiryInvalid}},
		{"leading zero", ptr("ok"), ptr("07"), FieldErrors{E: MsgExpiryInvalid}},
		{"plus sign", ptr("ok"), ptr("+7"), FieldErrors{E: MsgExpiryInvalid}},
		{"words", ptr("ok"), ptr("forever"), FieldErrors{E: MsgExpiryInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAcceptRisk(submitted(t, m, tt.reason, tt.expiry))
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("ParseAcceptRisk = %+v, %v; want field errors", got, err)
			}
			if !maps.Equal(fe, tt.want) {
				t.Errorf("field errors = %v, want %v", fe, tt.want)
			}
			if got != (AcceptRisk{}) {
				t.Errorf("returned %+v with the errors", got)
			}
		})
	}
	fe := FieldErrors{R: MsgReasonRequired, E: MsgExpiryRequired}
	const want = "invalid accept-risk submission: driftwatch_accept_expiry: Choose when the exception expires.; driftwatch_accept_reason: Say why this risk is acceptable."
	if fe.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", fe.Error(), want)
	}
}

func TestParseAcceptRiskNotOurs(t *testing.T) {
	good := AcceptRiskModal(validRef(), "t", 90, "C0DRIFT", "1700000000.000100")
	tests := []struct {
		name    string
		edit    func(*slack.View)
		wantErr string
	}{
		{"other callback", func(v *slack.View) { v.CallbackID = "meal_choice" }, `not a driftwatch accept-risk view: callback_id "meal_choice"`},
		{"no metadata", func(v *slack.View) { v.PrivateMetadata = "" }, "not a driftwatch accept-risk view: private_metadata empty or too long"},
		{"metadata not JSON", func(v *slack.View) { v.PrivateMetadata = "C0DRIFT|1700000000.000100" }, "not a driftwatch accept-risk view: private_metadata: invalid character 'C' looking for beginning of value"},
		{"metadata unknown field", func(v *slack.View) {
			v.PrivateMetadata = strings.Replace(v.PrivateMetadata, `"channel"`, `"admin":true,"channel"`, 1)
		}, `not a driftwatch accept-risk view: private_metadata: json: unknown field "admin"`},
		{"metadata trailing data", func(v *slack.View) { v.PrivateMetadata += "{}" }, "not a driftwatch accept-risk view: private_metadata: data after the object"},
		{"metadata bad channel", func(v *slack.View) {
			v.PrivateMetadata = strings.Replace(v.PrivateMetadata, `"C0DRIFT"`, `"#general"`, 1)
		}, "not a driftwatch accept-risk view: private_metadata: invalid channel or ts"},
		{"metadata bad ts", func(v *slack.View) {
			v.PrivateMetadata = strings.Replace(v.PrivateMetadata, `"1700000000.000100"`, `"now"`, 1)
		}, "not a driftwatch accept-risk view: private_metadata: invalid channel or ts"},
		{"metadata bad ref", func(v *slack.View) {
			v.PrivateMetadata = strings.Replace(v.PrivateMetadata, `"c":"aws"`, `"c":"oci"`, 1)
		}, `not a driftwatch accept-risk view: invalid driftwatch button value: unknown cloud "oci"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := submitted(t, good, ptr("ok"), ptr("7"))
			tt.edit(&v)
			got, err := ParseAcceptRisk(v)
			if !errors.Is(err, ErrNotAcceptRisk) {
				t.Fatalf("ParseAcceptRisk = %+v, %v; want ErrNotAcceptRisk", got, err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q\nwant    %q", err, tt.wantErr)
			}
			var fe FieldErrors
			if errors.As(err, &fe) {
				t.Error("a broken view is not the submitter's mistake")
			}
		})
	}
}

// FuzzParseAcceptRisk: any metadata, reason and expiry either parse into
// an AcceptRisk within its bounds or give an error; never a panic.
func FuzzParseAcceptRisk(f *testing.F) {
	m := AcceptRiskModal(validRef(), "t", 90, "C0DRIFT", "1700000000.000100")
	f.Add(m.PrivateMetadata, "Public by design", "30")
	f.Add(m.PrivateMetadata, "", "")
	f.Add(`{"ref":{},"channel":"C","ts":"1.2"}`, "x", "90")
	f.Add(`{"ref":null}`, "x", "7")
	f.Fuzz(func(t *testing.T, md, reason, expiry string) {
		v := slack.View{CallbackID: AcceptRiskCallbackID, PrivateMetadata: md, State: &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
			AcceptRiskReasonBlockID: {AcceptRiskReasonActionID: {Value: reason}},
			AcceptRiskExpiryBlockID: {AcceptRiskExpiryActionID: {SelectedOption: slack.OptionBlockObject{Value: expiry}}},
		}}}
		got, err := ParseAcceptRisk(v)
		if err != nil {
			var fe FieldErrors
			if !errors.Is(err, ErrNotAcceptRisk) && !errors.As(err, &fe) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if got.Days < 1 || got.Days > MaxAcceptDays || got.Reason == "" || utf8.RuneCountInString(got.Reason) > MaxAcceptReason {
			t.Fatalf("accepted out of bounds: %+v", got)
		}
		if EncodeFixValue(got.Ref) == "" {
			t.Fatalf("accepted an invalid ref %+v", got.Ref)
		}
	})
}
