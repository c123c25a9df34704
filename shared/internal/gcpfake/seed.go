package gcpfake

import (
	"fmt"
	"strings"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v3"
	compute "google.golang.org/api/compute/v1"
	iam "google.golang.org/api/iam/v1"
	sqladmin "google.golang.org/api/sqladmin/v1"
	storage "google.golang.org/api/storage/v1"
)

// PutBucket creates or replaces a bucket (b.Name is required) with its
// IAM policy (nil: no bindings). Output fields the API always fills
// (kind, id, selfLink, metageneration, etag) are filled when unset; the
// policy gets a fresh etag.
func (s *Server) PutBucket(b *storage.Bucket, p *storage.Policy) {
	if b == nil || b.Name == "" {
		panic("gcpfake: PutBucket needs a bucket with a name")
	}
	obj := toObject(b)
	defaults(obj, object{
		"kind": "storage#bucket", "id": b.Name, "selfLink": "https://www.googleapis.com/storage/v1/b/" + b.Name,
		"metageneration": "1", "etag": "CAE=", "storageClass": "STANDARD", "locationType": "region",
	})
	var pol object
	if p != nil {
		pol = toObject(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[b.Name] = &bucket{obj: obj, policy: s.bucketPolicy(b.Name, pol)}
}

// Bucket returns a copy of a bucket and its IAM policy.
func (s *Server) Bucket(name string) (*storage.Bucket, *storage.Policy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return nil, nil, false
	}
	return fromObject[storage.Bucket](b.obj), fromObject[storage.Policy](b.policy), true
}

// DeleteBucket removes a bucket; absent is fine.
func (s *Server) DeleteBucket(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.buckets, name)
}

// PutFirewall creates or replaces a VPC firewall rule of project
// (fw.Name is required; kind, id and selfLink are filled when unset).
func (s *Server) PutFirewall(project string, fw *compute.Firewall) {
	if fw == nil || fw.Name == "" || project == "" {
		panic("gcpfake: PutFirewall needs a project and a firewall with a name")
	}
	obj := toObject(fw)
	s.mu.Lock()
	defer s.mu.Unlock()
	defaults(obj, object{
		"kind": "compute#firewall", "id": s.nextID(), "selfLink": computeBase + project + "/global/firewalls/" + fw.Name,
		"creationTimestamp": s.timestamp(),
	})
	s.firewalls[project+"/"+fw.Name] = obj
}

// Firewall returns a copy of a firewall rule.
func (s *Server) Firewall(project, name string) (*compute.Firewall, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fw, ok := s.firewalls[project+"/"+name]
	if !ok {
		return nil, false
	}
	return fromObject[compute.Firewall](fw), true
}

// DeleteFirewall removes a firewall rule; absent is fine.
func (s *Server) DeleteFirewall(project, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.firewalls, project+"/"+name)
}

// PutSQLInstance creates or replaces a Cloud SQL instance of project
// (inst.Name is required; kind, project, selfLink and
// settings.settingsVersion are filled when unset).
func (s *Server) PutSQLInstance(project string, inst *sqladmin.DatabaseInstance) {
	if inst == nil || inst.Name == "" || project == "" {
		panic("gcpfake: PutSQLInstance needs a project and an instance with a name")
	}
	obj := toObject(inst)
	defaults(obj, object{
		"kind": "sql#instance", "project": project, "selfLink": sqlBase + project + "/instances/" + inst.Name,
		"state": "RUNNABLE", "settings": object{},
	})
	defaults(obj["settings"].(object), object{"kind": "sql#settings", "settingsVersion": "1"})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instances[project+"/"+inst.Name] = obj
}

// SQLInstance returns a copy of a Cloud SQL instance.
func (s *Server) SQLInstance(project, name string) (*sqladmin.DatabaseInstance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[project+"/"+name]
	if !ok {
		return nil, false
	}
	return fromObject[sqladmin.DatabaseInstance](inst), true
}

// DeleteSQLInstance removes an instance; absent is fine.
func (s *Server) DeleteSQLInstance(project, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.instances, project+"/"+name)
}

// PutProject creates or replaces a project (p may be nil) with its IAM
// policy (nil: no bindings). projectId is set to project; name
// (projects/{number}) and state ACTIVE are filled when unset.
func (s *Server) PutProject(project string, p *crm.Project, policy *crm.Policy) {
	if project == "" {
		panic("gcpfake: PutProject needs a project id")
	}
	if p == nil {
		p = &crm.Project{}
	}
	obj := toObject(p)
	obj["projectId"] = project
	pol := object{}
	if policy != nil {
		pol = toObject(policy)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defaults(obj, object{"name": "projects/" + s.nextID(), "state": "ACTIVE", "displayName": project})
	if _, ok := pol["bindings"]; !ok {
		pol["bindings"] = []any{}
	}
	pol["version"] = policyVersion(pol)
	pol["etag"] = s.etag()
	s.projects[project] = &projectState{obj: obj, policy: pol}
}

// Project returns a copy of a project and its IAM policy.
func (s *Server) Project(project string) (*crm.Project, *crm.Policy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[project]
	if !ok {
		return nil, nil, false
	}
	return fromObject[crm.Project](p.obj), fromObject[crm.Policy](p.policy), true
}

// DeleteProject marks a project DELETE_REQUESTED, as deleting one does
// for its 30 days of grace: Resource Manager still returns it. A project
// unknown to the Server is answered 403, as Google answers for a project
// that does not exist.
func (s *Server) DeleteProject(project string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.projects[project]; ok {
		p.obj["state"] = "DELETE_REQUESTED"
		p.obj["deleteTime"] = s.timestamp()
	}
}

// PutServiceAccount creates or replaces a service account of project
// (sa.Email is required) with its keys. name, projectId and uniqueId are
// filled when unset; a key's name may be its id alone, and its keyType
// defaults to USER_MANAGED.
func (s *Server) PutServiceAccount(project string, sa *iam.ServiceAccount, keys ...*iam.ServiceAccountKey) {
	if sa == nil || sa.Email == "" || project == "" {
		panic("gcpfake: PutServiceAccount needs a project and an account with an email")
	}
	obj := toObject(sa)
	name := "projects/" + project + "/serviceAccounts/" + sa.Email
	s.mu.Lock()
	defer s.mu.Unlock()
	defaults(obj, object{"name": name, "projectId": project, "uniqueId": "1" + s.nextID() + "00000000", "etag": "MDEwMjE5MjA="})
	a := &account{obj: obj}
	for i, k := range keys {
		ko := toObject(k)
		id := str(ko, "name")
		if id == "" {
			id = fmt.Sprintf("%040x", i+1)
		}
		if !strings.Contains(id, "/") {
			ko["name"] = name + "/keys/" + id
		}
		defaults(ko, object{"keyType": "USER_MANAGED", "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED"})
		a.keys = append(a.keys, ko)
	}
	s.accounts[project+"/"+sa.Email] = a
}

// ServiceAccount returns a copy of a service account and its keys.
func (s *Server) ServiceAccount(project, email string) (*iam.ServiceAccount, []*iam.ServiceAccountKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[project+"/"+email]
	if !ok {
		return nil, nil, false
	}
	var keys []*iam.ServiceAccountKey
	for _, k := range a.keys {
		keys = append(keys, fromObject[iam.ServiceAccountKey](k))
	}
	return fromObject[iam.ServiceAccount](a.obj), keys, true
}

// DeleteServiceAccount removes a service account; absent is fine.
func (s *Server) DeleteServiceAccount(project, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, project+"/"+email)
}

// PutCryptoKey creates or replaces a crypto key under its full name
// (projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}); key.Name is
// set to it.
func (s *Server) PutCryptoKey(name string, key *cloudkms.CryptoKey) {
	if key == nil || strings.Count(name, "/") != 7 || !strings.HasPrefix(name, "projects/") {
		panic("gcpfake: PutCryptoKey needs a key and its full name, got " + name)
	}
	obj := toObject(key)
	obj["name"] = name
	s.mu.Lock()
	defer s.mu.Unlock()
	defaults(obj, object{"purpose": "ENCRYPT_DECRYPT", "createTime": s.timestamp()})
	s.cryptoKeys[name] = obj
}

// CryptoKey returns a copy of a crypto key.
func (s *Server) CryptoKey(name string) (*cloudkms.CryptoKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.cryptoKeys[name]
	if !ok {
		return nil, false
	}
	return fromObject[cloudkms.CryptoKey](k), true
}

// DeleteCryptoKey removes a crypto key; absent is fine. (Cloud KMS never
// deletes keys, only their versions; tests use it for a key that never
// existed or a project that is gone.)
func (s *Server) DeleteCryptoKey(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cryptoKeys, name)
}

// defaults sets the fields of def that obj lacks.
func defaults(obj, def object) {
	for k, v := range def {
		if _, ok := obj[k]; !ok {
			obj[k] = v
		}
	}
}
