package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/awsres"
	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/pipeline"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/store"
)

// publicPlanner plans the revocation of a security group's public rules
// from its stored document, like the real action's Plan (tested in
// awsremedy) but without an AWS configuration.
type publicPlanner struct{ calls int }

func (p *publicPlanner) PlanFix(_ context.Context, action string, ref change.ResourceRef, doc []byte) (string, error) {
	p.calls++
	if action != "ec2_revoke_public_ingress" {
		return "", fmt.Errorf("no remediation action %q", action)
	}
	var sg awsres.SecurityGroup
	if err := json.Unmarshal(doc, &sg); err != nil {
		return "", err
	}
	var ids []string
	for _, r := range sg.Ingress {
		if r.Public && r.FromPort != 443 {
			ids = append(ids, r.RuleID)
		}
	}
	return "Revoke " + strings.Join(ids, ", ") + " on " + ref.Name, nil
}

// The detector records on each failing finding what its fix would change,
// following the latest document, so that functions without the cloud's
// remediation code can show and propose it.
func TestFindingsCarryTheFixPlan(t *testing.T) {
	pl := &publicPlanner{}
	h := newHarnessWith(t, pipeline.Options{Planner: pl})
	ctx := context.Background()
	plans := func() map[string]string {
		t.Helper()
		fs, err := h.store.Findings(ctx, store.KeyOf(sgRef))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, f := range fs {
			if f.Status == store.FindingOpen {
				out[f.RuleID] = f.FixPlan
			}
		}
		return out
	}

	h.fetch.set(sgID, sg(https))
	h.process(h.event("CreateSecurityGroup"))
	if got := plans(); len(got) != 0 || pl.calls != 0 {
		t.Fatalf("a compliant group was planned for: %v (%d calls)", got, pl.calls)
	}

	h.fetch.set(sgID, sg(https, sshWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	if got := plans()["aws_ec2_sg_no_public_ingress_tcp_22"]; got != "Revoke sgr-2 on sg-0abc" {
		t.Fatalf("SSH finding plan = %q", got)
	}

	// RDP opened too: the still-failing SSH finding's plan follows the new
	// document.
	h.fetch.set(sgID, sg(https, sshWorld, rdpWorld))
	h.process(h.event("AuthorizeSecurityGroupIngress"))
	got := plans()
	for _, id := range []string{"aws_ec2_sg_no_public_ingress_tcp_22", "aws_ec2_sg_no_public_ingress_tcp_3389"} {
		if got[id] != "Revoke sgr-2, sgr-3 on sg-0abc" {
			t.Errorf("%s plan = %q", id, got[id])
		}
	}
}

// A plan that cannot be made leaves the finding without one: the
// observation is still written.
func TestFixPlanErrorDoesNotFailTheObservation(t *testing.T) {
	h := newHarnessWith(t, pipeline.Options{Planner: failingPlanner{}})
	h.fetch.set(sgID, sg(https, sshWorld))
	out := h.process(h.event("AuthorizeSecurityGroupIngress"))
	if !out.Resources[0].Written || len(out.Resources[0].Failing) != 1 {
		t.Fatalf("outcome = %+v", out.Resources[0])
	}
	fs, err := h.store.Findings(context.Background(), store.KeyOf(sgRef))
	if err != nil || len(fs) != 1 || fs[0].FixPlan != "" {
		t.Fatalf("findings = %+v, %v", fs, err)
	}
}

type failingPlanner struct{}

func (failingPlanner) PlanFix(context.Context, string, change.ResourceRef, []byte) (string, error) {
	return "", errors.New("document from an older version")
}

type recordingBus struct{ got []remediation.Request }

func (b *recordingBus) Dispatch(_ context.Context, r remediation.Request) error {
	b.got = append(b.got, r)
	return nil
}

func TestByCloudRoutesToTheResourcesCloud(t *testing.T) {
	aws, azure := &recordingBus{}, &recordingBus{}
	d := pipeline.ByCloud{change.AWS: aws, change.Azure: azure}
	ctx := context.Background()
	for _, c := range []change.Cloud{change.Azure, change.AWS, change.Azure} {
		if err := d.Dispatch(ctx, remediation.Request{Op: remediation.OpApply, Key: store.Key{Cloud: c, Account: "a", ResourceID: "r"}}); err != nil {
			t.Fatal(err)
		}
	}
	if len(aws.got) != 1 || len(azure.got) != 2 || azure.got[0].Key.Cloud != change.Azure {
		t.Fatalf("aws got %d, azure got %d", len(aws.got), len(azure.got))
	}
	err := d.Dispatch(ctx, remediation.Request{Op: remediation.OpApply, Key: store.Key{Cloud: change.GCP, Account: "p", ResourceID: "r"}})
	if err == nil || !strings.Contains(err.Error(), "no remediation bus configured for gcp") {
		t.Fatalf("a cloud without a bus: %v", err)
	}
}
