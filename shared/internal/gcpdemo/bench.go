package gcpdemo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	storage "google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
	"github.com/driftwatch/driftwatch/shared/internal/gcpfake"
)

// The benchmarks (shared/gcpdetector's and make bench's) need many
// drifts, each a new resource, and deliveries no rule can be affected by:
// the scenario's bucket and entries, under other names and methods.

// SeedPublicBucket stores in fake a bucket named name as CreateBaseline
// stores the scenario's, with allUsers granted PublicRole: the bucket as
// it is after MakePublic. The fake has no bucket insert, so it is seeded.
func SeedPublicBucket(fake *gcpfake.Server, name string) {
	seedBucket(fake, name, &storage.PolicyBindings{Role: PublicRole, Members: []string{gcpres.AllUsers}})
}

// BucketEntry is Entry for another bucket of the scenario's project: the
// events/gcp file's entry with the bucket named bucket.
func BucketEntry(dir, name, bucket string, at time.Time) ([]byte, error) {
	entry, err := Entry(dir, name, at)
	if err != nil {
		return nil, err
	}
	// The scenario's bucket name occurs nowhere else in an entry (the
	// project id is not part of it).
	return bytes.ReplaceAll(entry, []byte(Bucket), []byte(bucket)), nil
}

// Rewrite returns entry as the log entry of another method: the
// protoPayload's serviceName and methodName, and the permission of its
// authorizationInfo, replaced. The resource is left as it is.
func Rewrite(entry []byte, service, method string) ([]byte, error) {
	var e map[string]any
	if err := json.Unmarshal(entry, &e); err != nil {
		return nil, fmt.Errorf("log entry: %w", err)
	}
	p, ok := e["protoPayload"].(map[string]any)
	if !ok {
		return nil, errors.New("log entry: no protoPayload")
	}
	p["serviceName"], p["methodName"] = service, method
	if infos, ok := p["authorizationInfo"].([]any); ok {
		for _, i := range infos {
			if info, ok := i.(map[string]any); ok {
				info["permission"] = method
			}
		}
	}
	return json.Marshal(e)
}

// AuditPush is the body of the audit subscription's push delivery of
// entry, published by the Log Router sink at at with messageID.
func AuditPush(entry []byte, messageID string, at time.Time) []byte {
	return PushBody(entry, map[string]string{"logging.googleapis.com/timestamp": at.UTC().Format(time.RFC3339Nano)}, messageID, at, AuditSubscription)
}
