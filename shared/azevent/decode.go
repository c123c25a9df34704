// Package azevent normalizes Azure Resource Manager events, as Event Grid
// delivers them from a subscription's system topic, into change.Change
// values.
//
// A delivery body is in the Event Grid schema (a JSON array of events) or
// in CloudEvents 1.0 (one structured-mode event, or a batch array); Decode
// detects which. Each event yields a Result: a Change for a successful ARM
// write, delete or action the operation table (Table) maps, or a
// *change.DroppedError saying why not. The Event Grid control events (the
// subscription validation handshake and the subscription's deletion) are
// reported beside the results for the HTTP layer to act on.
//
// Azure Monitor Activity Log records (what a diagnostic setting streams to
// Event Hubs or storage) share the operation names and claims but not the
// envelope, and carry no event id to deduplicate on: Decode recognises and
// rejects them with ErrActivityLog rather than guessing. Azure Resource
// Notifications events (Microsoft.ResourceNotifications.*) are valid but
// name no caller or operation, so they are dropped as not_audit: the same
// changes arrive as ARM events from the subscription topic.
package azevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/messaging"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/eventgrid/azsystemevents"

	"github.com/driftwatch/driftwatch/shared/azres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// Schema is the event schema of a delivery, named as the event
// subscription's eventDeliverySchema property names it.
type Schema string

// The delivery schemas Decode accepts.
const (
	SchemaEventGrid   Schema = "EventGridSchema"
	SchemaCloudEvents Schema = "CloudEventSchemaV1_0"
)

// Sentinel errors of Decode. Both mean the body as a whole is unusable;
// an HTTP endpoint answers 400, which Event Grid does not retry.
var (
	// ErrNotDelivery reports a body that is neither an Event Grid nor a
	// CloudEvents delivery: not JSON, or JSON of another shape.
	ErrNotDelivery = errors.New("not an Event Grid delivery")
	// ErrActivityLog reports an Azure Monitor Activity Log record (or a
	// resource log record, or a {"records": [...]} batch of them), which is
	// not an Event Grid event.
	ErrActivityLog = errors.New("an Azure Monitor Activity Log record, not an Event Grid event")
	// ErrInvalidTable reports an operation table New cannot use.
	ErrInvalidTable = errors.New("invalid operation table")
)

// Result is the outcome of one event of a delivery.
type Result struct {
	// EventID is the event's id when it has one; it is set on drops too,
	// so that callers can log them with their correlation id.
	EventID string
	// EventType is the Event Grid event type (CloudEvents type), when known.
	EventType string
	// CorrelationID is ARM's id of the request (data.correlationId), shared
	// by every event of one deployment or operation. The Change has no
	// field for it: it is for log lines only.
	CorrelationID string
	// Change is the normalized event; it is meaningful only when Err is nil.
	Change change.Change
	// Err is a *change.DroppedError when the event is not processed. A
	// malformed event in a batch does not affect the others: the endpoint
	// logs it and still acknowledges the delivery (a retry cannot fix it).
	Err error
}

// Validation is the Event Grid subscription validation handshake
// (Microsoft.EventGrid.SubscriptionValidationEvent).
type Validation struct {
	EventID string
	// Code is echoed back as {"validationResponse": Code} to validate the
	// subscription synchronously.
	Code string
	// URL validates the subscription when fetched (the asynchronous,
	// manual alternative).
	URL string
}

// Response is the body that answers the handshake.
func (v Validation) Response() ([]byte, error) {
	b, err := json.Marshal(azsystemevents.SubscriptionValidationResponse{ValidationResponse: &v.Code})
	if err != nil {
		return nil, fmt.Errorf("validation response: %w", err)
	}
	return b, nil
}

// SubscriptionDeleted reports Microsoft.EventGrid.SubscriptionDeletedEvent:
// the event subscription feeding the endpoint is gone, and with it every
// later event.
type SubscriptionDeleted struct {
	EventID string
	// EventSubscriptionID is the ARM id of the deleted event subscription.
	EventSubscriptionID string
}

// Delivery is one decoded delivery body.
type Delivery struct {
	// Schema is the schema of the delivery's events ("" when no event was
	// recognisable).
	Schema Schema
	// Results has one Result per event, in delivery order, control events
	// included (as change.ReasonNotAudit drops).
	Results []Result
	// Validation is set when the delivery carries a subscription validation
	// event: the endpoint must answer with Validation.Response().
	Validation *Validation
	// Deleted lists the subscription deletion events of the delivery.
	Deleted []SubscriptionDeleted
}

// Normalizer turns Event Grid deliveries into Changes using an operation
// table. It is safe for concurrent use.
type Normalizer struct {
	index map[string]*compiledMapping // by lower-cased operation
	// types maps lower-cased ARM types to the azres type names, for
	// mappings whose target is any evaluated type.
	types map[string]string
}

// Options configure a Normalizer.
type Options struct {
	// Table replaces the built-in Table() when non-nil.
	Table []Mapping
}

type compiledMapping struct {
	Mapping
	// opType is the ARM type the operation acts on, which resourceUri must
	// name: Microsoft.Sql/servers/firewallRules for .../firewallRules/write.
	opType  string
	service string // the resource provider namespace
	levels  int
}

// New builds a Normalizer from the built-in table or opts.Table, checking
// every row: a write, delete or non-read action; a known resource type that
// the operation's own type reaches through the target; no duplicates.
func New(opts *Options) (*Normalizer, error) {
	table := Table()
	if opts != nil && opts.Table != nil {
		table = opts.Table
	}
	n := &Normalizer{index: make(map[string]*compiledMapping, len(table)), types: map[string]string{}}
	for typ := range azres.Types() {
		n.types[strings.ToLower(typ)] = typ
	}
	for i, m := range table {
		cm, err := n.compile(m)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d (%s): %w", ErrInvalidTable, i, m.Operation, err)
		}
		key := strings.ToLower(m.Operation)
		if _, dup := n.index[key]; dup {
			return nil, fmt.Errorf("%w: row %d (%s): duplicate operation", ErrInvalidTable, i, m.Operation)
		}
		n.index[key] = cm
	}
	return n, nil
}

func (n *Normalizer) compile(m Mapping) (*compiledMapping, error) {
	opType, verb, ok := splitOperation(m.Operation)
	switch {
	case !ok:
		return nil, errors.New("not an ARM operation name (Namespace/type[/child...]/write|delete|<action>/action)")
	case readOnly(verb, m.Operation):
		return nil, errors.New("a read-only operation changes nothing")
	case m.Kind != KindPosture && m.Kind != KindLifecycle && m.Kind != KindScope:
		return nil, fmt.Errorf("unknown kind %q", m.Kind)
	}
	levels, ok := m.Target.levels()
	if !ok {
		return nil, fmt.Errorf("unknown target %q", m.Target)
	}
	if m.Type != "" {
		if _, known := n.types[strings.ToLower(m.Type)]; !known {
			return nil, fmt.Errorf("unknown resource type %q", m.Type)
		}
	}
	segs := strings.Split(opType, "/")
	switch {
	case m.Target == TargetSubscription && m.Type != azres.TypeSubscription:
		return nil, fmt.Errorf("target %s evaluates %s, not %q", m.Target, azres.TypeSubscription, m.Type)
	case m.Target != TargetSubscription && m.Type != "":
		// A child type's ancestors are its prefixes; an extension resource
		// (attached to any type) needs an empty Type or TargetSubscription.
		if len(segs)-levels < 2 || !strings.EqualFold(strings.Join(segs[:len(segs)-levels], "/"), m.Type) {
			return nil, fmt.Errorf("the %s of a %s is not a %s", m.Target, opType, m.Type)
		}
	case m.Target == TargetSelf && m.Type == "":
		return nil, errors.New("target self needs a resource type")
	}
	return &compiledMapping{Mapping: m, opType: opType, service: segs[0], levels: levels}, nil
}

// splitOperation splits Microsoft.Sql/servers/firewallRules/write into the
// type it acts on and its verb (write, delete, read, or an action's name).
func splitOperation(op string) (opType, verb string, ok bool) {
	segs := strings.Split(op, "/")
	if slices.Contains(segs, "") {
		return "", "", false
	}
	n := len(segs)
	if n >= 4 && strings.EqualFold(segs[n-1], "action") {
		return strings.Join(segs[:n-2], "/"), segs[n-2], true
	}
	if n < 3 {
		return "", "", false
	}
	return strings.Join(segs[:n-1], "/"), segs[n-1], true
}

// readOnly reports whether an operation cannot change configuration: a
// read, or an action that lists or gets something (listKeys,
// listAccountSas, getSecret). ARM names are case-insensitive, and the
// Activity Log spells them in any case (listkeys), so the prefix test
// cannot rely on a word boundary; no mutating action starts with "list" or
// "get".
func readOnly(verb, op string) bool {
	if strings.EqualFold(verb, "read") {
		return true
	}
	return hasSuffixFold(op, "/action") && (hasPrefixFold(verb, "list") || hasPrefixFold(verb, "get"))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// Operations reports every row the Normalizer maps, sorted by operation,
// so that callers can check that rules' trigger operations are covered.
func (n *Normalizer) Operations() []Mapping {
	out := make([]Mapping, 0, len(n.index))
	for _, k := range slices.Sorted(maps.Keys(n.index)) {
		out = append(out, n.index[k].Mapping)
	}
	return out
}

// probe holds the top-level members that tell the schemas (and an Activity
// Log record) apart, kept raw so that no value can fail the probe.
type probe struct {
	ID          json.RawMessage `json:"id"`
	SpecVersion json.RawMessage `json:"specversion"`
	Source      json.RawMessage `json:"source"`
	Topic       json.RawMessage `json:"topic"`
	EventType   json.RawMessage `json:"eventType"`
	// The rest of an Event Grid schema event's envelope: with these the
	// probe is the whole envelope, and an Event Grid event is decoded in
	// one pass (Decode).
	EventTime json.RawMessage `json:"eventTime"`
	Data      json.RawMessage `json:"data"`
	// Azure Monitor log members: an Event Hubs batch, and what every
	// Activity Log and resource log record has besides its operation.
	Records       json.RawMessage `json:"records"`
	OperationName json.RawMessage `json:"operationName"`
	ResourceID    json.RawMessage `json:"resourceId"`
	Category      json.RawMessage `json:"category"`
	CallerIP      json.RawMessage `json:"callerIpAddress"`
}

func (p *probe) schema() Schema {
	switch {
	case p.SpecVersion != nil:
		return SchemaCloudEvents
	case p.EventType != nil:
		return SchemaEventGrid
	}
	return ""
}

func (p *probe) activityLog() bool {
	return p.schema() == "" && (p.Records != nil ||
		(p.OperationName != nil && (p.ResourceID != nil || p.Category != nil || p.CallerIP != nil)))
}

// Decode parses a delivery body and normalizes each of its events. It
// returns an error wrapping ErrNotDelivery or ErrActivityLog only when the
// body as a whole is unusable; a bad event is a change.ReasonMalformed drop
// in its Result, and the other events are processed. It never panics.
func (n *Normalizer) Decode(body []byte) (Delivery, error) {
	body = bytes.TrimSpace(body)
	var events []json.RawMessage
	switch {
	case len(body) == 0:
		return Delivery{}, fmt.Errorf("%w: empty body", ErrNotDelivery)
	case body[0] == '[':
		// The common case, a batch of Event Grid schema events, in one
		// pass: every event's envelope straight from the array.
		// (A CloudEvents batch names its specversion: it goes the other
		// way at once.)
		var probes []probe
		if !bytes.Contains(body, []byte(`"specversion"`)) && json.Unmarshal(body, &probes) == nil && allEventGrid(probes) {
			d := Delivery{Results: make([]Result, 0, len(probes))}
			for i := range probes {
				d.Results = append(d.Results, n.event(nil, &probes[i], &d))
			}
			return d, nil
		}
		// Anything else (CloudEvents, a bad element) event by event.
		if err := json.Unmarshal(body, &events); err != nil {
			return Delivery{}, fmt.Errorf("%w: decode the event array: %v", ErrNotDelivery, err)
		}
	case body[0] == '{':
		var p probe
		if err := json.Unmarshal(body, &p); err != nil {
			return Delivery{}, fmt.Errorf("%w: decode the event: %v", ErrNotDelivery, err)
		}
		switch {
		case p.activityLog():
			return Delivery{}, fmt.Errorf("%w: Event Hubs and storage exports are not an input of this detector", ErrActivityLog)
		case p.schema() == "":
			return Delivery{}, fmt.Errorf("%w: the object is neither an Event Grid event (no eventType) nor a CloudEvent (no specversion)", ErrNotDelivery)
		}
		d := Delivery{}
		d.Results = []Result{n.event(body, &p, &d)}
		return d, nil
	default:
		return Delivery{}, fmt.Errorf("%w: a delivery is a JSON array of events or one event object, not %.20q", ErrNotDelivery, body)
	}
	d := Delivery{Results: make([]Result, 0, len(events))}
	for _, raw := range events {
		var p probe
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &p) != nil {
			d.Results = append(d.Results, malformed("", "an event is a JSON object, not %.20q", raw))
			continue
		}
		d.Results = append(d.Results, n.event(raw, &p, &d))
	}
	return d, nil
}

// envelope is what both schemas say about an event.
type envelope struct {
	id, typ string
	time    time.Time
	data    []byte
}

// event normalizes one event object, already probed.
func (n *Normalizer) event(raw []byte, p *probe, d *Delivery) Result {
	id := jsonString(p.ID)
	schema := p.schema()
	switch {
	case p.activityLog():
		return malformed(id, "%v", ErrActivityLog)
	case schema == "":
		return malformed(id, "neither an Event Grid event (no eventType) nor a CloudEvent (no specversion)")
	case d.Schema == "":
		d.Schema = schema
	case d.Schema != schema:
		// A subscription has one delivery schema; a mixed batch is not
		// something Event Grid sends.
		return malformed(id, "a %s event in a %s delivery", schema, d.Schema)
	}
	var env envelope
	var err error
	if schema == SchemaCloudEvents {
		env, err = cloudEvent(raw, p)
	} else {
		env, err = eventGridEvent(p)
	}
	if err != nil {
		return malformed(id, "%v", err)
	}
	return n.dispatch(env, d)
}

// eventGridEvent reads an Event Grid schema event's envelope from its
// probe (azsystemevents.EventGridEvent's fields: id, eventType, eventTime,
// data), without decoding the event again.
func eventGridEvent(p *probe) (envelope, error) {
	env := envelope{id: jsonString(p.ID), typ: jsonString(p.EventType)}
	if len(p.Data) > 0 && string(p.Data) != "null" {
		env.data = p.Data
	}
	if len(p.EventTime) > 0 && string(p.EventTime) != "null" {
		t, err := eventTime(jsonString(p.EventTime))
		if err != nil {
			return envelope{}, fmt.Errorf("Event Grid event: eventTime %s: %w", truncateRaw(p.EventTime), err)
		}
		env.time = t
	}
	return env, requireIDAndType(env, "Event Grid event", "eventType")
}

// eventTime parses an Event Grid eventTime: RFC 3339 with any fraction of a
// second, or, as the SDK's models accept it, without a zone (UTC).
func eventTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999", s)
	if err != nil {
		return time.Time{}, errors.New("is not an RFC 3339 time")
	}
	return t.UTC(), nil
}

// allEventGrid reports whether every probed event is an Event Grid schema
// event (the one-pass path of Decode).
func allEventGrid(ps []probe) bool {
	for i := range ps {
		if ps[i].schema() != SchemaEventGrid || ps[i].activityLog() {
			return false
		}
	}
	return true
}

// truncateRaw quotes at most 40 bytes of a raw value for a message.
func truncateRaw(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

// cloudEvent checks the required context attributes first, all of them
// and in a fixed order, so that an invalid event gets one complete and
// stable message (messaging.CloudEvent reports one problem, picked by map
// order). The 2021 documentation sample with "topic" for "source" and
// specversion "`1.0" is the case in point.
func cloudEvent(raw []byte, p *probe) (envelope, error) {
	var problems []string
	switch v := jsonString(p.SpecVersion); {
	case v == "1.0":
	case v == "":
		problems = append(problems, fmt.Sprintf("specversion is %s, want \"1.0\"", p.SpecVersion))
	default:
		problems = append(problems, fmt.Sprintf("specversion is %q, want \"1.0\"", v))
	}
	if jsonString(p.Source) == "" {
		msg := "required attribute source is missing or not a string"
		if p.Topic != nil {
			msg += ` (the event has "topic", an Event Grid schema attribute: CloudEvents name the topic in "source")`
		}
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return envelope{}, fmt.Errorf("CloudEvents event: %s", strings.Join(problems, "; "))
	}
	var ce messaging.CloudEvent
	if err := json.Unmarshal(raw, &ce); err != nil {
		return envelope{}, fmt.Errorf("CloudEvents event: %w", err)
	}
	env := envelope{id: ce.ID, typ: ce.Type}
	env.data, _ = ce.Data.([]byte)
	if ce.Time != nil {
		env.time = ce.Time.UTC()
	}
	return env, requireIDAndType(env, "CloudEvents event", "type")
}

func requireIDAndType(env envelope, what, typeAttr string) error {
	switch {
	case env.id == "":
		// The id is the deduplication key: without it the event could be
		// processed any number of times.
		return fmt.Errorf("%s has no id", what)
	case env.typ == "":
		return fmt.Errorf("%s %s has no %s", what, env.id, typeAttr)
	}
	return nil
}

// dispatch branches on the event type.
func (n *Normalizer) dispatch(env envelope, d *Delivery) Result {
	res := Result{EventID: env.id, EventType: env.typ}
	drop := func(reason change.DropReason, format string, args ...any) Result {
		res.Err = change.Drop(reason, format, args...)
		return res
	}
	switch env.typ {
	case azsystemevents.TypeResourceWriteSuccess, azsystemevents.TypeResourceDeleteSuccess, azsystemevents.TypeResourceActionSuccess:
		return n.resourceEvent(env, res)
	case azsystemevents.TypeResourceWriteFailure, azsystemevents.TypeResourceWriteCancel,
		azsystemevents.TypeResourceDeleteFailure, azsystemevents.TypeResourceDeleteCancel,
		azsystemevents.TypeResourceActionFailure, azsystemevents.TypeResourceActionCancel:
		var data resourceData
		_ = json.Unmarshal(env.data, &data) // only for the detail: the event is dropped either way
		res.CorrelationID = data.CorrelationID
		return drop(change.ReasonFailed, "%s %s did not succeed", env.typ, orDash(data.OperationName))
	case azsystemevents.TypeSubscriptionValidation:
		var data azsystemevents.SubscriptionValidationEventData
		if err := unmarshalData(env, &data); err != nil {
			return drop(change.ReasonMalformed, "%v", err)
		}
		if deref(data.ValidationCode) == "" {
			return drop(change.ReasonMalformed, "%s has no validationCode", env.typ)
		}
		if d.Validation == nil {
			d.Validation = &Validation{EventID: env.id, Code: *data.ValidationCode, URL: deref(data.ValidationURL)}
		}
		return drop(change.ReasonNotAudit, "subscription validation handshake")
	case azsystemevents.TypeSubscriptionDeleted:
		var data azsystemevents.SubscriptionDeletedEventData
		if err := unmarshalData(env, &data); err != nil {
			return drop(change.ReasonMalformed, "%v", err)
		}
		d.Deleted = append(d.Deleted, SubscriptionDeleted{EventID: env.id, EventSubscriptionID: deref(data.EventSubscriptionID)})
		return drop(change.ReasonNotAudit, "event subscription %s was deleted", orDash(deref(data.EventSubscriptionID)))
	case azsystemevents.TypeResourceNotificationsResourceManagementCreatedOrUpdated,
		azsystemevents.TypeResourceNotificationsResourceManagementDeleted:
		// Azure Resource Notifications carry the resource's new state but
		// no caller, operation or client address: an alert could not say
		// who changed what. The ARM events of the same change come from the
		// subscription's own topic, which is what driftwatch subscribes to.
		return drop(change.ReasonNotAudit, "%s (Azure Resource Notifications) names no caller or operation; driftwatch reads the subscription topic's Microsoft.Resources events", env.typ)
	}
	return drop(change.ReasonNotAudit, "event type %s is not an ARM resource event", env.typ)
}

func unmarshalData(env envelope, v any) error {
	if len(env.data) == 0 {
		return fmt.Errorf("%s event has no data", env.typ)
	}
	if err := json.Unmarshal(env.data, v); err != nil {
		return fmt.Errorf("decode %s data: %w", env.typ, err)
	}
	return nil
}

// resourceData is the data of the Microsoft.Resources.Resource* events:
// the fields of azsystemevents.ResourceWriteSuccessEventData (its Delete
// and Action twins are identical), with authorization, claims and
// httpRequest kept raw. The SDK's typed maps fail the whole unmarshal on a
// non-string claim ("iat": 1630306600) or a nested evidence object, and the
// 2017 samples carry all three as placeholder strings; here they are read
// tolerantly, and only for events that become a Change.
type resourceData struct {
	OperationName string          `json:"operationName"`
	ResourceURI   string          `json:"resourceUri"`
	CorrelationID string          `json:"correlationId"`
	Authorization json.RawMessage `json:"authorization"`
	Claims        json.RawMessage `json:"claims"`
	HTTPRequest   json.RawMessage `json:"httpRequest"`
}

// resourceEvent normalizes a successful ARM operation: the cheap drops
// (read-only, unmapped) first, then the resource and the caller.
func (n *Normalizer) resourceEvent(env envelope, res Result) Result {
	drop := func(reason change.DropReason, format string, args ...any) Result {
		res.Err = change.Drop(reason, format, args...)
		return res
	}
	var data resourceData
	if err := unmarshalData(env, &data); err != nil {
		return drop(change.ReasonMalformed, "%v", err)
	}
	res.CorrelationID = data.CorrelationID
	op := data.OperationName
	if op == "" {
		return drop(change.ReasonMalformed, "%s event has no data.operationName", env.typ)
	}
	if _, verb, ok := splitOperation(op); ok && readOnly(verb, op) {
		return drop(change.ReasonReadOnly, "%s is read-only", op)
	}
	cm, ok := n.index[strings.ToLower(op)]
	if !ok {
		return drop(change.ReasonUnsupported, "no mapping for %s", op)
	}
	if data.ResourceURI == "" {
		return drop(change.ReasonNoResource, "%s event has no data.resourceUri", op)
	}
	rid, err := arm.ParseResourceID(data.ResourceURI)
	if err != nil {
		return drop(change.ReasonNoResource, "%s: %v", op, err)
	}
	if got := rid.ResourceType.String(); !strings.EqualFold(got, cm.opType) {
		return drop(change.ReasonNoResource, "%s: resourceUri %s is a %s, not a %s", op, data.ResourceURI, got, cm.opType)
	}
	account := strings.ToLower(rid.SubscriptionID)
	if account == "" {
		return drop(change.ReasonNoResource, "%s: resourceUri %s is not in a subscription", op, data.ResourceURI)
	}
	ref, err := n.target(cm, rid, account)
	if err != nil {
		return drop(change.ReasonUnsupported, "%s: %v", op, err)
	}
	res.Change = change.Change{
		EventID:   env.id,
		Cloud:     change.Azure,
		Account:   account,
		Service:   cm.service,
		Operation: cm.Operation,
		Resources: []change.ResourceRef{ref},
		Actor:     actorOf(data.Claims, data.Authorization, data.HTTPRequest),
		Time:      env.time,
	}
	return res
}

// target climbs from the operation's resource to the one the rules
// evaluate. Resource events carry no location, so Region stays empty: the
// fetcher learns it from the resource.
func (n *Normalizer) target(cm *compiledMapping, rid *arm.ResourceID, account string) (change.ResourceRef, error) {
	t := rid
	for range cm.levels {
		if t.Parent == nil {
			return change.ResourceRef{}, fmt.Errorf("%s has no %s", rid, cm.Target)
		}
		t = t.Parent
	}
	armType := t.ResourceType.String()
	if cm.Target == TargetSubscription {
		if !strings.EqualFold(armType, azres.TypeSubscription) {
			return change.ResourceRef{}, fmt.Errorf("a %s of a %s, not at subscription scope, which no rule evaluates", rid.ResourceType, armType)
		}
		return change.ResourceRef{Cloud: change.Azure, Type: azres.TypeSubscription, ID: azres.SubscriptionID(account), Name: account, Account: account}, nil
	}
	typ, known := n.types[strings.ToLower(armType)]
	if !known || (cm.Type != "" && typ != cm.Type) {
		return change.ResourceRef{}, fmt.Errorf("a %s of a %s, which no rule evaluates", rid.ResourceType, armType)
	}
	return change.ResourceRef{Cloud: change.Azure, Type: typ, ID: azres.CanonicalID(t.String()), Name: t.Name, Account: account}, nil
}

func malformed(id, format string, args ...any) Result {
	return Result{EventID: id, Err: change.Drop(change.ReasonMalformed, format, args...)}
}

// jsonString returns raw's value when it is a JSON string, else "".
func jsonString(raw json.RawMessage) string { return unquote(raw) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
