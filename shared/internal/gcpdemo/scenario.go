// Package gcpdemo is the GCP scenario shared by make demo, the GCP
// end-to-end test and the end-to-end benchmark: one project with one
// Cloud Storage bucket on the local Google API fake (gcpfake), the audit
// log entries of its changes (events/gcp), a Google token issuer standing
// for the push subscription's OIDC tokens and the metadata server, and
// Pub/Sub: the client library's emulator (pstest) with a push relay that
// delivers a subscription's messages to the function as Pub/Sub's push
// does.
package gcpdemo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"google.golang.org/api/option"
	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
)

// The scenario's world: one project, the web team's assets bucket.
const (
	Project       = "web-prod-4821"
	ProjectNumber = "418204731296"
	Bucket        = "web-assets-prod-4821"
	Location      = "EUROPE-WEST1"
	// PublicRole is the role Alice grants allUsers.
	PublicRole = "roles/storage.objectViewer"
	// PublicRuleID is the rule that alerts on it.
	PublicRuleID = "gcp_storage_bucket_not_public"
	// PublicAction is the fix its alert offers.
	PublicAction = "gcp_storage_remove_public_members"
	// PAPRuleID wants public access prevention enforced on every bucket.
	// The scenario's project leaves it to the organization policy, so the
	// scenario disables it (DRIFTWATCH_DISABLED_RULES): the baseline
	// bucket must not alert.
	PAPRuleID = "gcp_storage_bucket_public_access_prevention_enforced"
)

// The events of the scenario, in events/gcp.
const (
	EventBucketCreated = "01-bucket-created.json"
	EventBucketPublic  = "02-bucket-made-public.json"
)

// BucketID is the bucket's canonical id, as findings key it.
func BucketID() string { return gcpres.BucketID(Bucket) }

// Env holds the Cloud Storage client the scenario's people use (Alice in
// the console): a plain JSON API client on the fake, independent of the
// function's.
type Env struct {
	fake    *gcpfake.Server
	storage *storage.Service
}

// NewEnv returns the scenario's client on fake, served at endpoint.
func NewEnv(ctx context.Context, fake *gcpfake.Server, endpoint string) (*Env, error) {
	svc, err := storage.NewService(ctx, option.WithEndpoint(endpoint+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	return &Env{fake: fake, storage: svc}, nil
}

// CreateBaseline creates the bucket as the platform team's Terraform does
// (event 01): private (project roles only), uniform bucket-level access
// on, public access prevention left to the organization ("inherited").
// The fake has no bucket insert; the bucket is seeded as the API would
// have stored it.
func (e *Env) CreateBaseline(context.Context) error {
	seedBucket(e.fake, Bucket)
	return nil
}

// seedBucket stores in fake a bucket named name as the platform team's
// Terraform creates it, its policy granting the project roles and extra.
func seedBucket(fake *gcpfake.Server, name string, extra ...*storage.PolicyBindings) {
	fake.PutBucket(&storage.Bucket{
		Name: name, Location: Location, ProjectNumber: 418204731296,
		Labels: map[string]string{"team": "web", "managed-by": "terraform"},
		IamConfiguration: &storage.BucketIamConfiguration{
			UniformBucketLevelAccess: &storage.BucketIamConfigurationUniformBucketLevelAccess{Enabled: true},
			PublicAccessPrevention:   "inherited",
		},
	}, &storage.Policy{Version: 1, Bindings: append([]*storage.PolicyBindings{
		{Role: "roles/storage.legacyBucketOwner", Members: []string{"projectEditor:" + Project, "projectOwner:" + Project}},
		{Role: "roles/storage.legacyBucketReader", Members: []string{"projectViewer:" + Project}},
	}, extra...)})
}

// MakePublic grants allUsers PublicRole on the bucket, as Alice does in
// the console (event 02): read-modify-write of the bucket's IAM policy.
func (e *Env) MakePublic(ctx context.Context) error {
	p, err := e.storage.Buckets.GetIamPolicy(Bucket).OptionsRequestedPolicyVersion(3).Context(ctx).Do()
	if err != nil {
		return fmt.Errorf("get bucket IAM policy: %w", err)
	}
	p.Bindings = append(p.Bindings, &storage.PolicyBindings{Role: PublicRole, Members: []string{gcpres.AllUsers}})
	if _, err := e.storage.Buckets.SetIamPolicy(Bucket, p).Context(ctx).Do(); err != nil {
		return fmt.Errorf("set bucket IAM policy: %w", err)
	}
	return nil
}

// IsPublic reports whether any binding of the bucket's IAM policy grants
// allUsers or allAuthenticatedUsers.
func (e *Env) IsPublic(ctx context.Context) (bool, error) {
	p, err := e.storage.Buckets.GetIamPolicy(Bucket).OptionsRequestedPolicyVersion(3).Context(ctx).Do()
	if err != nil {
		return false, fmt.Errorf("get bucket IAM policy: %w", err)
	}
	for _, b := range p.Bindings {
		if slices.Contains(b.Members, gcpres.AllUsers) || slices.Contains(b.Members, gcpres.AllAuthenticatedUsers) {
			return true, nil
		}
	}
	return false, nil
}

var placeholder = regexp.MustCompile(`\$\{[A-Z_]+\}`)

// Entry returns an events/gcp file's LogEntry with its placeholders filled:
// the scenario's project and bucket, a fresh insertId and at.
func Entry(dir, name string, at time.Time) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	id := make([]byte, 8)
	rand.Read(id)
	vars := map[string]string{
		"${PROJECT}": Project, "${BUCKET}": Bucket,
		"${INSERT_ID}": hex.EncodeToString(id), "${TIMESTAMP}": at.UTC().Format(time.RFC3339Nano),
	}
	var missing error
	out := placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		v, ok := vars[string(m)]
		if !ok {
			missing = fmt.Errorf("%s: unknown placeholder %s", name, m)
		}
		return []byte(v)
	})
	if missing != nil {
		return nil, missing
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("%s: not JSON once filled", name)
	}
	return out, nil
}

// PushBody wraps a message as a push subscription's request body: the
// documented envelope, with the id and publish time in both spellings
// Pub/Sub sends.
func PushBody(data []byte, attributes map[string]string, messageID string, publishTime time.Time, subscription string) []byte {
	pt := publishTime.UTC().Format(time.RFC3339Nano)
	msg := map[string]any{
		"data": base64.StdEncoding.EncodeToString(data), "messageId": messageID, "message_id": messageID,
		"publishTime": pt, "publish_time": pt,
	}
	if len(attributes) > 0 {
		msg["attributes"] = attributes
	}
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(map[string]any{"message": msg, "subscription": subscription}) // maps of strings always encode
	return bytes.TrimSpace(b.Bytes())
}
