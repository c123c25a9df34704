// Package awsevent normalizes AWS CloudTrail audit events into
// change.Change values.
//
// It accepts the three shapes CloudTrail events arrive in: an EventBridge
// event ("AWS API Call via CloudTrail", the CloudTrail record in detail), a
// bare CloudTrail record, and a CloudTrail log file ({"Records": [...]}).
// Irrelevant records (failed, read-only, not an API call, or an operation
// no rule depends on) are dropped from a handful of top-level fields before
// anything else is decoded. Relevant records are mapped to resource
// references through the event table (Table), a data table in the spirit of
// cloud-custodian's c7n/cwe.py.
package awsevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
)

// DetailTypeAPICall is the EventBridge detail-type of a CloudTrail-recorded
// API call. Every other detail-type (service events, console sign-ins,
// findings, state changes) is dropped as change.ReasonNotAudit.
const DetailTypeAPICall = "AWS API Call via CloudTrail"

// Result is the outcome of normalizing one CloudTrail record.
type Result struct {
	// EventID is the record's eventID when it has one; it is set on drops
	// too, so that callers can log them with their correlation id.
	EventID string
	// Change is the normalized event; it is meaningful only when Err is nil.
	Change change.Change
	// Err is a *change.DroppedError when the record is not processed.
	Err error
}

// Normalizer turns CloudTrail records into Changes using an event table.
// It is safe for concurrent use.
//
// KMS keys named by alias (alias/name or an alias ARN) are referenced with
// the alias ARN as ID and "alias/name" as Name: the record does not say
// which key the alias pointed to, so the fetcher resolves the alias when it
// reads the key.
type Normalizer struct {
	index map[opKey]*compiledMapping
}

// Options configure a Normalizer.
type Options struct {
	// Table replaces the built-in Table() when non-nil.
	Table []Mapping
}

// ErrInvalidTable reports an event table that cannot be used.
var ErrInvalidTable = errors.New("invalid event table")

type opKey struct{ source, operation string }

type compiledMapping struct {
	refs []compiledRef
}

type compiledRef struct {
	typ            string
	paths          [][]string // split on "."; paths[i][0] names a record section
	rawPaths       []string
	callerFallback bool
}

// Record sections a path may start from. Only these two are kept raw and
// decoded on demand.
const (
	sectionRequest  = "requestParameters"
	sectionResponse = "responseElements"
)

// New builds a Normalizer from the built-in table or opts.Table, checking
// every row: known resource types, paths rooted at requestParameters or
// responseElements, no duplicate operations.
func New(opts *Options) (*Normalizer, error) {
	table := Table()
	if opts != nil && opts.Table != nil {
		table = opts.Table
	}
	types := awsres.Types()
	n := &Normalizer{index: make(map[opKey]*compiledMapping, len(table))}
	for i, m := range table {
		if m.Source == "" || m.Operation == "" {
			return nil, fmt.Errorf("%w: row %d: source and operation are required", ErrInvalidTable, i)
		}
		k := opKey{m.Source, m.Operation}
		if _, dup := n.index[k]; dup {
			return nil, fmt.Errorf("%w: %s %s: duplicate row", ErrInvalidTable, m.Source, m.Operation)
		}
		if len(m.Refs) == 0 {
			return nil, fmt.Errorf("%w: %s %s: no resource references", ErrInvalidTable, m.Source, m.Operation)
		}
		cm := &compiledMapping{}
		for _, rs := range m.Refs {
			cr, err := compileRef(rs, types)
			if err != nil {
				return nil, fmt.Errorf("%w: %s %s: %w", ErrInvalidTable, m.Source, m.Operation, err)
			}
			cm.refs = append(cm.refs, cr)
		}
		n.index[k] = cm
	}
	return n, nil
}

func compileRef(rs RefSpec, types map[string]reflect.Type) (compiledRef, error) {
	if _, ok := types[rs.Type]; !ok {
		return compiledRef{}, fmt.Errorf("unknown resource type %q", rs.Type)
	}
	accountLevel := rs.Type == awsres.TypeAccount || rs.Type == awsres.TypeAccountRegion
	switch {
	case accountLevel && len(rs.Paths) > 0:
		return compiledRef{}, fmt.Errorf("%s takes no paths: it is known from the record", rs.Type)
	case !accountLevel && len(rs.Paths) == 0:
		return compiledRef{}, fmt.Errorf("%s needs at least one path", rs.Type)
	case rs.CallerFallback && rs.Type != awsres.TypeIAMUser:
		return compiledRef{}, fmt.Errorf("CallerFallback applies to %s only, not %s", awsres.TypeIAMUser, rs.Type)
	}
	cr := compiledRef{typ: rs.Type, rawPaths: rs.Paths, callerFallback: rs.CallerFallback}
	for _, p := range rs.Paths {
		segs := strings.Split(p, ".")
		if len(segs) < 2 || (segs[0] != sectionRequest && segs[0] != sectionResponse) {
			return compiledRef{}, fmt.Errorf("path %q must start with %s. or %s.", p, sectionRequest, sectionResponse)
		}
		if slices.Contains(segs, "") {
			return compiledRef{}, fmt.Errorf("path %q has an empty segment", p)
		}
		cr.paths = append(cr.paths, segs)
	}
	return cr, nil
}

// Operations reports every (eventSource, eventName) the Normalizer maps,
// sorted, so that callers can check that rules' trigger operations are
// covered.
func (n *Normalizer) Operations() []Mapping {
	keys := slices.SortedFunc(maps.Keys(n.index), func(a, b opKey) int {
		if c := strings.Compare(a.source, b.source); c != 0 {
			return c
		}
		return strings.Compare(a.operation, b.operation)
	})
	out := make([]Mapping, 0, len(keys))
	for _, k := range keys {
		m := Mapping{Source: k.source, Operation: k.operation}
		for _, r := range n.index[k].refs {
			m.Refs = append(m.Refs, RefSpec{Type: r.typ, Paths: r.rawPaths, CallerFallback: r.callerFallback})
		}
		out = append(out, m)
	}
	return out
}

// envelope carries what an EventBridge envelope adds to its record.
type envelope struct {
	account string
	time    string
}

// Normalize decodes raw, which may be an EventBridge event, a CloudTrail
// record or a CloudTrail log file, and returns one Result per CloudTrail
// record (a single Result for an envelope or a record, none for an empty
// log file). It never panics: undecodable input yields one Result with a
// change.ReasonMalformed drop.
func (n *Normalizer) Normalize(raw []byte) []Result {
	p, err := readProbe(raw)
	if err != nil {
		return []Result{malformed("", "decode event: %v", err)}
	}
	switch {
	case p.hasRecords:
		out := make([]Result, 0, len(p.records))
		for _, rec := range p.records {
			out = append(out, n.decodeRecord(rec, envelope{}))
		}
		return out
	case p.hasDetailType:
		return []Result{n.envelope(p.detailType, p.detail, envelope{account: p.account, time: p.time})}
	default:
		return []Result{n.record(raw, &p, envelope{})}
	}
}

// NormalizeEvent normalizes an EventBridge event already decoded by the
// Lambda runtime.
func (n *Normalizer) NormalizeEvent(ev events.EventBridgeEvent) Result {
	var t string
	if !ev.Time.IsZero() {
		t = ev.Time.Format(time.RFC3339)
	}
	return n.envelope(ev.DetailType, ev.Detail, envelope{account: ev.AccountID, time: t})
}

func (n *Normalizer) envelope(detailType string, detail json.RawMessage, env envelope) Result {
	if detailType != DetailTypeAPICall {
		return Result{Err: change.Drop(change.ReasonNotAudit, "EventBridge detail-type %q is not a CloudTrail API call", detailType)}
	}
	if len(detail) == 0 {
		return malformed("", "EventBridge event has no detail")
	}
	return n.decodeRecord(detail, env)
}

func (n *Normalizer) decodeRecord(raw []byte, env envelope) Result {
	p, err := readProbe(raw)
	if err != nil {
		return malformed("", "decode CloudTrail record: %v", err)
	}
	return n.record(raw, &p, env)
}

// record applies the cheap drops from the probed fields and only then
// decodes the rest of a relevant record.
func (n *Normalizer) record(raw []byte, p *probe, env envelope) Result {
	id := p.eventID
	if p.eventName == "" {
		return malformed(id, "not a CloudTrail record, EventBridge event or log file: no eventName")
	}
	// Real records always carry eventType; hand-made ones often omit it,
	// and an omitted type is treated as the common case, an API call.
	if p.eventType != "" && p.eventType != "AwsApiCall" {
		return Result{EventID: id, Err: change.Drop(change.ReasonNotAudit, "%s has eventType %s, not an API call", p.eventName, p.eventType)}
	}
	if p.errorCode != "" {
		return Result{EventID: id, Err: change.Drop(change.ReasonFailed, "%s failed with %s", p.eventName, p.errorCode)}
	}
	if p.readOnly || readOnlyName(p.eventName) {
		return Result{EventID: id, Err: change.Drop(change.ReasonReadOnly, "%s is read-only", p.eventName)}
	}
	if p.eventSource == "" {
		return malformed(id, "%s record has no eventSource", p.eventName)
	}
	m, ok := n.index[opKey{p.eventSource, p.eventName}]
	if !ok {
		return Result{EventID: id, Err: change.Drop(change.ReasonUnsupported, "no mapping for %s %s", p.eventSource, p.eventName)}
	}

	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return malformed(id, "decode %s record: %v", p.eventName, err)
	}
	if r.EventID == "" {
		// The event id is the deduplication key; without it the event
		// could be processed any number of times.
		return malformed(id, "%s record has no eventID", r.EventName)
	}
	c := change.Change{
		EventID:   r.EventID,
		Cloud:     change.AWS,
		Account:   firstNonEmpty(r.RecipientAccountID, r.UserIdentity.AccountID, env.account),
		Region:    r.AWSRegion,
		Service:   r.EventSource,
		Operation: r.EventName,
		Actor:     actorOf(&r),
		Time:      parseTime(r.EventTime, env.time),
	}
	if c.Account == "" {
		return malformed(id, "%s record names no account (recipientAccountId, userIdentity.accountId)", r.EventName)
	}
	rc := resolver{rec: &r, account: c.Account, region: c.Region, partition: partitionOf(r.UserIdentity.ARN, r.AWSRegion)}
	refs, missing := rc.resolve(m)
	if len(refs) == 0 {
		return Result{EventID: id, Err: change.Drop(change.ReasonNoResource, "%s names no %s", r.EventName, missing)}
	}
	c.Resources = refs
	return Result{EventID: id, Change: c}
}

// readOnlyName reports whether an operation name is a read by AWS's naming
// convention. The prefix must end a word (GetObject, not Getaway).
func readOnlyName(op string) bool {
	for _, prefix := range [...]string{"Get", "List", "Describe", "Head", "Lookup"} {
		if strings.HasPrefix(op, prefix) {
			rest := op[len(prefix):]
			if rest == "" || (rest[0] >= 'A' && rest[0] <= 'Z') {
				return true
			}
		}
	}
	return false
}

func malformed(id, format string, args ...any) Result {
	return Result{EventID: id, Err: change.Drop(change.ReasonMalformed, format, args...)}
}

// record is the part of a CloudTrail record a Change is built from.
// requestParameters and responseElements stay raw: they are decoded only
// when a path of the event's mapping reaches into them.
type record struct {
	EventID                      string          `json:"eventID"`
	EventTime                    string          `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress"`
	UserAgent                    string          `json:"userAgent"`
	RecipientAccountID           string          `json:"recipientAccountId"`
	SessionCredentialFromConsole flexBool        `json:"sessionCredentialFromConsole"`
	UserIdentity                 userIdentity    `json:"userIdentity"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	ResponseElements             json.RawMessage `json:"responseElements"`
}

type userIdentity struct {
	Type           string         `json:"type"`
	PrincipalID    string         `json:"principalId"`
	ARN            string         `json:"arn"`
	AccountID      string         `json:"accountId"`
	UserName       string         `json:"userName"`
	InvokedBy      string         `json:"invokedBy"`
	SessionContext sessionContext `json:"sessionContext"`
}

type sessionContext struct {
	SessionIssuer sessionIssuer `json:"sessionIssuer"`
}

type sessionIssuer struct {
	ARN      string `json:"arn"`
	UserName string `json:"userName"`
}

// flexBool decodes CloudTrail's booleans, which some producers write as
// strings ("true", "True").
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true":
		*b = true
		return nil
	case "false", "null":
		*b = false
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("boolean field: %s is neither a boolean nor a string", data)
	}
	*b = flexBool(strings.EqualFold(s, "true"))
	return nil
}

func parseTime(candidates ...string) time.Time {
	for _, s := range candidates {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// resolver turns a mapping's RefSpecs into references for one record.
type resolver struct {
	rec                        *record
	account, region, partition string
	req, resp                  any
	reqDone, respDone          bool
}

// resolve returns the references of m found in the record, deduplicated,
// or none and a description of what was looked for.
func (rv *resolver) resolve(m *compiledMapping) ([]change.ResourceRef, string) {
	var refs []change.ResourceRef
	named := false
	var missing []string
	for _, cr := range m.refs {
		if len(cr.paths) == 0 {
			refs = append(refs, rv.ref(cr.typ, ""))
			continue
		}
		got := rv.lookup(cr)
		if len(got) == 0 && cr.callerFallback {
			if r, ok := rv.caller(); ok {
				refs = append(refs, r)
				named = true
				continue
			}
		}
		if len(got) == 0 {
			what := cr.typ + " at " + strings.Join(cr.rawPaths, " or ")
			if cr.callerFallback {
				what += " (and the caller is neither an IAM user nor root)"
			}
			missing = append(missing, what)
			continue
		}
		named = true
		for _, v := range got {
			refs = append(refs, rv.ref(cr.typ, v))
		}
	}
	// The account companion of a trail operation is not a substitute for
	// the trail: a mapping whose path-based references all failed names
	// no resource.
	if !named && len(missing) > 0 {
		return nil, strings.Join(missing, "; ")
	}
	if len(refs) < 2 {
		return refs, ""
	}
	seen := make(map[string]bool, len(refs))
	out := refs[:0]
	for _, r := range refs {
		if k := r.Type + "|" + r.Key(); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out, ""
}

// lookup returns the values at the first of cr's paths that yields any.
func (rv *resolver) lookup(cr compiledRef) []string {
	for _, segs := range cr.paths {
		if got := collect(rv.section(segs[0]), segs[1:], nil); len(got) > 0 {
			return got
		}
	}
	return nil
}

// section decodes requestParameters or responseElements once, on demand.
// The record was decoded successfully, so the raw section is valid JSON.
func (rv *resolver) section(name string) any {
	switch name {
	case sectionRequest:
		if !rv.reqDone {
			rv.reqDone = true
			rv.req = decodeAny(rv.rec.RequestParameters)
		}
		return rv.req
	case sectionResponse:
		if !rv.respDone {
			rv.respDone = true
			rv.resp = decodeAny(rv.rec.ResponseElements)
		}
		return rv.resp
	}
	return nil
}

func decodeAny(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

// collect appends the non-empty strings found at path under node. An array
// met on the way applies the rest of the path to each element.
func collect(node any, path []string, out []string) []string {
	switch v := node.(type) {
	case []any:
		for _, e := range v {
			out = collect(e, path, out)
		}
		return out
	case string:
		if len(path) == 0 && strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
		return out
	case map[string]any:
		if len(path) == 0 {
			return out
		}
		child, ok := v[path[0]]
		if !ok {
			// Deterministic choice among keys differing only in case.
			match := ""
			for k := range v {
				if strings.EqualFold(k, path[0]) && (match == "" || k < match) {
					match = k
				}
			}
			if match == "" {
				return out
			}
			child = v[match]
		}
		return collect(child, path[1:], out)
	}
	return out
}

// caller references the identity whose own credentials an operation
// changed: an IAM user's user, or the account for the root user.
func (rv *resolver) caller() (change.ResourceRef, bool) {
	ui := &rv.rec.UserIdentity
	switch ui.Type {
	case "IAMUser":
		if strings.Contains(ui.ARN, ":user/") {
			return rv.ref(awsres.TypeIAMUser, ui.ARN), true
		}
		if ui.UserName != "" {
			return rv.ref(awsres.TypeIAMUser, ui.UserName), true
		}
	case "Root":
		return rv.ref(awsres.TypeAccount, ""), true
	}
	return change.ResourceRef{}, false
}

// ref builds the canonical reference for a resource of type typ named (or
// identified by ARN) value. An ARN supplies its own partition, Region and
// account, so that a trail or key of another Region or account is
// referenced where it lives.
func (rv *resolver) ref(typ, value string) change.ResourceRef {
	partition, region, account := rv.partition, rv.region, rv.account
	if a, ok := parseARN(value); ok {
		partition = a.partition
		if a.region != "" {
			region = a.region
		}
		if isAccountID(a.account) {
			account = a.account
		}
	}
	id := awsres.CanonicalID(typ, partition, region, account, value)
	name := awsres.NameFromID(typ, id)
	if typ == awsres.TypeKMSKey {
		if alias, ok := kmsAlias(value); ok {
			name = alias
			if !strings.HasPrefix(value, "arn:") {
				id = "arn:" + partition + ":kms:" + region + ":" + account + ":" + alias
			}
		}
	}
	r := change.ResourceRef{Cloud: change.AWS, Type: typ, ID: id, Name: name, Account: account, Region: region}
	switch typ {
	case awsres.TypeAccount, awsres.TypeIAMUser, awsres.TypeIAMRole, awsres.TypeIAMGroup, awsres.TypeIAMPolicy:
		r.Region = "" // global resources
	}
	return r
}

// kmsAlias returns "alias/name" when keyID is an alias name or alias ARN.
func kmsAlias(keyID string) (string, bool) {
	if strings.HasPrefix(keyID, "alias/") {
		return keyID, true
	}
	if a, ok := parseARN(keyID); ok && strings.HasPrefix(a.resource, "alias/") {
		return a.resource, true
	}
	return "", false
}

type arn struct{ partition, service, region, account, resource string }

func parseARN(s string) (arn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" {
		return arn{}, false
	}
	return arn{partition: parts[1], service: parts[2], region: parts[3], account: parts[4], resource: parts[5]}, true
}

func isAccountID(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// partitionOf takes the partition from the caller's ARN, else infers it
// from the Region, else assumes the commercial partition.
func partitionOf(callerARN, region string) string {
	if a, ok := parseARN(callerARN); ok {
		return a.partition
	}
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
