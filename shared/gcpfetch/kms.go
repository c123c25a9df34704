package gcpfetch

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	cloudkms "google.golang.org/api/cloudkms/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// kmsAPI is what the crypto key reader calls.
type kmsAPI interface {
	GetCryptoKey(ctx context.Context, name string) (*cloudkms.CryptoKey, error)
}

type kmsClient struct{ s *cloudkms.Service }

func (c kmsClient) GetCryptoKey(ctx context.Context, name string) (*cloudkms.CryptoKey, error) {
	return c.s.Projects.Locations.KeyRings.CryptoKeys.Get(name).Context(ctx).Do()
}

// fetchCryptoKey reads a Cloud KMS key. Without a rotation period,
// automatic rotation is off and the next rotation time is reported zero,
// as gcpres documents.
func (f *Fetcher) fetchCryptoKey(ctx context.Context, t target) (observation, error) {
	name := "projects/" + t.project + "/locations/" + t.location + "/keyRings/" + t.keyRing + "/cryptoKeys/" + t.name
	k, err := f.kms.GetCryptoKey(ctx, name)
	if err != nil {
		return observation{}, fmt.Errorf("crypto key %s: %w", name, err)
	}
	doc := &gcpres.CryptoKey{
		ID:       gcpres.CryptoKeyID(t.project, t.location, t.keyRing, t.name),
		Name:     t.name,
		Project:  t.project,
		Location: t.location,
		KeyRing:  t.keyRing,
		Purpose:  k.Purpose,
		Labels:   labelMap(k.Labels),
	}
	if doc.RotationPeriodSeconds, err = parseSeconds("rotationPeriod", k.RotationPeriod); err != nil {
		return observation{}, fmt.Errorf("crypto key %s: %w", name, err)
	}
	if doc.RotationPeriodSeconds > 0 {
		if doc.NextRotationTime, err = parseTime("nextRotationTime", k.NextRotationTime); err != nil {
			return observation{}, fmt.Errorf("crypto key %s: %w", name, err)
		}
	}
	return observation{id: doc.ID, name: t.name, region: t.location, labels: doc.Labels, doc: doc}, nil
}

// parseSeconds parses a google.protobuf.Duration in its JSON form
// ("7776000s", "1.5s") to whole seconds; empty is 0.
func parseSeconds(field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num, ok := strings.CutSuffix(s, "s")
	whole, frac, _ := strings.Cut(num, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if !ok || err != nil || n < 0 || whole == "" || whole[0] == '+' || strings.Trim(frac, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %s %q is not a duration in seconds", ErrInvalidResponse, field, s)
	}
	if n > int64(time.Duration(1<<63-1)/time.Second) {
		return 0, fmt.Errorf("%w: %s %q is out of range", ErrInvalidResponse, field, s)
	}
	return n, nil
}
