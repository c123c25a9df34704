package dynamostore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/driftwatch/driftwatch/shared/posture"
	"github.com/driftwatch/driftwatch/shared/store"
	"github.com/driftwatch/driftwatch/shared/store/internal/canon"
)

// Item attributes besides the keys. Times that conditions compare are N
// (Unix nanoseconds) everywhere: DynamoDB compares N with S as unequal
// types, and moto answers such a comparison with HTTP 500, so one encoding
// for every time keeps both honest.
const (
	skState        = "STATE"
	skClaim        = "CLAIM"
	skFindingPfx   = "FINDING#"
	pkResourcePfx  = "RES#"
	pkEventPfx     = "EVENT#"
	gsi1OpenPrefix = "OPEN#"

	attrRevision   = "revision"    // N
	attrObservedAt = "observed_at" // N, Unix nanoseconds
	// attrBody is the JSON of everything callers store that no condition
	// reads: one string attribute is cheaper than a nested map and keeps the
	// values exact.
	attrBody = "body" // S
	// attrDoc is the configuration document, binary so its bytes stay
	// exact (encoding/json would compact it inside attrBody).
	attrDoc = "doc" // B

	attrAlertWant     = "alert_want"        // N
	attrAlertRendered = "alert_rendered"    // N
	attrAlertOpen     = "alert_open"        // BOOL
	attrAlertChannel  = "alert_channel"     // S
	attrAlertTS       = "alert_ts"          // S
	attrAlertLease    = "alert_lease_until" // N, Unix nanoseconds
	attrAlertToken    = "alert_claim_token" // S: which ClaimAlert call holds the lease

	attrClaimState  = "state"       // S: processing | done
	attrLeaseUntil  = "lease_until" // N, Unix nanoseconds
	attrClaimToken  = "claim_token" // S: which ClaimEvent call wrote the claim
	claimProcessing = "processing"
	claimDone       = "done"
)

func resourcePK(k store.Key) string {
	return pkResourcePfx + string(k.Cloud) + "#" + k.Account + "#" + k.ResourceID
}

func eventPK(id string) string { return pkEventPfx + id }

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: avS(pk), AttrSK: avS(sk)}
}

func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func avN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func avBool(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

// stateBody is the part of a ResourceState kept in attrBody.
type stateBody struct {
	Key         store.Key            `json:"key"`
	Type        string               `json:"type"`
	Region      string               `json:"region,omitempty"`
	Name        string               `json:"name,omitempty"`
	Exists      bool                 `json:"exists"`
	Tags        map[string]string    `json:"tags,omitempty"`
	Evaluations []posture.Evaluation `json:"evaluations,omitempty"`
	LastChange  store.ChangeRef      `json:"last_change"`
}

func encodeStateBody(s store.ResourceState) (string, error) {
	b, err := json.Marshal(stateBody{
		Key: s.Key, Type: s.Type, Region: s.Region, Name: s.Name, Exists: s.Exists,
		Tags: s.Tags, Evaluations: s.Evaluations, LastChange: s.LastChange,
	})
	if err != nil {
		return "", fmt.Errorf("encode state of %s: %w", s.Key, err)
	}
	return string(b), nil
}

// decodeState reads a state item. The alert lease is store bookkeeping and
// stays out of the returned state.
func decodeState(item map[string]types.AttributeValue) (store.ResourceState, error) {
	var b stateBody
	if err := json.Unmarshal([]byte(getS(item, attrBody)), &b); err != nil {
		return store.ResourceState{}, fmt.Errorf("decode state item %s: %w", getS(item, AttrPK), err)
	}
	s := store.ResourceState{
		Key: b.Key, Type: b.Type, Region: b.Region, Name: b.Name, Exists: b.Exists,
		Tags: b.Tags, Evaluations: b.Evaluations, LastChange: b.LastChange,
	}
	var err error
	if s.Revision, err = getN(item, attrRevision); err != nil {
		return store.ResourceState{}, err
	}
	obs, err := getN(item, attrObservedAt)
	if err != nil {
		return store.ResourceState{}, err
	}
	s.ObservedAt = time.Unix(0, obs)
	if d, ok := item[attrDoc].(*types.AttributeValueMemberB); ok && len(d.Value) > 0 {
		s.Document = d.Value
	}
	if s.Alert, err = decodeAlert(item); err != nil {
		return store.ResourceState{}, err
	}
	return canon.State(s), nil
}

func decodeAlert(item map[string]types.AttributeValue) (store.AlertState, error) {
	a := store.AlertState{Ref: store.AlertRef{Channel: getS(item, attrAlertChannel), TS: getS(item, attrAlertTS)}}
	if v, ok := item[attrAlertOpen].(*types.AttributeValueMemberBOOL); ok {
		a.Open = v.Value
	}
	var err error
	if a.WantRevision, err = getN(item, attrAlertWant); err != nil {
		return store.AlertState{}, err
	}
	if a.RenderedRevision, err = getN(item, attrAlertRendered); err != nil {
		return store.AlertState{}, err
	}
	return a, nil
}

func encodeFindingBody(f store.Finding) (string, error) {
	f.Alert = store.AlertRef{} // kept in its own attributes, which RecordAlert stamps
	b, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode finding %s/%s: %w", f.Key, f.RuleID, err)
	}
	return string(b), nil
}

func decodeFinding(item map[string]types.AttributeValue) (store.Finding, error) {
	var f store.Finding
	if err := json.Unmarshal([]byte(getS(item, attrBody)), &f); err != nil {
		return store.Finding{}, fmt.Errorf("decode finding item %s %s: %w", getS(item, AttrPK), getS(item, AttrSK), err)
	}
	f.Alert = store.AlertRef{Channel: getS(item, attrAlertChannel), TS: getS(item, attrAlertTS)}
	return canon.Finding(f), nil
}

// getS returns a string attribute, "" when absent.
func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns a number attribute, 0 when absent.
func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("item %s %s: attribute %s: %w", getS(item, AttrPK), getS(item, AttrSK), name, err)
	}
	return n, nil
}

// expr collects the placeholders of one request's expressions. DynamoDB
// rejects placeholders that no expression uses, and reserved words (such as
// "state") as bare names, so every name and value goes through here.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

func newExpr() *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// n returns the placeholder of an attribute name.
func (e *expr) n(attr string) string {
	for ph, a := range e.names {
		if a == attr {
			return ph
		}
	}
	ph := "#n" + strconv.Itoa(len(e.names))
	e.names[ph] = attr
	return ph
}

// v returns a placeholder for a value.
func (e *expr) v(av types.AttributeValue) string {
	ph := ":v" + strconv.Itoa(len(e.values))
	e.values[ph] = av
	return ph
}

// Names returns the name placeholders, nil when there are none (DynamoDB
// rejects an empty map).
func (e *expr) Names() map[string]string {
	if len(e.names) == 0 {
		return nil
	}
	return e.names
}

// Values returns the value placeholders, nil when there are none.
func (e *expr) Values() map[string]types.AttributeValue {
	if len(e.values) == 0 {
		return nil
	}
	return e.values
}
