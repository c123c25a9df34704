// Package gcpfake is an in-memory fake of the Google Cloud REST APIs
// driftwatch calls, for tests and the local demo.
//
// No emulator exists for these APIs: fake-gcs-server does not report
// bucket IAM, uniform bucket-level access or public access prevention,
// and Google ships no emulator for Compute Engine, Cloud SQL Admin,
// Resource Manager, IAM or Cloud KMS. So this is a hand-written fake of
// the documented REST shapes (real paths, JSON field names and Google's
// error JSON), kept to the methods driftwatch calls:
//
//	Storage JSON v1      GET/PATCH /storage/v1/b/{bucket}, GET/PUT /storage/v1/b/{bucket}/iam
//	Compute v1           GET/PATCH /compute/v1/projects/{p}/global/firewalls/{f},
//	                     GET .../global/operations/{op}, POST .../global/operations/{op}/wait
//	Cloud SQL Admin v1   GET/PATCH /v1/projects/{p}/instances/{i}, GET /v1/projects/{p}/operations/{op}
//	Resource Manager v3  GET /v3/projects/{p}, POST /v3/projects/{p}:getIamPolicy, :setIamPolicy
//	IAM v1               GET /v1/projects/{p}/serviceAccounts/{email}, GET .../keys
//	Cloud KMS v1         GET/PATCH /v1/projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}
//
// Clients reach it through gcpapi.Options{Endpoint: url}, which keeps each
// service's path. Resources are kept as the JSON objects the API returns:
// a PATCH deep-merges the fields sent into them (objects merge, arrays
// and scalars are replaced, null deletes), as Google's PATCH semantics
// say. Seeding and inspection use the google.golang.org/api types.
//
// Long-running operations (a firewall or Cloud SQL PATCH) are created
// RUNNING (Compute) or PENDING (Cloud SQL) and the change is applied when
// the operation completes: on the first poll (GET, or POST .../wait for
// Compute) after SetOperationPolls' count of polls. A client that does
// not wait for its operation does not see its change, as on GCP. An
// operation made to fail (FailNextOperation) completes with an error and
// changes nothing.
//
// Fault injection is per Server, so tests that inject faults use their
// own: FailWrite, Deny, FailReads, FailNextOperation; Requests is the log
// of every request. A Server is safe for concurrent use; requests are
// served one at a time.
//
// Files named extra_*.go may add routes by appending to extraRoutes in
// an init function.
package gcpfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
)

// Request is one request the Server received.
type Request struct {
	Method string
	// Path is the unescaped URL path.
	Path  string
	Query url.Values
	// Write is true for a call that mutates (PATCH, PUT, setIamPolicy).
	Write bool
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	mu sync.Mutex

	buckets    map[string]*bucket
	firewalls  map[string]object // by project/name
	instances  map[string]object // by project/name
	projects   map[string]*projectState
	accounts   map[string]*account // by project/email
	cryptoKeys map[string]object   // by full name
	ops        map[string]*operation

	seq int64
	now func() time.Time

	// Faults.
	writes      int
	failWrites  map[int]bool
	denials     []denial
	readFaults  map[string]int
	failNextOps []string
	opPolls     int

	log []Request

	routes []route
}

// object is a resource as its JSON object.
type object = map[string]any

type denial struct{ method, pattern string }

// New returns an empty Server.
func New() *Server {
	s := &Server{
		buckets: map[string]*bucket{}, firewalls: map[string]object{}, instances: map[string]object{},
		projects: map[string]*projectState{}, accounts: map[string]*account{}, cryptoKeys: map[string]object{},
		ops: map[string]*operation{}, failWrites: map[int]bool{}, readFaults: map[string]int{},
		now: func() time.Time { return time.Now().UTC() },
	}
	s.routes = append(builtinRoutes(), extraRoutes...)
	return s
}

// Start serves s on a local listener until the test ends and returns its
// base URL, for gcpapi.Options.Endpoint.
func (s *Server) Start(t testing.TB) string {
	t.Helper()
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL
}

// route is one REST method the fake serves.
type route struct {
	method, pattern string
	// write counts the call for FailWrite; reads and operation polls do
	// not count.
	write  bool
	handle func(s *Server, c *call)
}

// extraRoutes are appended to the built-in routes by files that extend
// the fake (extra_*.go, in init).
var extraRoutes []route

// call is one request being served, with s.mu held.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	vars map[string]string
	body []byte
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var err error
	if r.Body != nil {
		body, err = io.ReadAll(r.Body)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &call{w: w, r: r, body: body}
	var rt *route
	for i := range s.routes {
		if !strings.EqualFold(s.routes[i].method, r.Method) {
			continue
		}
		if vars, ok := gcpapi.MatchPath(s.routes[i].pattern, r.URL.Path); ok {
			rt, c.vars = &s.routes[i], vars
			break
		}
	}
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Write: rt != nil && rt.write})
	if rt == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("gcpfake: no method %s %s", r.Method, r.URL.Path))
		return
	}
	for _, d := range s.denials {
		if (d.method == "" || strings.EqualFold(d.method, r.Method)) && matches(d.pattern, r.URL.Path) {
			writeError(w, http.StatusForbidden, "gcpfake: permission denied on "+r.URL.Path)
			return
		}
	}
	if rt.write {
		s.writes++
		if s.failWrites[s.writes] {
			delete(s.failWrites, s.writes)
			writeError(w, http.StatusForbidden, fmt.Sprintf("gcpfake: write %d refused (injected)", s.writes))
			return
		}
	} else if !isPoll(rt.pattern) {
		for prefix, status := range s.readFaults {
			if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") || strings.HasPrefix(r.URL.Path, prefix+":") {
				writeError(w, status, fmt.Sprintf("gcpfake: injected %d on %s", status, r.URL.Path))
				return
			}
		}
	}
	rt.handle(s, c)
}

// matches: a deny pattern is a path or a gcpapi path pattern.
func matches(pattern, path string) bool {
	if pattern == path {
		return true
	}
	_, ok := gcpapi.MatchPath(pattern, path)
	return ok
}

func isPoll(pattern string) bool { return strings.Contains(pattern, "/operations/") }

// FailWrite makes the n-th write from now (1 is the next one) fail with
// 403 PERMISSION_DENIED and no state change; every other call goes
// through. Writes are PATCH, PUT and setIamPolicy calls; reads and
// operation polls do not count.
func (s *Server) FailWrite(n int) {
	if n < 1 {
		panic("gcpfake: FailWrite needs n >= 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWrites[s.writes+n] = true
}

// Writes returns how many writes the Server received, failed ones
// included.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Deny answers 403 PERMISSION_DENIED to every request with this method
// ("" for any) whose path is pattern or matches it as a gcpapi path
// pattern ("/storage/v1/b/{bucket}/iam").
func (s *Server) Deny(method, pattern string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denials = append(s.denials, denial{method, pattern})
}

// FailReads answers status (503, 429...) to every read of path and of
// the paths under it ("/storage/v1/b/b1" covers ".../b1/iam";
// "/v3/projects/p1" covers ":getIamPolicy"). Writes and operation polls
// are not affected. Status 0 clears the fault.
func (s *Server) FailReads(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.readFaults, path)
		return
	}
	s.readFaults[path] = status
}

// FailNextOperation makes the next long-running operation the Server
// creates complete with an error carrying message, without applying its
// change.
func (s *Server) FailNextOperation(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNextOps = append(s.failNextOps, message)
}

// SetOperationPolls sets how many polls an operation answers still
// running before it completes (0, the default: the first poll completes
// it).
func (s *Server) SetOperationPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opPolls = n
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// SetClock replaces the clock timestamps (updated, insertTime) come from.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// nextID returns a fresh decimal id.
func (s *Server) nextID() string {
	s.seq++
	return strconv.FormatInt(1000000000+s.seq, 10)
}

func (s *Server) timestamp() string { return s.now().Format(time.RFC3339Nano) }

// --- JSON helpers ---------------------------------------------------

// toObject converts an API type (or any JSON value) to its JSON object.
func toObject(v any) object {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("gcpfake: %v", err))
	}
	o, err := decodeObject(b)
	if err != nil {
		panic(fmt.Sprintf("gcpfake: %v", err))
	}
	if o == nil {
		o = object{}
	}
	return o
}

// decodeObject decodes a JSON object, keeping numbers exact.
func decodeObject(b []byte) (object, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return object{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var o object
	if err := d.Decode(&o); err != nil {
		return nil, err
	}
	return o, nil
}

// fromObject converts a JSON object to an API type.
func fromObject[T any](o object) *T {
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("gcpfake: %v", err))
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Sprintf("gcpfake: %v", err))
	}
	return v
}

// clone deep-copies a JSON object.
func clone(o object) object {
	if o == nil {
		return nil
	}
	return toObject(o)
}

// merge applies a PATCH body: nested objects merge, arrays and scalars
// replace, null deletes.
func merge(dst, patch object) {
	for k, v := range patch {
		if v == nil {
			delete(dst, k)
			continue
		}
		if pv, ok := v.(object); ok {
			if dv, ok := dst[k].(object); ok {
				merge(dv, pv)
				continue
			}
			dst[k] = clone(pv)
			continue
		}
		dst[k] = v
	}
}

// str reads a string field.
func str(o object, key string) string {
	s, _ := o[key].(string)
	return s
}

// intField reads an integer field written as a number or a string.
func intField(o object, key string) int64 {
	switch v := o[key].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	case float64:
		return int64(v)
	}
	return 0
}

// --- responses ------------------------------------------------------

func (c *call) reply(v any) {
	c.w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	c.w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(c.w).Encode(v)
}

func (c *call) fail(code int, message string) { writeError(c.w, code, message) }

// decode reads the request body as a JSON object, answering 400 when it
// is not one.
func (c *call) decode() (object, bool) {
	o, err := decodeObject(c.body)
	if err != nil {
		c.fail(http.StatusBadRequest, "invalid JSON payload: "+err.Error())
		return nil, false
	}
	return o, true
}

// statuses maps HTTP codes to Google's canonical status and the legacy
// reason of errors[].
var statuses = map[int][2]string{
	http.StatusBadRequest:          {"INVALID_ARGUMENT", "invalid"},
	http.StatusUnauthorized:        {"UNAUTHENTICATED", "authError"},
	http.StatusForbidden:           {"PERMISSION_DENIED", "forbidden"},
	http.StatusNotFound:            {"NOT_FOUND", "notFound"},
	http.StatusConflict:            {"ABORTED", "conflict"},
	http.StatusPreconditionFailed:  {"FAILED_PRECONDITION", "conditionNotMet"},
	http.StatusTooManyRequests:     {"RESOURCE_EXHAUSTED", "rateLimitExceeded"},
	http.StatusInternalServerError: {"INTERNAL", "backendError"},
	http.StatusServiceUnavailable:  {"UNAVAILABLE", "backendError"},
}

// writeError writes Google's error JSON:
// {"error":{"code":404,"message":"...","status":"NOT_FOUND","errors":[...]}}.
func writeError(w http.ResponseWriter, code int, message string) {
	st, ok := statuses[code]
	if !ok {
		st = [2]string{"UNKNOWN", "unknown"}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": message, "status": st[0],
		"errors": []any{map[string]any{"message": message, "domain": "global", "reason": st[1]}},
	}})
}
