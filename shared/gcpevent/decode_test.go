package gcpevent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/change"
)

// entry is a minimal Admin Activity AuditLog LogEntry for table tests.
type entry struct {
	service, method, resourceName string
	labels                        map[string]string
	auth, meta                    map[string]any
	status                        map[string]any
	logName                       string
}

func (e entry) json(t testing.TB) []byte {
	t.Helper()
	if e.logName == "" {
		e.logName = "projects/p1/logs/cloudaudit.googleapis.com%2Factivity"
	}
	if e.auth == nil {
		e.auth = map[string]any{"principalEmail": "alice@example.com", "principalSubject": "user:alice@example.com"}
	}
	if e.meta == nil {
		e.meta = map[string]any{"callerIp": "203.0.113.7", "callerSuppliedUserAgent": "google-cloud-sdk gcloud/500.0.0 command/gcloud.x"}
	}
	pp := map[string]any{
		"@type": AuditLogType, "serviceName": e.service, "methodName": e.method, "resourceName": e.resourceName,
		"authenticationInfo": e.auth, "requestMetadata": e.meta,
	}
	if e.status != nil {
		pp["status"] = e.status
	}
	b, err := json.Marshal(map[string]any{
		"insertId": "abc123", "logName": e.logName, "timestamp": "2026-12-04T10:00:00.123Z",
		"resource": map[string]any{"type": "x", "labels": e.labels}, "protoPayload": pp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeEntry(t *testing.T, n *Normalizer, raw []byte) Result {
	t.Helper()
	r, err := n.Decode(raw)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if err := checkOutcome(r, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMappings(t *testing.T) {
	n := newNormalizer(t)
	sa := "robot@p1.iam.gserviceaccount.com"
	for _, tc := range []struct {
		name                   string
		e                      entry
		wantType, wantID, acct string
	}{
		{"bucket create", entry{service: "storage.googleapis.com", method: "storage.buckets.create", resourceName: "projects/_/buckets/b1", labels: map[string]string{"project_id": "p2", "bucket_name": "b1"}},
			typeBucket, "//storage.googleapis.com/projects/_/buckets/b1", "p2"},
		{"bucket update", entry{service: "storage.googleapis.com", method: "storage.buckets.update", resourceName: "projects/_/buckets/b1"},
			typeBucket, "//storage.googleapis.com/projects/_/buckets/b1", "p1"},
		{"bucket iam", entry{service: "storage.googleapis.com", method: "storage.setIamPermissions", resourceName: "projects/_/buckets/b1", labels: map[string]string{"project_id": "p2"}},
			typeBucket, "//storage.googleapis.com/projects/_/buckets/b1", "p2"},
		{"bucket delete, name from labels", entry{service: "storage.googleapis.com", method: "storage.buckets.delete", labels: map[string]string{"project_id": "p2", "bucket_name": "b9"}},
			typeBucket, "//storage.googleapis.com/projects/_/buckets/b9", "p2"},
		{"firewall insert", entry{service: "compute.googleapis.com", method: "v1.compute.firewalls.insert", resourceName: "projects/p3/global/firewalls/allow-ssh"},
			typeFirewall, "//compute.googleapis.com/projects/p3/global/firewalls/allow-ssh", "p3"},
		{"firewall patch", entry{service: "compute.googleapis.com", method: "v1.compute.firewalls.patch", resourceName: "projects/p3/global/firewalls/f"},
			typeFirewall, "//compute.googleapis.com/projects/p3/global/firewalls/f", "p3"},
		{"firewall update beta", entry{service: "compute.googleapis.com", method: "beta.compute.firewalls.update", resourceName: "projects/p3/global/firewalls/f"},
			typeFirewall, "//compute.googleapis.com/projects/p3/global/firewalls/f", "p3"},
		{"firewall delete", entry{service: "compute.googleapis.com", method: "v1.compute.firewalls.delete", resourceName: "projects/p3/global/firewalls/f", labels: map[string]string{"project_id": "p3"}},
			typeFirewall, "//compute.googleapis.com/projects/p3/global/firewalls/f", "p3"},
		{"sql create", entry{service: "cloudsql.googleapis.com", method: "cloudsql.instances.create", resourceName: "instances/my-project:test-instance", labels: map[string]string{"project_id": "my-project"}},
			typeSQLInstance, "//cloudsql.googleapis.com/projects/my-project/instances/test-instance", "my-project"},
		{"sql update, projects form", entry{service: "cloudsql.googleapis.com", method: "cloudsql.instances.update", resourceName: "projects/p4/instances/db1"},
			typeSQLInstance, "//cloudsql.googleapis.com/projects/p4/instances/db1", "p4"},
		{"sql create, name from database_id", entry{service: "cloudsql.googleapis.com", method: "cloudsql.instances.create", resourceName: "projects/p4", labels: map[string]string{"project_id": "p4", "database_id": "p4:db2"}},
			typeSQLInstance, "//cloudsql.googleapis.com/projects/p4/instances/db2", "p4"},
		{"sql domain-scoped project", entry{service: "cloudsql.googleapis.com", method: "cloudsql.instances.delete", resourceName: "instances/example.com:proj:db"},
			typeSQLInstance, "//cloudsql.googleapis.com/projects/example.com:proj/instances/db", "example.com:proj"},
		{"project iam", entry{service: "cloudresourcemanager.googleapis.com", method: "SetIamPolicy", resourceName: "projects/p5", labels: map[string]string{"project_id": "p5"}},
			typeProject, "//cloudresourcemanager.googleapis.com/projects/p5", "p5"},
		{"project iam v3, number", entry{service: "cloudresourcemanager.googleapis.com", method: "google.cloud.resourcemanager.v3.Projects.SetIamPolicy", resourceName: "projects/123456", labels: map[string]string{"project_id": "p5"}},
			typeProject, "//cloudresourcemanager.googleapis.com/projects/p5", "p5"},
		{"sa key create, projects/- and unique id", entry{service: "iam.googleapis.com", method: "google.iam.admin.v1.CreateServiceAccountKey", resourceName: "projects/-/serviceAccounts/1234567890", labels: map[string]string{"project_id": "p1", "email_id": sa}},
			typeServiceAccount, "//iam.googleapis.com/projects/p1/serviceAccounts/" + sa, "p1"},
		{"sa key delete", entry{service: "iam.googleapis.com", method: "google.iam.admin.v1.DeleteServiceAccountKey", resourceName: "projects/p1/serviceAccounts/" + sa + "/keys/k1"},
			typeServiceAccount, "//iam.googleapis.com/projects/p1/serviceAccounts/" + sa, "p1"},
		{"sa key upload", entry{service: "iam.googleapis.com", method: "google.iam.admin.v1.UploadServiceAccountKey", resourceName: "projects/p1/serviceAccounts/" + sa},
			typeServiceAccount, "//iam.googleapis.com/projects/p1/serviceAccounts/" + sa, "p1"},
		{"sa key disable", entry{service: "iam.googleapis.com", method: "google.iam.admin.v1.DisableServiceAccountKey", resourceName: "projects/-/serviceAccounts/" + sa + "/keys/k1", labels: map[string]string{"project_id": "p7"}},
			typeServiceAccount, "//iam.googleapis.com/projects/p7/serviceAccounts/" + sa, "p7"},
		{"kms create", entry{service: "cloudkms.googleapis.com", method: "CreateCryptoKey", resourceName: "projects/p6/locations/europe-west1/keyRings/r/cryptoKeys/k"},
			typeCryptoKey, "//cloudkms.googleapis.com/projects/p6/locations/europe-west1/keyRings/r/cryptoKeys/k", "p6"},
		{"kms update, full resource name", entry{service: "cloudkms.googleapis.com", method: "UpdateCryptoKey", resourceName: "//cloudkms.googleapis.com/projects/p6/locations/global/keyRings/r/cryptoKeys/k"},
			typeCryptoKey, "//cloudkms.googleapis.com/projects/p6/locations/global/keyRings/r/cryptoKeys/k", "p6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeEntry(t, n, tc.e.json(t))
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			c := r.Change
			ref := c.Resources[0]
			if ref.Type != tc.wantType || ref.ID != tc.wantID || c.Account != tc.acct {
				t.Errorf("got %s %s in %s, want %s %s in %s", ref.Type, ref.ID, c.Account, tc.wantType, tc.wantID, tc.acct)
			}
			if c.Operation != tc.e.method || c.Service != tc.e.service || c.EventID != "abc123@2026-12-04T10:00:00.123Z" {
				t.Errorf("change %+v", c)
			}
		})
	}
}

// TestEveryRowMaps: every row of the table normalizes to a Change of its
// type from a resourceName of that type.
func TestEveryRowMaps(t *testing.T) {
	n := newNormalizer(t)
	names := map[string]string{
		typeBucket:         "projects/_/buckets/b",
		typeFirewall:       "projects/p/global/firewalls/f",
		typeSQLInstance:    "instances/p:i",
		typeProject:        "projects/p",
		typeServiceAccount: "projects/p/serviceAccounts/s@p.iam.gserviceaccount.com/keys/k",
		typeCryptoKey:      "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
	}
	for _, m := range Table() {
		r := decodeEntry(t, n, entry{service: m.Service, method: m.Method, resourceName: names[m.Type]}.json(t))
		if r.Err != nil || r.Change.Resources[0].Type != m.Type {
			t.Errorf("%s %s: %v %+v", m.Service, m.Method, r.Err, r.Change.Resources)
		}
	}
	if got := len(n.Operations()); got != len(Table()) {
		t.Errorf("Operations: %d rows, table %d", got, len(Table()))
	}
}

func TestDrops(t *testing.T) {
	n := newNormalizer(t)
	bucket := entry{service: "storage.googleapis.com", method: "storage.buckets.update", resourceName: "projects/_/buckets/b"}
	with := func(f func(*entry)) entry { e := bucket; f(&e); return e }
	for _, tc := range []struct {
		name   string
		raw    []byte
		reason change.DropReason
		detail string
	}{
		{"getIamPolicy", entry{service: "storage.googleapis.com", method: "storage.getIamPermissions", resourceName: "projects/_/buckets/b"}.json(t), change.ReasonReadOnly, "storage.getIamPermissions reads"},
		{"GetIamPolicy", entry{service: "cloudresourcemanager.googleapis.com", method: "GetIamPolicy", resourceName: "projects/p"}.json(t), change.ReasonReadOnly, "GetIamPolicy reads"},
		{"firewalls.get", entry{service: "compute.googleapis.com", method: "v1.compute.firewalls.get"}.json(t), change.ReasonReadOnly, "reads"},
		{"buckets.list", entry{service: "storage.googleapis.com", method: "storage.buckets.list"}.json(t), change.ReasonReadOnly, "reads"},
		{"testIamPermissions", entry{service: "pubsub.googleapis.com", method: "google.iam.v1.IAMPolicy.TestIamPermissions"}.json(t), change.ReasonReadOnly, "reads"},
		{"failed", with(func(e *entry) { e.status = map[string]any{"code": 7, "message": "PERMISSION_DENIED"} }).json(t), change.ReasonFailed, "storage.buckets.update failed with status 7 PERMISSION_DENIED"},
		{"empty status is success", with(func(e *entry) { e.status = map[string]any{} }).json(t), "", ""},
		{"data access", with(func(e *entry) { e.logName = "projects/p/logs/cloudaudit.googleapis.com%2Fdata_access" }).json(t), change.ReasonNotAudit, "a Data Access audit log entry"},
		{"system event", with(func(e *entry) { e.logName = "organizations/1/logs/cloudaudit.googleapis.com%2Fsystem_event" }).json(t), change.ReasonNotAudit, "System Event"},
		{"policy denied", with(func(e *entry) { e.logName = "projects/p/logs/cloudaudit.googleapis.com%2Fpolicy" }).json(t), change.ReasonFailed, "Policy Denied"},
		{"another log", with(func(e *entry) { e.logName = "projects/p/logs/syslog" }).json(t), change.ReasonNotAudit, `log "syslog" is not the Admin Activity audit log`},
		{"unsupported method", entry{service: "pubsub.googleapis.com", method: "google.pubsub.v1.Publisher.CreateTopic"}.json(t), change.ReasonUnsupported, "not in the method table"},
		{"SetIamPolicy of another service", entry{service: "cloudkms.googleapis.com", method: "SetIamPolicy", resourceName: "projects/p/locations/l/keyRings/r/cryptoKeys/k"}.json(t), change.ReasonUnsupported, "cloudkms.googleapis.com SetIamPolicy is not in the method table"},
		{"SetIamPolicy of an organization", entry{service: "cloudresourcemanager.googleapis.com", method: "SetIamPolicy", resourceName: "organizations/888"}.json(t), change.ReasonUnsupported, `resourceName "organizations/888" is not a project`},
		{"no resource", with(func(e *entry) { e.resourceName = "" }).json(t), change.ReasonNoResource, "names no storage.googleapis.com/Bucket"},
		{"no project", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","protoPayload":{"@type":"` + AuditLogType + `","serviceName":"storage.googleapis.com","methodName":"storage.buckets.update","resourceName":"projects/_/buckets/b"}}`), change.ReasonNoResource, "no project"},
		{"json payload", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","jsonPayload":{"a":1}}`), change.ReasonNotAudit, "no protoPayload"},
		{"wrong @type", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog","status":"x"}}`), change.ReasonNotAudit, "google.appengine.logging.v1.RequestLog is not " + AuditLogType},
		{"no @type", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","protoPayload":{"methodName":"m"}}`), change.ReasonMalformed, `protoPayload has no @type (and logName "" names no Cloud Audit Logs log)`},
		{"no @type in an audit log (Eventarc LogEntryData)", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"serviceName":"storage.googleapis.com","methodName":"storage.buckets.update","resourceName":"projects/_/buckets/b"}}`), "", ""},
		{"missing insertId", []byte(`{"timestamp":"2026-01-01T00:00:00Z","protoPayload":{}}`), change.ReasonMalformed, "the LogEntry has no insertId"},
		{"missing timestamp", []byte(`{"insertId":"i","protoPayload":{}}`), change.ReasonMalformed, "LogEntry i has no timestamp"},
		{"bad timestamp", []byte(`{"insertId":"i","timestamp":"0000-00-00T00:00:00.000Z"}`), change.ReasonMalformed, `timestamp "0000-00-00T00:00:00.000Z" is not an RFC 3339 time`},
		{"no methodName", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","protoPayload":{"@type":"` + AuditLogType + `"}}`), change.ReasonMalformed, "the AuditLog has no methodName"},
		{"insertId not a string", []byte(`{"insertId":5,"protoPayload":{}}`), change.ReasonMalformed, "decode the LogEntry"},
		{"protoPayload not an object", []byte(`{"insertId":"i","timestamp":"2026-01-01T00:00:00Z","protoPayload":"x"}`), change.ReasonMalformed, "protoPayload is not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeEntry(t, n, tc.raw)
			reason, _ := change.DropReasonOf(r.Err)
			if reason != tc.reason || (r.Err != nil && !strings.Contains(r.Err.Error(), tc.detail)) {
				t.Errorf("got %v, want %s containing %q", r.Err, tc.reason, tc.detail)
			}
		})
	}
}

func TestActor(t *testing.T) {
	n := newNormalizer(t)
	base := entry{service: "storage.googleapis.com", method: "storage.setIamPermissions", resourceName: "projects/_/buckets/b"}
	ua := func(s string) map[string]any {
		return map[string]any{"callerIp": "198.51.100.1", "callerSuppliedUserAgent": s}
	}
	for _, tc := range []struct {
		name string
		auth map[string]any
		meta map[string]any
		want change.Actor
	}{
		{"console", nil, ua("Mozilla/5.0 (Macintosh) Chrome/113.0,gzip(gfe)"),
			change.Actor{Principal: "alice@example.com", Type: TypeUser, Name: "alice@example.com", SourceIP: "198.51.100.1", UserAgent: "Mozilla/5.0 (Macintosh) Chrome/113.0,gzip(gfe)", Via: ViaConsole}},
		{"gcloud", nil, ua("google-cloud-sdk gcloud/500.0.0 command/gcloud.storage.buckets.add-iam-policy-binding"),
			change.Actor{Principal: "alice@example.com", Type: TypeUser, Name: "alice@example.com", SourceIP: "198.51.100.1", UserAgent: "google-cloud-sdk gcloud/500.0.0 command/gcloud.storage.buckets.add-iam-policy-binding", Via: ViaCLI}},
		{"gsutil", nil, ua("apitools Python/3.9.11 gsutil/5.11 (darwin) google-cloud-sdk/394.0.0,gzip(gfe)"),
			change.Actor{Principal: "alice@example.com", Type: TypeUser, Name: "alice@example.com", SourceIP: "198.51.100.1", UserAgent: "apitools Python/3.9.11 gsutil/5.11 (darwin) google-cloud-sdk/394.0.0,gzip(gfe)", Via: ViaCLI}},
		{"terraform service account",
			map[string]any{"principalEmail": "terraform@platform.iam.gserviceaccount.com", "principalSubject": "serviceAccount:terraform@platform.iam.gserviceaccount.com"},
			ua("Terraform/1.5.7 (+https://www.terraform.io) Terraform-Plugin-SDK/2.10.1 terraform-provider-google/4.80.0"),
			change.Actor{Principal: "terraform@platform.iam.gserviceaccount.com", Type: TypeServiceAccount, Name: "terraform", SourceIP: "198.51.100.1", UserAgent: "Terraform/1.5.7 (+https://www.terraform.io) Terraform-Plugin-SDK/2.10.1 terraform-provider-google/4.80.0", Via: ViaTerraform}},
		{"sdk", map[string]any{"principalEmail": "app@p.iam.gserviceaccount.com"}, ua("google-api-go-client/0.5 gl-go/1.22"),
			change.Actor{Principal: "app@p.iam.gserviceaccount.com", Type: TypeServiceAccount, Name: "app", SourceIP: "198.51.100.1", UserAgent: "google-api-go-client/0.5 gl-go/1.22", Via: ViaSDK}},
		{"service agent, internal caller", map[string]any{"principalEmail": "service-123456@gcp-sa-cloudkms.iam.gserviceaccount.com"}, map[string]any{"callerIp": "private"},
			change.Actor{Principal: "service-123456@gcp-sa-cloudkms.iam.gserviceaccount.com", Type: TypeServiceAgent, Name: "service-123456", Via: ViaService}},
		{"no user agent", nil, map[string]any{},
			change.Actor{Principal: "alice@example.com", Type: TypeUser, Name: "alice@example.com", Via: ViaUnknown}},
		{"impersonation",
			map[string]any{"principalEmail": "deployer@p.iam.gserviceaccount.com", "serviceAccountDelegationInfo": []any{
				map[string]any{"firstPartyPrincipal": map[string]any{"principalEmail": "bob@example.com"}},
				map[string]any{"firstPartyPrincipal": map[string]any{"principalEmail": "middle@p.iam.gserviceaccount.com"}},
			}},
			ua("google-cloud-sdk gcloud/500.0.0 command/gcloud.compute.firewall-rules.create"),
			change.Actor{Principal: "deployer@p.iam.gserviceaccount.com", Type: TypeServiceAccount, Name: "deployer", SessionIssuer: "bob@example.com", SourceIP: "198.51.100.1", UserAgent: "google-cloud-sdk gcloud/500.0.0 command/gcloud.compute.firewall-rules.create", Via: ViaCLI}},
		{"impersonation by subject (workload identity)",
			map[string]any{"principalSubject": "serviceAccount:ci@p.iam.gserviceaccount.com", "serviceAccountDelegationInfo": []any{
				map[string]any{"principalSubject": "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/subject/repo:o/r"},
			}},
			map[string]any{},
			change.Actor{Principal: "serviceAccount:ci@p.iam.gserviceaccount.com", Type: TypeServiceAccount, SessionIssuer: "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/subject/repo:o/r", Name: "serviceAccount:ci", Via: ViaUnknown}},
		{"odd members are skipped", map[string]any{"principalEmail": 5, "principalSubject": "user:carol@example.com"}, map[string]any{"callerIp": []int{1}},
			change.Actor{Principal: "user:carol@example.com", Type: TypeUser, Name: "user:carol@example.com", Via: ViaUnknown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			e.auth, e.meta = tc.auth, tc.meta
			r := decodeEntry(t, n, e.json(t))
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Change.Actor != tc.want {
				t.Errorf("got  %+v\nwant %+v", r.Change.Actor, tc.want)
			}
		})
	}
}

// TestForms: one LogEntry in every delivery form normalizes to the same
// Change.
func TestForms(t *testing.T) {
	n := newNormalizer(t)
	le := entry{service: "compute.googleapis.com", method: "v1.compute.firewalls.insert", resourceName: "projects/p3/global/firewalls/f"}.json(t)
	b64 := base64.StdEncoding.EncodeToString(le)
	msg := `{"attributes":{"logging.googleapis.com/timestamp":"2026-12-04T10:00:00.123Z"},"data":"` + b64 + `","messageId":"m1","publishTime":"2026-12-04T10:00:01Z"}`
	push := `{"message":` + msg + `,"subscription":"projects/p/subscriptions/s"}`
	ceMsg := `{"specversion":"1.0","id":"ce1","source":"//pubsub.googleapis.com/projects/p/topics/t","type":"` + EventTypeMessagePublished + `","datacontenttype":"application/json","data":{"message":{"data":"` + b64 + `","messageId":"m2"},"subscription":"projects/p/subscriptions/s"}}`
	ceMsgB64 := `{"specversion":"1.0","id":"ce2","source":"s","type":"` + EventTypeMessagePublished + `","data_base64":"` + base64.StdEncoding.EncodeToString([]byte(`{"message":{"data":"`+b64+`"}}`)) + `"}`
	ceAudit := `{"specversion":"1.0","id":"ce3","source":"//cloudaudit.googleapis.com/projects/p3/logs/activity","type":"` + EventTypeAuditLogWritten + `","data":` + string(le) + `}`

	want := decodeEntry(t, n, le)
	if want.Err != nil || want.Form != FormLogEntry {
		t.Fatalf("bare entry: %+v", want)
	}
	for _, tc := range []struct {
		name, body string
		form       Form
		messageID  string
	}{
		{"push", push, FormPush, "m1"},
		{"eventarc binary mode (the push body)", `{"message":{"data":"` + b64 + `","message_id":"m3"}}`, FormPush, "m3"},
		{"eventarc messagePublished", ceMsg, FormEventarcPubSub, "m2"},
		{"eventarc messagePublished, data_base64", ceMsgB64, FormEventarcPubSub, "ce2"},
		{"eventarc audit log", ceAudit, FormEventarcAudit, "ce3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeEntry(t, n, []byte(tc.body))
			if r.Form != tc.form || r.MessageID != tc.messageID {
				t.Errorf("form %s message %q, want %s %q", r.Form, r.MessageID, tc.form, tc.messageID)
			}
			if describe(r) != describe(want) {
				t.Errorf("got  %s\nwant %s", describe(r), describe(want))
			}
		})
	}
	pull := n.DecodeMessage(le, map[string]string{"logging.googleapis.com/timestamp": "x"}, "m4", time.Now())
	if pull.Form != FormMessage || pull.MessageID != "m4" || describe(pull) != describe(want) {
		t.Errorf("DecodeMessage: %+v", pull)
	}
	if r := n.DecodeEntry(le); describe(r) != describe(want) {
		t.Errorf("DecodeEntry: %s", describe(r))
	}
}

// TestEventIDCanonical: the key does not depend on how the timestamp is
// spelled.
func TestEventIDCanonical(t *testing.T) {
	n := newNormalizer(t)
	var ids []string
	for _, ts := range []string{"2026-12-04T10:00:00.120Z", "2026-12-04T10:00:00.12Z", "2026-12-04T11:00:00.120000000+01:00"} {
		raw := `{"insertId":"x1","timestamp":"` + ts + `","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"` + AuditLogType + `","serviceName":"s","methodName":"m.list"}}`
		ids = append(ids, decodeEntry(t, n, []byte(raw)).EventID)
	}
	for _, id := range ids {
		if id != "x1@2026-12-04T10:00:00.12Z" {
			t.Errorf("event ids %q", ids)
		}
	}
}

// TestMalformedBodies: each unusable body gets one exact, clear message.
func TestMalformedBodies(t *testing.T) {
	n := newNormalizer(t)
	for _, tc := range []struct {
		name, body string
		sentinel   bool   // Decode's error, not a drop
		want       string // the error's text
	}{
		{"empty", ``, true, "not a Pub/Sub push, Eventarc or LogEntry body: a body is one JSON object, not \"\""},
		{"array", `[{}]`, true, `not a Pub/Sub push, Eventarc or LogEntry body: a body is one JSON object, not "[{}]"`},
		{"not JSON", `{not json}`, true, "not a Pub/Sub push, Eventarc or LogEntry body: invalid character 'n' looking for beginning of object key string"},
		{"unknown object", `{"a":1}`, true, "not a Pub/Sub push, Eventarc or LogEntry body: the object has no message (Pub/Sub push), specversion (CloudEvent) or protoPayload/insertId/logName (LogEntry)"},
		{"bad base64", `{"message":{"data":"!!!","messageId":"m"}}`, false, "event dropped: malformed: the Pub/Sub message data is not base64: illegal base64 data at input byte 0"},
		{"no data", `{"message":{"messageId":"m"}}`, false, "event dropped: malformed: the Pub/Sub message has no data"},
		{"message not an object", `{"message":"x"}`, false, "event dropped: malformed: the push body's message is not a JSON object"},
		{"message of the wrong shape", `{"message":{"data":5}}`, false, "event dropped: malformed: decode the Pub/Sub message: json: cannot unmarshal number into Go struct field pubsubMessage.data of type string"},
		{"data not JSON", `{"message":{"data":"dGVzdCBtZXNzYWdlIDM="}}`, false, `event dropped: malformed: the Pub/Sub message data is not a JSON LogEntry ("test message 3")`},
		{"data truncated JSON", `{"message":{"data":"` + base64.StdEncoding.EncodeToString([]byte(`{"insertId":`)) + `"}}`, false, `event dropped: malformed: the Pub/Sub message data is not a JSON LogEntry ("{\"insertId\":")`},
		{"CloudEvent specversion", `{"specversion":"0.3","id":"1","type":"t"}`, false, `event dropped: malformed: CloudEvent specversion is "0.3", want "1.0"`},
		{"CloudEvent without id", `{"specversion":"1.0","type":"t"}`, false, "event dropped: malformed: CloudEvent has no id"},
		{"CloudEvent without type", `{"specversion":"1.0","id":"1"}`, false, "event dropped: malformed: CloudEvent 1 has no type"},
		{"CloudEvent of another type", `{"specversion":"1.0","id":"1","type":"google.cloud.storage.object.v1.finalized","data":{}}`, false, "event dropped: not_audit: CloudEvent type google.cloud.storage.object.v1.finalized is not a Pub/Sub message or an audit log entry"},
		{"messagePublished without message", `{"specversion":"1.0","id":"1","type":"` + EventTypeMessagePublished + `","data":{"subscription":"s"}}`, false, `event dropped: malformed: google.cloud.pubsub.topic.v1.messagePublished CloudEvent data is not a {"message": ...} object`},
		{"audit CloudEvent without data", `{"specversion":"1.0","id":"1","type":"` + EventTypeAuditLogWritten + `"}`, false, "event dropped: malformed: google.cloud.audit.log.v1.written CloudEvent data is not a LogEntry object"},
		{"bad data_base64", `{"specversion":"1.0","id":"1","type":"` + EventTypeAuditLogWritten + `","data_base64":"%%"}`, false, "event dropped: malformed: CloudEvent data_base64 is not base64: illegal base64 data at input byte 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := n.Decode([]byte(tc.body))
			if cerr := checkOutcome(r, err); cerr != nil {
				t.Fatal(cerr)
			}
			got := r.Err
			if tc.sentinel {
				if !errors.Is(err, ErrNotDelivery) {
					t.Fatalf("got %v, want ErrNotDelivery", err)
				}
				got = err
			} else if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got == nil || got.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadTables(t *testing.T) {
	ok := Mapping{Method: "storage.buckets.update", Service: "storage.googleapis.com", Type: typeBucket, Kind: KindPosture}
	for _, tc := range []struct {
		name  string
		table []Mapping
		want  string
	}{
		{"read-only", []Mapping{{Method: "storage.buckets.get", Service: "storage.googleapis.com", Type: typeBucket, Kind: KindPosture}}, "a read-only method changes nothing"},
		{"no service", []Mapping{{Method: "m.update", Type: typeBucket, Kind: KindPosture}}, "the service must be"},
		{"quote", []Mapping{{Method: `m"x`, Service: "s", Type: typeBucket, Kind: KindPosture}}, "the method must be"},
		{"kind", []Mapping{{Method: "m.update", Service: "s", Type: typeBucket, Kind: "x"}}, `unknown kind "x"`},
		{"type", []Mapping{{Method: "m.update", Service: "s", Type: "storage.googleapis.com/Object", Kind: KindPosture}}, `unknown resource type "storage.googleapis.com/Object"`},
		{"duplicate", []Mapping{ok, ok}, "row 1 (storage.googleapis.com storage.buckets.update): duplicate method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(&Options{Table: tc.table})
			if !errors.Is(err, ErrInvalidTable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrInvalidTable containing %q", err, tc.want)
			}
		})
	}
	if _, err := New(&Options{Table: []Mapping{ok}}); err != nil {
		t.Fatal(err)
	}
}
