// Package gcpevent normalizes Cloud Audit Logs LogEntries, as a Log Router
// sink publishes them to Pub/Sub, into change.Change values.
//
// One delivery carries one LogEntry, in one of these forms: a Pub/Sub push
// body ({"message": {"data": base64 LogEntry, ...}, "subscription": ...}),
// which is also the body of an Eventarc Pub/Sub trigger in binary content
// mode; an Eventarc google.cloud.pubsub.topic.v1.messagePublished
// CloudEvent in structured mode, whose data is that push body; an Eventarc
// google.cloud.audit.log.v1.written CloudEvent, whose data is the LogEntry;
// or the bare LogEntry (a pull subscriber's message data, the binary-mode
// audit trigger, tests). Decode detects which; a pull subscriber, which
// receives the message itself, calls DecodeMessage.
//
// Only successful Admin Activity AuditLog entries of a method the table
// (Table) maps become a Change; everything else is a *change.DroppedError
// saying why. The method table also generates the sink's filter
// (SinkFilter), so that the sink publishes little else.
package gcpevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// AuditLogType is the protoPayload @type of a Cloud Audit Logs entry.
const AuditLogType = "type.googleapis.com/google.cloud.audit.AuditLog"

// The CloudEvent types Decode accepts (Eventarc).
const (
	EventTypeMessagePublished = "google.cloud.pubsub.topic.v1.messagePublished"
	EventTypeAuditLogWritten  = "google.cloud.audit.log.v1.written"
)

// Sentinel errors. ErrNotDelivery means the body as a whole is unusable:
// no retry can fix it, so the push endpoint acknowledges it with its reason
// logged (shared/gcpfunc) rather than have Pub/Sub redeliver it.
var (
	// ErrNotDelivery reports a body that is not JSON, or JSON that is
	// neither a Pub/Sub push body, a CloudEvent nor a LogEntry.
	ErrNotDelivery = errors.New("not a Pub/Sub push, Eventarc or LogEntry body")
	// ErrInvalidTable reports a method table New cannot use.
	ErrInvalidTable = errors.New("invalid method table")
)

// Form names the shape a LogEntry arrived in.
type Form string

// The forms.
const (
	FormPush           Form = "pubsub-push"       // Pub/Sub push body (or Eventarc binary mode)
	FormEventarcPubSub Form = "eventarc-pubsub"   // structured messagePublished CloudEvent
	FormEventarcAudit  Form = "eventarc-auditlog" // structured audit.log.v1.written CloudEvent
	FormMessage        Form = "pubsub-message"    // DecodeMessage (pull)
	FormLogEntry       Form = "logentry"          // a bare LogEntry
)

// Result is the outcome of one delivery.
type Result struct {
	Form Form
	// EventID is the deduplication key, insertId@timestamp (see
	// eventID), once both are read; it is set on drops too, for logging.
	EventID string
	// MessageID is the Pub/Sub message id (or the CloudEvent id) when the
	// entry came in a message. Pub/Sub redelivers a message under the same
	// id, but a LogEntry the sink publishes twice gets two: EventID is the
	// key to deduplicate on.
	MessageID string
	// Change is the normalized event; it is meaningful only when Err is nil.
	Change change.Change
	// Err is a *change.DroppedError when the entry is not processed.
	Err error
}

type key struct{ service, method string }

// Normalizer turns LogEntries into Changes using a method table. It is
// safe for concurrent use.
type Normalizer struct {
	index map[key]Mapping
}

// Options configure a Normalizer.
type Options struct {
	// Table replaces the built-in Table() when non-nil.
	Table []Mapping
}

// knownTypes are the resource types resourceOf can build ids for.
var knownTypes = []string{typeBucket, typeFirewall, typeSQLInstance, typeProject, typeServiceAccount, typeCryptoKey}

// New builds a Normalizer from the built-in table or opts.Table, checking
// every row: a method and service, not a read-only method, a known kind
// and resource type, and no duplicate (service, method) pair.
func New(opts *Options) (*Normalizer, error) {
	table := Table()
	if opts != nil && opts.Table != nil {
		table = opts.Table
	}
	n := &Normalizer{index: make(map[key]Mapping, len(table))}
	for i, m := range table {
		if err := checkRow(m); err != nil {
			return nil, fmt.Errorf("%w: row %d (%s %s): %w", ErrInvalidTable, i, m.Service, m.Method, err)
		}
		k := key{m.Service, m.Method}
		if _, dup := n.index[k]; dup {
			return nil, fmt.Errorf("%w: row %d (%s %s): duplicate method", ErrInvalidTable, i, m.Service, m.Method)
		}
		n.index[k] = m
	}
	return n, nil
}

func checkRow(m Mapping) error {
	switch {
	case m.Method == "" || strings.ContainsAny(m.Method, "\" \t\n\\"):
		return errors.New("the method must be a non-empty name without quotes or spaces")
	case m.Service == "" || strings.ContainsAny(m.Service, "\" \t\n\\"):
		return errors.New("the service must be a non-empty name without quotes or spaces")
	case readOnly(m.Method):
		return errors.New("a read-only method changes nothing")
	case m.Kind != KindPosture && m.Kind != KindLifecycle && m.Kind != KindScope:
		return fmt.Errorf("unknown kind %q", m.Kind)
	case !slices.Contains(knownTypes, m.Type):
		return fmt.Errorf("unknown resource type %q", m.Type)
	}
	return nil
}

// Operations reports every row the Normalizer maps, sorted by service and
// method.
func (n *Normalizer) Operations() []Mapping {
	keys := slices.SortedFunc(maps.Keys(n.index), func(a, b key) int {
		if c := strings.Compare(a.service, b.service); c != 0 {
			return c
		}
		return strings.Compare(a.method, b.method)
	})
	out := make([]Mapping, 0, len(keys))
	for _, k := range keys {
		out = append(out, n.index[k])
	}
	return out
}

// probe holds the top-level members that tell the forms apart, kept raw
// so that no value can fail the probe.
type probe struct {
	Message      json.RawMessage `json:"message"`
	SpecVersion  json.RawMessage `json:"specversion"`
	Type         json.RawMessage `json:"type"`
	ID           json.RawMessage `json:"id"`
	Data         json.RawMessage `json:"data"`
	DataBase64   json.RawMessage `json:"data_base64"`
	ProtoPayload json.RawMessage `json:"protoPayload"`
	InsertID     json.RawMessage `json:"insertId"`
	LogName      json.RawMessage `json:"logName"`
}

func (p *probe) logEntry() bool {
	return p.ProtoPayload != nil || p.InsertID != nil || p.LogName != nil
}

// Decode parses a delivery body of any form and normalizes its LogEntry.
// It returns an error wrapping ErrNotDelivery only when the body as a
// whole is unusable; a recognised body that cannot be normalized is a
// Result with a *change.DroppedError (change.ReasonMalformed for bad
// base64, a non-JSON message, a missing insertId, ...). It never panics.
func (n *Normalizer) Decode(body []byte) (Result, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Result{}, fmt.Errorf("%w: a body is one JSON object, not %.20q", ErrNotDelivery, body)
	}
	var p probe
	if err := json.Unmarshal(body, &p); err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNotDelivery, err)
	}
	switch {
	case p.SpecVersion != nil:
		return n.cloudEvent(&p), nil
	case p.Message != nil:
		return n.push(p.Message, FormPush), nil
	case p.logEntry():
		return n.entry(body, Result{Form: FormLogEntry}), nil
	}
	return Result{}, fmt.Errorf("%w: the object has no message (Pub/Sub push), specversion (CloudEvent) or protoPayload/insertId/logName (LogEntry)", ErrNotDelivery)
}

// DecodeMessage normalizes the LogEntry of a Pub/Sub message as a pull
// subscriber receives it: data is already base64-decoded. The attributes
// and publish time are the message's; the LogEntry carries everything the
// Change needs (the sink's only attribute, logging.googleapis.com/timestamp,
// repeats the entry's timestamp), so they are accepted for the caller's
// convenience and not read.
func (n *Normalizer) DecodeMessage(data []byte, attributes map[string]string, messageID string, publishTime time.Time) Result {
	_, _ = attributes, publishTime
	return n.message(data, Result{Form: FormMessage, MessageID: messageID})
}

// DecodeEntry normalizes one bare LogEntry.
func (n *Normalizer) DecodeEntry(entry []byte) Result {
	return n.entry(bytes.TrimSpace(entry), Result{Form: FormLogEntry})
}

// pubsubMessage is a PubsubMessage in its JSON form. Google's samples
// carry both the camelCase and the snake_case id.
type pubsubMessage struct {
	Data       *string `json:"data"`
	MessageID  string  `json:"messageId"`
	MessageID2 string  `json:"message_id"`
}

// push normalizes the message of a push body ({"message": ...}).
func (n *Normalizer) push(rawMessage json.RawMessage, form Form) Result {
	res := Result{Form: form}
	var m pubsubMessage
	if len(rawMessage) == 0 || rawMessage[0] != '{' {
		return malformed(res, "the push body's message is not a JSON object")
	}
	if err := json.Unmarshal(rawMessage, &m); err != nil {
		return malformed(res, "decode the Pub/Sub message: %v", err)
	}
	res.MessageID = first(m.MessageID, m.MessageID2)
	if m.Data == nil || *m.Data == "" {
		return malformed(res, "the Pub/Sub message has no data")
	}
	data, err := base64.StdEncoding.DecodeString(*m.Data)
	if err != nil {
		return malformed(res, "the Pub/Sub message data is not base64: %v", err)
	}
	return n.message(data, res)
}

// message normalizes the data of a Pub/Sub message, which a Log Router
// sink fills with the LogEntry's JSON.
func (n *Normalizer) message(data []byte, res Result) Result {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return malformed(res, "the Pub/Sub message data is not a JSON LogEntry (%.20q)", data)
	}
	return n.entry(data, res)
}

// cloudEvent normalizes a structured-mode Eventarc CloudEvent.
func (n *Normalizer) cloudEvent(p *probe) Result {
	res := Result{Form: FormEventarcPubSub, MessageID: jsonString(p.ID)}
	typ := jsonString(p.Type)
	switch {
	case jsonString(p.SpecVersion) != "1.0":
		return malformed(res, "CloudEvent specversion is %s, want \"1.0\"", truncate(p.SpecVersion))
	case res.MessageID == "":
		return malformed(res, "CloudEvent has no id")
	case typ == "":
		return malformed(res, "CloudEvent %s has no type", res.MessageID)
	}
	data := p.Data
	if data == nil && p.DataBase64 != nil {
		b, err := base64.StdEncoding.DecodeString(jsonString(p.DataBase64))
		if err != nil {
			return malformed(res, "CloudEvent data_base64 is not base64: %v", err)
		}
		data = b
	}
	data = bytes.TrimSpace(data)
	switch typ {
	case EventTypeMessagePublished:
		var body struct {
			Message json.RawMessage `json:"message"`
		}
		if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &body) != nil || body.Message == nil {
			return malformed(res, "%s CloudEvent data is not a {\"message\": ...} object", typ)
		}
		r := n.push(body.Message, FormEventarcPubSub)
		r.MessageID = first(r.MessageID, res.MessageID)
		return r
	case EventTypeAuditLogWritten:
		res.Form = FormEventarcAudit
		if len(data) == 0 || data[0] != '{' {
			return malformed(res, "%s CloudEvent data is not a LogEntry object", typ)
		}
		return n.entry(data, res)
	}
	return drop(res, change.ReasonNotAudit, "CloudEvent type %s is not a Pub/Sub message or an audit log entry", typ)
}

// logEntry is the part of a LogEntry the normalizer reads.
type logEntry struct {
	InsertID     string          `json:"insertId"`
	LogName      string          `json:"logName"`
	Timestamp    string          `json:"timestamp"`
	ProtoPayload json.RawMessage `json:"protoPayload"`
	Resource     struct {
		Type   string            `json:"type"`
		Labels map[string]string `json:"labels"`
	} `json:"resource"`
}

// auditLog is the part of an AuditLog the normalizer reads. The caller's
// members are kept raw and read tolerantly (actorOf): a hand-edited or odd
// member must not cost the event.
type auditLog struct {
	Type         string `json:"@type"`
	ServiceName  string `json:"serviceName"`
	MethodName   string `json:"methodName"`
	ResourceName string `json:"resourceName"`
	Status       *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	AuthenticationInfo json.RawMessage `json:"authenticationInfo"`
	RequestMetadata    json.RawMessage `json:"requestMetadata"`
}

// The audit logs, as logName's LOG_ID names them (URL-decoded).
const (
	logActivity   = "cloudaudit.googleapis.com/activity"
	logDataAccess = "cloudaudit.googleapis.com/data_access"
	logSystem     = "cloudaudit.googleapis.com/system_event"
	logPolicy     = "cloudaudit.googleapis.com/policy"
)

// entry normalizes one LogEntry object.
func (n *Normalizer) entry(raw []byte, res Result) Result {
	var e logEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return malformed(res, "decode the LogEntry: %v", err)
	}
	if e.InsertID == "" {
		// insertId is half of the deduplication key: without it the entry
		// could be processed any number of times.
		return malformed(res, "the LogEntry has no insertId")
	}
	if e.Timestamp == "" {
		return malformed(res, "LogEntry %s has no timestamp", e.InsertID)
	}
	t, err := time.Parse(time.RFC3339Nano, e.Timestamp)
	if err != nil {
		return malformed(res, "LogEntry %s: timestamp %q is not an RFC 3339 time", e.InsertID, e.Timestamp)
	}
	t = t.UTC()
	res.EventID = eventID(e.InsertID, t)

	if len(e.ProtoPayload) == 0 || string(e.ProtoPayload) == "null" {
		return drop(res, change.ReasonNotAudit, "the LogEntry has no protoPayload (a text or JSON log, not an audit log)")
	}
	var a auditLog
	if e.ProtoPayload[0] != '{' {
		return malformed(res, "protoPayload is not a JSON object")
	}
	if err := json.Unmarshal(e.ProtoPayload, &a); err != nil {
		var typ struct {
			Type any `json:"@type"`
		}
		if json.Unmarshal(e.ProtoPayload, &typ) == nil && typ.Type != AuditLogType && typ.Type != nil {
			return drop(res, change.ReasonNotAudit, "protoPayload @type %v is not %s", typ.Type, AuditLogType)
		}
		return malformed(res, "decode the AuditLog: %v", err)
	}
	logID := logIDOf(e.LogName)
	switch {
	case a.Type == "" && strings.HasPrefix(logID, "cloudaudit.googleapis.com/"):
		// Eventarc's LogEntryData (google.cloud.audit.log.v1.written, in
		// both content modes) types protoPayload as an AuditLog by schema
		// and writes no @type; an audit log holds nothing else.
	case a.Type == "":
		return malformed(res, "protoPayload has no @type (and logName %q names no Cloud Audit Logs log)", e.LogName)
	case a.Type != AuditLogType:
		return drop(res, change.ReasonNotAudit, "protoPayload @type %s is not %s", a.Type, AuditLogType)
	}

	switch logID {
	case logActivity:
	case "":
		// No logName: hand-written samples and tests. The sink's filter
		// only lets Admin Activity entries through, and every entry it
		// publishes names its log.
	case logDataAccess:
		return drop(res, change.ReasonNotAudit, "a Data Access audit log entry (%s): reads and data writes, never configuration; configuration changes are in the Admin Activity log", orDash(a.MethodName))
	case logSystem:
		return drop(res, change.ReasonNotAudit, "a System Event audit log entry (%s): Google-initiated, no caller", orDash(a.MethodName))
	case logPolicy:
		return drop(res, change.ReasonFailed, "a Policy Denied audit log entry (%s): the call was refused", orDash(a.MethodName))
	default:
		return drop(res, change.ReasonNotAudit, "log %q is not the Admin Activity audit log", logID)
	}

	if a.Status != nil && a.Status.Code != 0 {
		return drop(res, change.ReasonFailed, "%s failed with status %d %s", orDash(a.MethodName), a.Status.Code, a.Status.Message)
	}
	if a.MethodName == "" {
		return malformed(res, "the AuditLog has no methodName")
	}
	if readOnly(a.MethodName) {
		return drop(res, change.ReasonReadOnly, "%s %s reads, it cannot change configuration", orDash(a.ServiceName), a.MethodName)
	}
	m, ok := n.index[key{a.ServiceName, a.MethodName}]
	if !ok {
		return drop(res, change.ReasonUnsupported, "%s %s is not in the method table", orDash(a.ServiceName), a.MethodName)
	}
	project := projectOf(&e, a.ResourceName)
	ref, err := resourceOf(m.Type, a.ResourceName, e.Resource.Labels, project)
	if err != nil {
		return drop(res, change.ReasonUnsupported, "%s %s: %v", a.ServiceName, a.MethodName, err)
	}
	if ref.ID == "" {
		return drop(res, change.ReasonNoResource, "%s %s: resourceName %q names no %s", a.ServiceName, a.MethodName, a.ResourceName, m.Type)
	}
	if ref.Account == "" {
		return drop(res, change.ReasonNoResource, "%s %s on %s: no project (resource.labels.project_id, resourceName or logName)", a.ServiceName, a.MethodName, ref.ID)
	}
	ref.Region = regionOf(e.Resource.Labels)
	res.Change = change.Change{
		EventID:   res.EventID,
		Cloud:     change.GCP,
		Account:   ref.Account,
		Region:    ref.Region,
		Service:   a.ServiceName,
		Operation: a.MethodName,
		Resources: []change.ResourceRef{ref},
		Actor:     actorOf(a.AuthenticationInfo, a.RequestMetadata),
		Time:      t,
	}
	return res
}

// eventID is the deduplication key of a LogEntry: its insertId and its
// timestamp, in one canonical spelling (UTC, RFC 3339 with the shortest
// fraction), so that a JSON rendering's trailing zeros cannot split one
// entry into two keys. Cloud Logging itself treats entries of one project
// with the same insertId and timestamp as duplicates; the sink publishes
// one project's (or one organization's aggregated) logs, and the pair is
// what survives every delivery form (a Pub/Sub message id does not: a
// re-published entry gets a new one).
func eventID(insertID string, t time.Time) string {
	return insertID + "@" + t.Format(time.RFC3339Nano)
}

// logIDOf returns the URL-decoded LOG_ID of a logName
// (projects/P/logs/cloudaudit.googleapis.com%2Factivity →
// cloudaudit.googleapis.com/activity), or "" for an empty logName.
func logIDOf(logName string) string {
	if logName == "" {
		return ""
	}
	id := logName
	if i := strings.LastIndex(logName, "/logs/"); i >= 0 {
		id = logName[i+len("/logs/"):]
	}
	if dec, err := url.PathUnescape(id); err == nil {
		return dec
	}
	return id
}

// readOnly reports whether a method cannot change configuration, from the
// verb of its last dotted segment: v1.compute.firewalls.get,
// storage.buckets.list, GetIamPolicy, google.iam.v1.IAMPolicy.TestIamPermissions.
func readOnly(method string) bool {
	verb := strings.ToLower(method[strings.LastIndex(method, ".")+1:])
	for _, p := range []string{"get", "list", "aggregatedlist", "testiampermissions", "search", "lookup", "batchget", "watch"} {
		if strings.HasPrefix(verb, p) {
			return true
		}
	}
	return false
}

// projectOf is the project an entry's resource belongs to:
// resource.labels.project_id, else the resourceName's projects/{p}, else
// the logName's.
func projectOf(e *logEntry, resourceName string) string {
	if p := e.Resource.Labels["project_id"]; p != "" {
		return p
	}
	if p := after(segments(resourceName), "projects"); p != "" && p != "_" && p != "-" {
		return p
	}
	if segs := strings.Split(e.LogName, "/"); len(segs) >= 2 && segs[0] == "projects" {
		return segs[1]
	}
	return ""
}

func regionOf(labels map[string]string) string {
	return first(labels["location"], labels["region"])
}

func malformed(res Result, format string, args ...any) Result {
	return drop(res, change.ReasonMalformed, format, args...)
}

func drop(res Result, reason change.DropReason, format string, args ...any) Result {
	res.Err = change.Drop(reason, format, args...)
	return res
}

// jsonString returns the value of a raw JSON string, or "".
func jsonString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// truncate quotes at most 40 bytes of a raw value for a message.
func truncate(raw json.RawMessage) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
