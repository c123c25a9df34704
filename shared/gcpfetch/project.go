package gcpfetch

import (
	"context"
	"fmt"

	crm "google.golang.org/api/cloudresourcemanager/v3"

	"github.com/driftwatch/driftwatch/shared/gcpapi"
	"github.com/driftwatch/driftwatch/shared/gcpres"
)

// projectsAPI is what the project reader calls.
type projectsAPI interface {
	GetProject(ctx context.Context, project string) (*crm.Project, error)
	// GetProjectPolicy asks for policy version 3, which keeps conditional
	// bindings; the policy carries the audit configs.
	GetProjectPolicy(ctx context.Context, project string) (*crm.Policy, error)
}

type projectsClient struct{ s *crm.Service }

func (c projectsClient) GetProject(ctx context.Context, project string) (*crm.Project, error) {
	return c.s.Projects.Get("projects/" + project).Context(ctx).Do()
}

func (c projectsClient) GetProjectPolicy(ctx context.Context, project string) (*crm.Policy, error) {
	req := &crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}
	return c.s.Projects.GetIamPolicy("projects/"+project, req).Context(ctx).Do()
}

// fetchProject reads a project and its IAM policy concurrently. A project
// whose deletion was requested still answers for 30 days: it no longer
// exists for driftwatch. Resource Manager answers 403, not 404, for a
// project that does not exist at all, so that case is an access denial.
func (f *Fetcher) fetchProject(ctx context.Context, t target) (observation, error) {
	var (
		p   *crm.Project
		pol *crm.Policy
	)
	g := newGroup(ctx)
	g.Go(func(ctx context.Context) (err error) {
		if p, err = f.projects.GetProject(ctx, t.project); err != nil {
			return fmt.Errorf("project %s: %w", t.project, err)
		}
		return nil
	})
	g.Go(func(ctx context.Context) (err error) {
		if pol, err = f.projects.GetProjectPolicy(ctx, t.project); err != nil {
			return fmt.Errorf("project %s IAM policy: %w", t.project, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return observation{}, err
	}
	if p.State == "DELETE_REQUESTED" || p.State == "DELETE_IN_PROGRESS" {
		return observation{}, fmt.Errorf("project %s is %s: %w", t.project, p.State, gcpapi.ErrNotFound)
	}
	id := firstNonEmpty(p.ProjectId, t.project)
	doc := &gcpres.Project{
		ID:           gcpres.ProjectID(id),
		ProjectID:    id,
		IAMBindings:  []gcpres.Binding{},
		AuditConfigs: []gcpres.AuditConfig{},
		Labels:       labelMap(p.Labels),
	}
	for _, b := range pol.Bindings {
		if b == nil {
			continue
		}
		bd := gcpres.Binding{Role: b.Role, Members: orEmpty(b.Members)}
		if b.Condition != nil {
			bd.Condition = b.Condition.Expression
		}
		doc.IAMBindings = append(doc.IAMBindings, bd)
	}
	for _, ac := range pol.AuditConfigs {
		if ac == nil {
			continue
		}
		c := gcpres.AuditConfig{Service: ac.Service, LogConfigs: []gcpres.AuditLogConfig{}}
		for _, lc := range ac.AuditLogConfigs {
			if lc != nil {
				c.LogConfigs = append(c.LogConfigs, gcpres.AuditLogConfig{LogType: lc.LogType, ExemptedMembers: orEmpty(lc.ExemptedMembers)})
			}
		}
		doc.AuditConfigs = append(doc.AuditConfigs, c)
	}
	return observation{id: doc.ID, name: id, labels: doc.Labels, doc: doc}, nil
}
