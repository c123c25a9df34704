package gcpfake

import (
	"fmt"
	"net/http"
	"strconv"
)

// --- Cloud Storage ----------------------------------------------------

type bucket struct {
	obj    object
	policy object
}

func (s *Server) findBucket(c *call) (*bucket, bool) {
	b, ok := s.buckets[c.vars["bucket"]]
	if !ok {
		c.fail(http.StatusNotFound, "The specified bucket does not exist.")
	}
	return b, ok
}

// checkMetageneration honours ifMetagenerationMatch (412 on a mismatch).
func checkMetageneration(c *call, b *bucket) bool {
	want := c.r.URL.Query().Get("ifMetagenerationMatch")
	if want == "" {
		return true
	}
	if n, err := strconv.ParseInt(want, 10, 64); err != nil || n != intField(b.obj, "metageneration") {
		c.fail(http.StatusPreconditionFailed, "Precondition Failed")
		return false
	}
	return true
}

func (s *Server) getBucket(c *call) {
	if b, ok := s.findBucket(c); ok && checkMetageneration(c, b) {
		c.reply(b.obj)
	}
}

// bump records a change to the bucket: a new metageneration and etag.
func (s *Server) bump(b *bucket) {
	mg := intField(b.obj, "metageneration") + 1
	b.obj["metageneration"] = strconv.FormatInt(mg, 10)
	b.obj["etag"] = "CA" + strconv.FormatInt(mg, 10) + "="
	b.obj["updated"] = s.timestamp()
}

func (s *Server) patchBucket(c *call) {
	b, ok := s.findBucket(c)
	if !ok || !checkMetageneration(c, b) {
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	for _, k := range []string{"name", "id", "projectNumber", "location", "metageneration", "kind", "selfLink"} {
		delete(body, k) // output-only or immutable
	}
	merge(b.obj, body)
	s.bump(b)
	c.reply(b.obj)
}

func (s *Server) getBucketIAM(c *call) {
	b, ok := s.findBucket(c)
	if !ok {
		return
	}
	requested, _ := strconv.ParseInt(c.r.URL.Query().Get("optionsRequestedPolicyVersion"), 10, 64)
	if err := checkPolicyVersion(b.policy, requested); err != nil {
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	c.reply(b.policy)
}

// setBucketIAM replaces the policy; a non-empty etag must be the current
// one (412 otherwise). The write bumps the bucket's metageneration, as in
// Cloud Storage.
func (s *Server) setBucketIAM(c *call) {
	b, ok := s.findBucket(c)
	if !ok {
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	if e := str(body, "etag"); e != "" && e != str(b.policy, "etag") {
		c.fail(http.StatusPreconditionFailed, "Precondition Failed")
		return
	}
	b.policy = s.bucketPolicy(c.vars["bucket"], body)
	s.bump(b)
	c.reply(b.policy)
}

// bucketPolicy fills a bucket policy's output fields.
func (s *Server) bucketPolicy(name string, p object) object {
	p = clone(p)
	if p == nil {
		p = object{}
	}
	if _, ok := p["bindings"]; !ok {
		p["bindings"] = []any{}
	}
	p["kind"] = "storage#policy"
	p["resourceId"] = "projects/_/buckets/" + name
	p["version"] = policyVersion(p)
	p["etag"] = s.etag()
	return p
}

// --- Compute Engine -----------------------------------------------------

func (s *Server) getFirewall(c *call) {
	key := c.vars["project"] + "/" + c.vars["firewall"]
	fw, ok := s.firewalls[key]
	if !ok {
		c.fail(http.StatusNotFound, fmt.Sprintf("The resource 'projects/%s/global/firewalls/%s' was not found", c.vars["project"], c.vars["firewall"]))
		return
	}
	c.reply(fw)
}

// patchFirewall returns a RUNNING operation; the change applies when it
// completes.
func (s *Server) patchFirewall(c *call) {
	proj, name := c.vars["project"], c.vars["firewall"]
	key := proj + "/" + name
	fw, ok := s.firewalls[key]
	if !ok {
		c.fail(http.StatusNotFound, fmt.Sprintf("The resource 'projects/%s/global/firewalls/%s' was not found", proj, name))
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	for _, k := range []string{"name", "id", "selfLink", "kind", "creationTimestamp"} {
		delete(body, k)
	}
	opName := "operation-" + s.nextID()
	op := object{
		"kind": "compute#operation", "id": s.nextID(), "name": opName, "operationType": "patch",
		"targetLink": str(fw, "selfLink"), "targetId": str(fw, "id"), "status": "RUNNING", "progress": 0,
		"insertTime": s.timestamp(), "startTime": s.timestamp(),
		"selfLink": computeBase + proj + "/global/operations/" + opName,
	}
	s.newOperation("compute/"+proj+"/"+opName, op,
		func() {
			if cur, ok := s.firewalls[key]; ok {
				merge(cur, body)
			}
		},
		func(msg string) {
			op["httpErrorStatusCode"] = http.StatusBadRequest
			op["httpErrorMessage"] = "BAD REQUEST"
			op["error"] = object{"errors": []any{object{"code": "INVALID_USAGE", "message": msg}}}
		})
	c.reply(op)
}

const computeBase = "https://www.googleapis.com/compute/v1/projects/"

func (s *Server) computeOperation(c *call, wait bool) {
	op, ok := s.ops["compute/"+c.vars["project"]+"/"+c.vars["operation"]]
	if !ok {
		c.fail(http.StatusNotFound, fmt.Sprintf("The resource 'projects/%s/global/operations/%s' was not found", c.vars["project"], c.vars["operation"]))
		return
	}
	s.poll(op, wait)
	c.reply(op.obj)
}

func (s *Server) getComputeOperation(c *call)  { s.computeOperation(c, false) }
func (s *Server) waitComputeOperation(c *call) { s.computeOperation(c, true) }

// --- Cloud SQL Admin ----------------------------------------------------

func (s *Server) getInstance(c *call) {
	inst, ok := s.instances[c.vars["project"]+"/"+c.vars["instance"]]
	if !ok {
		c.fail(http.StatusNotFound, "The Cloud SQL instance does not exist.")
		return
	}
	c.reply(inst)
}

// patchInstance returns a PENDING operation; the change applies when it
// completes. A body's settings.ipConfiguration.authorizedNetworks
// replaces the whole list, as arrays do in every PATCH.
func (s *Server) patchInstance(c *call) {
	proj, name := c.vars["project"], c.vars["instance"]
	key := proj + "/" + name
	if _, ok := s.instances[key]; !ok {
		c.fail(http.StatusNotFound, "The Cloud SQL instance does not exist.")
		return
	}
	body, ok := c.decode()
	if !ok {
		return
	}
	for _, k := range []string{"name", "project", "selfLink", "kind", "region", "databaseVersion"} {
		delete(body, k)
	}
	opName := newUUID(s.nextID())
	op := object{
		"kind": "sql#operation", "name": opName, "operationType": "UPDATE", "status": "PENDING",
		"targetId": name, "targetProject": proj, "insertTime": s.timestamp(),
		"targetLink": sqlBase + proj + "/instances/" + name,
		"selfLink":   sqlBase + proj + "/operations/" + opName,
	}
	s.newOperation("sql/"+proj+"/"+opName, op,
		func() {
			if cur, ok := s.instances[key]; ok {
				merge(cur, body)
				if st, ok := cur["settings"].(object); ok {
					st["settingsVersion"] = strconv.FormatInt(intField(st, "settingsVersion")+1, 10)
				}
			}
		},
		func(msg string) {
			op["error"] = object{"kind": "sql#operationErrors", "errors": []any{object{"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": msg}}}
		})
	c.reply(op)
}

const sqlBase = "https://sqladmin.googleapis.com/v1/projects/"

func (s *Server) getSQLOperation(c *call) {
	op, ok := s.ops["sql/"+c.vars["project"]+"/"+c.vars["operation"]]
	if !ok {
		c.fail(http.StatusNotFound, "The Cloud SQL operation does not exist.")
		return
	}
	s.poll(op, false)
	c.reply(op.obj)
}

// newUUID formats a counter as a UUID-shaped operation name.
func newUUID(id string) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012s", id)
}
