package gcpfetch

import (
	"context"
	"fmt"
	"time"

	iam "google.golang.org/api/iam/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// iamAPI is what the service account reader calls.
type iamAPI interface {
	GetServiceAccount(ctx context.Context, project, account string) (*iam.ServiceAccount, error)
	// ListServiceAccountKeys lists every key, user- and Google-managed:
	// the document reports both, and the rules tell them apart.
	ListServiceAccountKeys(ctx context.Context, project, account string) ([]*iam.ServiceAccountKey, error)
}

type iamClient struct{ s *iam.Service }

func accountName(project, account string) string {
	return "projects/" + project + "/serviceAccounts/" + account
}

func (c iamClient) GetServiceAccount(ctx context.Context, project, account string) (*iam.ServiceAccount, error) {
	return c.s.Projects.ServiceAccounts.Get(accountName(project, account)).Context(ctx).Do()
}

func (c iamClient) ListServiceAccountKeys(ctx context.Context, project, account string) ([]*iam.ServiceAccountKey, error) {
	resp, err := c.s.Projects.ServiceAccounts.Keys.List(accountName(project, account)).Context(ctx).Do()
	if err != nil {
		return nil, err
	}
	return resp.Keys, nil
}

// fetchServiceAccount reads a service account and its keys concurrently.
// The account is read in its own project, never projects/-, for which IAM
// answers 403 instead of 404 when the account is gone.
func (f *Fetcher) fetchServiceAccount(ctx context.Context, t target) (observation, error) {
	var (
		sa   *iam.ServiceAccount
		keys []*iam.ServiceAccountKey
	)
	g := newGroup(ctx)
	g.Go(func(ctx context.Context) (err error) {
		if sa, err = f.iam.GetServiceAccount(ctx, t.project, t.name); err != nil {
			return fmt.Errorf("service account %s: %w", t.name, err)
		}
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		if keys, err = f.iam.ListServiceAccountKeys(ctx, t.project, t.name); err != nil {
			return fmt.Errorf("service account %s keys: %w", t.name, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, err
	}
	// The id keeps the reference's form of the account (email or unique
	// id): it is the key the posture is stored under.
	doc := &gcpres.ServiceAccount{
		ID:          gcpres.ServiceAccountID(t.project, t.name),
		Email:       firstNonEmpty(sa.Email, t.name),
		Project:     t.project,
		DisplayName: sa.DisplayName,
		Disabled:    sa.Disabled,
		Keys:        []gcpres.Key{},
	}
	for _, k := range keys {
		if k == nil {
			continue
		}
		key := gcpres.Key{Name: lastSegment(k.Name), KeyType: k.KeyType, Disabled: k.Disabled}
		var err error
		if key.ValidAfter, err = parseTime("validAfterTime", k.ValidAfterTime); err != nil {
			return observation{}, fmt.Errorf("service account %s key %s: %w", t.name, key.Name, err)
		}
		if key.ValidBefore, err = parseTime("validBeforeTime", k.ValidBeforeTime); err != nil {
			return observation{}, fmt.Errorf("service account %s key %s: %w", t.name, key.Name, err)
		}
		doc.Keys = append(doc.Keys, key)
	}
	return observation{id: doc.ID, name: doc.Email, labels: map[string]string{}, doc: doc}, nil
}

// parseTime parses a Google API timestamp (RFC 3339); empty is the zero
// time.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not an RFC 3339 time", ErrInvalidResponse, field, s)
	}
	return v.UTC(), nil
}
