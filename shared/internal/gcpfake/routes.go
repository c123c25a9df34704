package gcpfake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

func builtinRoutes() []route {
	return []route{
		{http.MethodGet, "/storage/v1/b/{bucket}", false, (*Server).getBucket},
		{http.MethodPatch, "/storage/v1/b/{bucket}", true, (*Server).patchBucket},
		{http.MethodGet, "/storage/v1/b/{bucket}/iam", false, (*Server).getBucketIAM},
		{http.MethodPut, "/storage/v1/b/{bucket}/iam", true, (*Server).setBucketIAM},

		{http.MethodGet, "/compute/v1/projects/{project}/global/firewalls/{firewall}", false, (*Server).getFirewall},
		{http.MethodPatch, "/compute/v1/projects/{project}/global/firewalls/{firewall}", true, (*Server).patchFirewall},
		{http.MethodGet, "/compute/v1/projects/{project}/global/operations/{operation}", false, (*Server).getComputeOperation},
		{http.MethodPost, "/compute/v1/projects/{project}/global/operations/{operation}/wait", false, (*Server).waitComputeOperation},

		{http.MethodGet, "/v1/projects/{project}/instances/{instance}", false, (*Server).getInstance},
		{http.MethodPatch, "/v1/projects/{project}/instances/{instance}", true, (*Server).patchInstance},
		{http.MethodGet, "/v1/projects/{project}/operations/{operation}", false, (*Server).getSQLOperation},

		{http.MethodGet, "/v3/projects/{project}", false, (*Server).getProject},
		{http.MethodPost, "/v3/projects/{project}:getIamPolicy", false, (*Server).getProjectIAM},
		{http.MethodPost, "/v3/projects/{project}:setIamPolicy", true, (*Server).setProjectIAM},

		{http.MethodGet, "/v1/projects/{project}/serviceAccounts/{account}", false, (*Server).getServiceAccount},
		{http.MethodGet, "/v1/projects/{project}/serviceAccounts/{account}/keys", false, (*Server).listServiceAccountKeys},

		{http.MethodGet, "/v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}", false, (*Server).getCryptoKey},
		{http.MethodPatch, "/v1/projects/{project}/locations/{location}/keyRings/{keyRing}/cryptoKeys/{cryptoKey}", true, (*Server).patchCryptoKey},
	}
}

// --- IAM policies (bucket and project) --------------------------------

// checkPolicyVersion refuses, as Google does, to return a policy with
// conditional bindings to a client that asked for a version below 3: it
// would drop the conditions.
func checkPolicyVersion(policy object, requested int64) error {
	if requested >= 3 {
		return nil
	}
	bindings, _ := policy["bindings"].([]any)
	for _, b := range bindings {
		if bo, ok := b.(object); ok && bo["condition"] != nil {
			return fmt.Errorf("policy has conditional role bindings; request policy version 3 (requested %d)", requested)
		}
	}
	return nil
}

// etagOf returns a fresh policy etag (base64, as Google's are).
func (s *Server) etag() string {
	s.seq++
	return base64.StdEncoding.EncodeToString([]byte("etag-" + strconv.FormatInt(s.seq, 10)))
}

// policyVersion is 3 when a binding has a condition, else 1.
func policyVersion(policy object) int {
	if checkPolicyVersion(policy, 1) != nil {
		return 3
	}
	return 1
}

// --- long-running operations ----------------------------------------

type operation struct {
	obj object
	// polls is how many more polls see the operation running.
	polls int
	// apply makes the change, with s.mu held, when the operation succeeds.
	apply   func()
	failure string
	// failed writes the operation's error into obj.
	failed func(message string)
}

// newOperation registers an operation under key.
func (s *Server) newOperation(key string, obj object, apply func(), failed func(string)) *operation {
	op := &operation{obj: obj, polls: s.opPolls, apply: apply, failed: failed}
	if len(s.failNextOps) > 0 {
		op.failure, s.failNextOps = s.failNextOps[0], s.failNextOps[1:]
	}
	s.ops[key] = op
	return op
}

// poll advances op; wait completes it at once.
func (s *Server) poll(op *operation, wait bool) {
	if op.obj["status"] == "DONE" {
		return
	}
	if op.polls > 0 && !wait {
		op.polls--
		op.obj["status"] = "RUNNING"
		return
	}
	op.obj["status"] = "DONE"
	op.obj["endTime"] = s.timestamp()
	if op.failure != "" {
		op.failed(op.failure)
		return
	}
	op.apply()
}

// --- Resource Manager -------------------------------------------------

type projectState struct {
	obj    object
	policy object
}

// findProject looks a project up by id or by number (projects/{number}).
func (s *Server) findProject(idOrNumber string) (*projectState, bool) {
	if p, ok := s.projects[idOrNumber]; ok {
		return p, true
	}
	for _, p := range s.projects {
		if str(p.obj, "name") == "projects/"+idOrNumber {
			return p, true
		}
	}
	return nil, false
}

func (s *Server) getProject(c *call) {
	p, ok := s.findProject(c.vars["project"])
	if !ok {
		c.fail(http.StatusForbidden, fmt.Sprintf("Permission denied on resource 'projects/%s' (or it may not exist).", c.vars["project"]))
		return
	}
	c.reply(p.obj)
}

func (s *Server) getProjectIAM(c *call) {
	p, ok := s.findProject(c.vars["project"])
	if !ok {
		c.fail(http.StatusForbidden, fmt.Sprintf("Permission denied on resource 'projects/%s' (or it may not exist).", c.vars["project"]))
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	var requested int64
	if opts, ok := body["options"].(object); ok {
		requested = intField(opts, "requestedPolicyVersion")
	}
	if err := checkPolicyVersion(p.policy, requested); err != nil {
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	c.reply(p.policy)
}

// setProjectIAM honours the etag (409 ABORTED on a mismatch, as Resource
// Manager answers) and the update mask, whose default is "bindings,etag".
func (s *Server) setProjectIAM(c *call) {
	p, ok := s.findProject(c.vars["project"])
	if !ok {
		c.fail(http.StatusForbidden, fmt.Sprintf("Permission denied on resource 'projects/%s' (or it may not exist).", c.vars["project"]))
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	policy, _ := body["policy"].(object)
	if policy == nil {
		c.fail(http.StatusBadRequest, "policy is required")
		return
	}
	if e := str(policy, "etag"); e != "" && e != str(p.policy, "etag") {
		c.fail(http.StatusConflict, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
		return
	}
	mask := []string{"bindings", "etag"}
	if m := str(body, "updateMask"); m != "" {
		mask = strings.Split(m, ",")
	}
	next := clone(p.policy)
	for _, f := range mask {
		switch f = strings.TrimSpace(f); f {
		case "bindings", "auditConfigs", "version":
			if v, ok := policy[f]; ok {
				next[f] = v
			} else {
				delete(next, f)
			}
		case "etag":
		default:
			c.fail(http.StatusBadRequest, fmt.Sprintf("invalid update mask path %q", f))
			return
		}
	}
	next["version"] = policyVersion(next)
	next["etag"] = s.etag()
	p.policy = toObject(next)
	c.reply(p.policy)
}

// --- IAM ----------------------------------------------------------------

type account struct {
	obj  object
	keys []object
}

// findAccount accepts a project or "-", and an email or a unique id.
func (s *Server) findAccount(proj, id string) (*account, bool) {
	if a, ok := s.accounts[proj+"/"+id]; ok {
		return a, true
	}
	for _, a := range s.accounts {
		if (proj == "-" || str(a.obj, "projectId") == proj) && (str(a.obj, "email") == id || str(a.obj, "uniqueId") == id) {
			return a, true
		}
	}
	return nil, false
}

func (s *Server) getServiceAccount(c *call) {
	a, ok := s.findAccount(c.vars["project"], c.vars["account"])
	if !ok {
		c.fail(http.StatusNotFound, fmt.Sprintf("Unknown service account %s", c.vars["account"]))
		return
	}
	c.reply(a.obj)
}

// listServiceAccountKeys filters on keyTypes (every type when absent).
func (s *Server) listServiceAccountKeys(c *call) {
	a, ok := s.findAccount(c.vars["project"], c.vars["account"])
	if !ok {
		c.fail(http.StatusNotFound, fmt.Sprintf("Unknown service account %s", c.vars["account"]))
		return
	}
	types := c.r.URL.Query()["keyTypes"]
	keys := []any{}
	for _, k := range a.keys {
		if len(types) == 0 || slices.Contains(types, str(k, "keyType")) {
			keys = append(keys, k)
		}
	}
	c.reply(object{"keys": keys})
}

// --- Cloud KMS ----------------------------------------------------------

func cryptoKeyName(v map[string]string) string {
	return "projects/" + v["project"] + "/locations/" + v["location"] + "/keyRings/" + v["keyRing"] + "/cryptoKeys/" + v["cryptoKey"]
}

func (s *Server) getCryptoKey(c *call) {
	k, ok := s.cryptoKeys[cryptoKeyName(c.vars)]
	if !ok {
		c.fail(http.StatusNotFound, cryptoKeyName(c.vars)+" not found.")
		return
	}
	c.reply(k)
}

// patchCryptoKey applies the fields of updateMask (required, as in Cloud
// KMS): each listed field is set from the body, or cleared when the body
// leaves it out.
func (s *Server) patchCryptoKey(c *call) {
	name := cryptoKeyName(c.vars)
	k, ok := s.cryptoKeys[name]
	if !ok {
		c.fail(http.StatusNotFound, name+" not found.")
		return
	}
	mask := c.r.URL.Query().Get("updateMask")
	if mask == "" {
		c.fail(http.StatusBadRequest, "The request must specify an update_mask.")
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	next := clone(k)
	for _, path := range strings.Split(mask, ",") {
		if err := setPath(next, body, strings.Split(strings.TrimSpace(path), ".")); err != nil {
			c.fail(http.StatusBadRequest, err.Error())
			return
		}
	}
	if str(next, "rotationPeriod") != "" && str(next, "nextRotationTime") == "" {
		c.fail(http.StatusBadRequest, "next_rotation_time must be set when rotation_period is set.")
		return
	}
	s.cryptoKeys[name] = next
	c.reply(next)
}

// setPath copies the value at path from src to dst, deleting it from dst
// when src lacks it.
func setPath(dst, src object, path []string) error {
	if len(path) == 0 || path[0] == "" {
		return fmt.Errorf("invalid update mask path %q", strings.Join(path, "."))
	}
	if len(path) == 1 {
		if v, ok := src[path[0]]; ok && v != nil {
			dst[path[0]] = v
		} else {
			delete(dst, path[0])
		}
		return nil
	}
	sub, _ := src[path[0]].(object)
	if sub == nil {
		sub = object{}
	}
	d, _ := dst[path[0]].(object)
	if d == nil {
		d = object{}
		dst[path[0]] = d
	}
	return setPath(d, sub, path[1:])
}
