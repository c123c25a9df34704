package gcpfetch

import (
	"context"
	"fmt"

	sqladmin "google.golang.org/api/sqladmin/v1"

	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// sqlAPI is what the Cloud SQL instance reader calls.
type sqlAPI interface {
	GetInstance(ctx context.Context, project, instance string) (*sqladmin.DatabaseInstance, error)
}

type sqlClient struct{ s *sqladmin.Service }

func (c sqlClient) GetInstance(ctx context.Context, project, instance string) (*sqladmin.DatabaseInstance, error) {
	return c.s.Instances.Get(project, instance).Context(ctx).Do()
}

// fetchSQLInstance reads a Cloud SQL instance. Settings the API leaves
// out are off: no public IP, no SSL requirement, no backups.
func (f *Fetcher) fetchSQLInstance(ctx context.Context, t target) (observation, error) {
	inst, err := f.sql.GetInstance(ctx, t.project, t.name)
	if err != nil {
		return observation{}, fmt.Errorf("SQL instance %s/%s: %w", t.project, t.name, err)
	}
	name := firstNonEmpty(inst.Name, t.name)
	doc := &gcpres.SQLInstance{
		ID:                 gcpres.SQLInstanceID(t.project, name),
		Name:               name,
		Project:            t.project,
		Region:             inst.Region,
		DatabaseVersion:    inst.DatabaseVersion,
		AuthorizedNetworks: []gcpres.AuthorizedNetwork{},
		Labels:             map[string]string{},
	}
	if s := inst.Settings; s != nil {
		doc.Labels = labelMap(s.UserLabels)
		if ip := s.IpConfiguration; ip != nil {
			doc.IPv4Enabled = ip.Ipv4Enabled
			doc.SSLMode = ip.SslMode
			doc.RequireSSL = ip.RequireSsl
			for _, n := range ip.AuthorizedNetworks {
				if n != nil {
					doc.AuthorizedNetworks = append(doc.AuthorizedNetworks, gcpres.AuthorizedNetwork{Name: n.Name, Value: n.Value})
				}
			}
		}
		if b := s.BackupConfiguration; b != nil {
			doc.BackupEnabled = b.Enabled
		}
	}
	return observation{id: doc.ID, name: name, region: doc.Region, labels: doc.Labels, doc: doc}, nil
}
