package gcpremedy

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/api/cloudkms/v1"
	"google.golang.org/api/compute/v1"
	"google.golang.org/api/sqladmin/v1"
	"google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
)

// The adapters below are the only code that touches the generated clients:
// each method is one REST call (an entry of operations, under the same
// method name), its error wrapped with the call's REST method id.

// storageClient calls the Cloud Storage JSON API.
type storageClient struct{ s *storage.Service }

func newStorageClient(b *builder, name string, ops []gcpapi.Operation) (storageClient, error) {
	o, err := b.clientOptions(name, ops)
	if err != nil {
		return storageClient{}, err
	}
	// NewService makes no request when given an HTTP client.
	s, err := storage.NewService(b.ctx, o...)
	if err != nil {
		return storageClient{}, fmt.Errorf("%s: build the Cloud Storage client: %w", name, err)
	}
	return storageClient{s}, nil
}

// GetIamPolicy reads a bucket's IAM policy in version 3, the only version
// that shows conditional bindings as they are.
func (c storageClient) GetIamPolicy(ctx context.Context, bucket string) (*storage.Policy, error) {
	p, err := c.s.Buckets.GetIamPolicy(bucket).OptionsRequestedPolicyVersion(3).Context(ctx).Do()
	return p, wrapCall("storage.buckets.getIamPolicy", err)
}

// SetIamPolicy writes a bucket's IAM policy; p.Etag makes it conditional.
func (c storageClient) SetIamPolicy(ctx context.Context, bucket string, p *storage.Policy) (*storage.Policy, error) {
	out, err := c.s.Buckets.SetIamPolicy(bucket, p).Context(ctx).Do()
	return out, wrapCall("storage.buckets.setIamPolicy", err)
}

// GetBucket reads a bucket's metadata.
func (c storageClient) GetBucket(ctx context.Context, bucket string) (*storage.Bucket, error) {
	b, err := c.s.Buckets.Get(bucket).Context(ctx).Do()
	return b, wrapCall("storage.buckets.get", err)
}

// PatchBucket changes the fields set in patch, only while the bucket's
// metageneration is still metageneration (0: unconditionally).
func (c storageClient) PatchBucket(ctx context.Context, bucket string, patch *storage.Bucket, metageneration int64) (*storage.Bucket, error) {
	call := c.s.Buckets.Patch(bucket, patch).Context(ctx)
	if metageneration > 0 {
		call = call.IfMetagenerationMatch(metageneration)
	}
	b, err := call.Do()
	return b, wrapCall("storage.buckets.patch", err)
}

// computeClient calls the Compute Engine API.
type computeClient struct{ s *compute.Service }

func newComputeClient(b *builder, name string, ops []gcpapi.Operation) (computeClient, error) {
	o, err := b.clientOptions(name, ops)
	if err != nil {
		return computeClient{}, err
	}
	// NewService makes no request when given an HTTP client.
	s, err := compute.NewService(b.ctx, o...)
	if err != nil {
		return computeClient{}, fmt.Errorf("%s: build the Compute Engine client: %w", name, err)
	}
	return computeClient{s}, nil
}

// GetFirewall reads a VPC firewall rule.
func (c computeClient) GetFirewall(ctx context.Context, project, name string) (*compute.Firewall, error) {
	fw, err := c.s.Firewalls.Get(project, name).Context(ctx).Do()
	return fw, wrapCall("compute.firewalls.get", err)
}

// PatchFirewall starts changing the fields set in patch.
func (c computeClient) PatchFirewall(ctx context.Context, project, name string, patch *compute.Firewall) (*compute.Operation, error) {
	op, err := c.s.Firewalls.Patch(project, name, patch).Context(ctx).Do()
	return op, wrapCall("compute.firewalls.patch", err)
}

// GetGlobalOperation reads a global operation.
func (c computeClient) GetGlobalOperation(ctx context.Context, project, operation string) (*compute.Operation, error) {
	op, err := c.s.GlobalOperations.Get(project, operation).Context(ctx).Do()
	return op, wrapCall("compute.globalOperations.get", err)
}

// sqlClient calls the Cloud SQL Admin API.
type sqlClient struct{ s *sqladmin.Service }

func newSQLClient(b *builder, name string, ops []gcpapi.Operation) (sqlClient, error) {
	o, err := b.clientOptions(name, ops)
	if err != nil {
		return sqlClient{}, err
	}
	// NewService makes no request when given an HTTP client.
	s, err := sqladmin.NewService(b.ctx, o...)
	if err != nil {
		return sqlClient{}, fmt.Errorf("%s: build the Cloud SQL Admin client: %w", name, err)
	}
	return sqlClient{s}, nil
}

// GetInstance reads a Cloud SQL instance.
func (c sqlClient) GetInstance(ctx context.Context, project, name string) (*sqladmin.DatabaseInstance, error) {
	in, err := c.s.Instances.Get(project, name).Context(ctx).Do()
	return in, wrapCall("sql.instances.get", err)
}

// PatchInstance starts changing the fields set in patch.
func (c sqlClient) PatchInstance(ctx context.Context, project, name string, patch *sqladmin.DatabaseInstance) (*sqladmin.Operation, error) {
	op, err := c.s.Instances.Patch(project, name, patch).Context(ctx).Do()
	return op, wrapCall("sql.instances.patch", err)
}

// GetSQLOperation reads an instance operation.
func (c sqlClient) GetSQLOperation(ctx context.Context, project, operation string) (*sqladmin.Operation, error) {
	op, err := c.s.Operations.Get(project, operation).Context(ctx).Do()
	return op, wrapCall("sql.operations.get", err)
}

// kmsClient calls the Cloud KMS API.
type kmsClient struct{ s *cloudkms.Service }

func newKMSClient(b *builder, name string, ops []gcpapi.Operation) (kmsClient, error) {
	o, err := b.clientOptions(name, ops)
	if err != nil {
		return kmsClient{}, err
	}
	// NewService makes no request when given an HTTP client.
	s, err := cloudkms.NewService(b.ctx, o...)
	if err != nil {
		return kmsClient{}, fmt.Errorf("%s: build the Cloud KMS client: %w", name, err)
	}
	return kmsClient{s}, nil
}

// GetCryptoKey reads a crypto key by its resource name
// (projects/p/locations/l/keyRings/r/cryptoKeys/k).
func (c kmsClient) GetCryptoKey(ctx context.Context, name string) (*cloudkms.CryptoKey, error) {
	k, err := c.s.Projects.Locations.KeyRings.CryptoKeys.Get(name).Context(ctx).Do()
	return k, wrapCall("cloudkms.projects.locations.keyRings.cryptoKeys.get", err)
}

// PatchCryptoKey changes the fields of updateMask to their values in
// patch (a field of the mask left empty in patch is cleared).
func (c kmsClient) PatchCryptoKey(ctx context.Context, name string, patch *cloudkms.CryptoKey, updateMask string) (*cloudkms.CryptoKey, error) {
	k, err := c.s.Projects.Locations.KeyRings.CryptoKeys.Patch(name, patch).UpdateMask(updateMask).Context(ctx).Do()
	return k, wrapCall("cloudkms.projects.locations.keyRings.cryptoKeys.patch", err)
}

// wait polls a long-running operation every interval until done reports
// it finished, for at most timeout (and while ctx lasts).
func wait[O any](ctx context.Context, interval, timeout time.Duration, op O, done func(O) (bool, error), get func(context.Context) (O, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		finished, err := done(op)
		if finished || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: the operation is still running after %v", ErrRetryable, timeout)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for the operation: %w", ctx.Err())
		case <-t.C:
		}
		if op, err = get(ctx); err != nil {
			return fmt.Errorf("waiting for the operation: %w", err)
		}
	}
}
