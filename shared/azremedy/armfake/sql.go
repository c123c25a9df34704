package armfake

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/sql/armsql"
)

const typeSQLServer = "Microsoft.Sql/servers"

func (s *Server) createServer(_ context.Context, rg, name string, p armsql.Server, _ *armsql.ServersClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armsql.ServersClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("ServersClient.BeginCreateOrUpdate"); ok {
		lro(s, &resp, 0, armsql.ServersClientCreateOrUpdateResponse{}, &f)
		return
	}
	k := key(rg, name)
	srv := clone(p)
	srv.ID, srv.Name, srv.Type = ptr(s.ID(rg, typeSQLServer, name)), ptr(name), ptr(typeSQLServer)
	if srv.Properties == nil {
		srv.Properties = &armsql.ServerProperties{}
	}
	// The administrator password is write-only.
	srv.Properties.AdministratorLoginPassword = nil
	srv.Properties.State = ptr("Ready")
	s.servers[k] = srv
	if _, ok := s.firewall[k]; !ok {
		s.firewall[k] = map[string]armsql.FirewallRule{}
	}
	lro(s, &resp, http.StatusOK, armsql.ServersClientCreateOrUpdateResponse{Server: clone(srv)}, nil)
	return
}

func (s *Server) getServer(_ context.Context, rg, name string, _ *armsql.ServersClientGetOptions) (resp azfake.Responder[armsql.ServersClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("ServersClient.Get"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	srv, ok := s.servers[key(rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armsql.ServersClientGetResponse{Server: clone(srv)}, nil)
	return
}

// validRange reports whether a firewall rule range is what ARM accepts:
// two IPv4 addresses, start not above end.
func validRange(p *armsql.ServerFirewallRuleProperties) bool {
	if p == nil || p.StartIPAddress == nil || p.EndIPAddress == nil {
		return false
	}
	start, err1 := netip.ParseAddr(*p.StartIPAddress)
	end, err2 := netip.ParseAddr(*p.EndIPAddress)
	return err1 == nil && err2 == nil && start.Is4() && end.Is4() && start.Compare(end) <= 0
}

func (s *Server) putFirewallRule(_ context.Context, rg, server, name string, r armsql.FirewallRule, _ *armsql.FirewallRulesClientCreateOrUpdateOptions) (resp azfake.Responder[armsql.FirewallRulesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("FirewallRulesClient.CreateOrUpdate"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	rules, ok := s.firewall[key(rg, server)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	if !validRange(r.Properties) {
		errResp.SetResponseError(http.StatusBadRequest, "FirewallRuleNotIPv4Address")
		return
	}
	status := http.StatusOK
	if _, exists := rules[strings.ToLower(name)]; !exists {
		status = http.StatusCreated
	}
	r = armsql.FirewallRule{
		ID: ptr(s.ID(rg, typeSQLServer, server) + "/firewallRules/" + name), Name: ptr(name), Type: ptr(typeSQLServer + "/firewallRules"),
		Properties: &armsql.ServerFirewallRuleProperties{StartIPAddress: r.Properties.StartIPAddress, EndIPAddress: r.Properties.EndIPAddress},
	}
	rules[strings.ToLower(name)] = clone(r)
	resp.SetResponse(status, armsql.FirewallRulesClientCreateOrUpdateResponse{FirewallRule: clone(r)}, nil)
	return
}

func (s *Server) deleteFirewallRule(_ context.Context, rg, server, name string, _ *armsql.FirewallRulesClientDeleteOptions) (resp azfake.Responder[armsql.FirewallRulesClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("FirewallRulesClient.Delete"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	rules, ok := s.firewall[key(rg, server)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	status := http.StatusOK
	if _, exists := rules[strings.ToLower(name)]; !exists {
		status = http.StatusNoContent
	}
	delete(rules, strings.ToLower(name))
	resp.SetResponse(status, armsql.FirewallRulesClientDeleteResponse{}, nil)
	return
}

func (s *Server) getFirewallRule(_ context.Context, rg, server, name string, _ *armsql.FirewallRulesClientGetOptions) (resp azfake.Responder[armsql.FirewallRulesClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("FirewallRulesClient.Get"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	rules, ok := s.firewall[key(rg, server)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	r, ok := rules[strings.ToLower(name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armsql.FirewallRulesClientGetResponse{FirewallRule: clone(r)}, nil)
	return
}

func (s *Server) listFirewallRules(rg, server string, _ *armsql.FirewallRulesClientListByServerOptions) (resp azfake.PagerResponder[armsql.FirewallRulesClientListByServerResponse]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("FirewallRulesClient.NewListByServerPager"); ok {
		resp.AddResponseError(f.status, f.code)
		return
	}
	rules, ok := s.firewall[key(rg, server)]
	if !ok {
		resp.AddResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	var all []*armsql.FirewallRule
	for _, r := range sortedValues(rules) {
		all = append(all, ptr(clone(r)))
	}
	for _, page := range pages(s, all) {
		resp.AddPage(http.StatusOK, armsql.FirewallRulesClientListByServerResponse{FirewallRuleListResult: armsql.FirewallRuleListResult{Value: page}}, nil)
	}
	return
}

func (s *Server) putAuditing(_ context.Context, rg, server string, p armsql.ServerBlobAuditingPolicy, _ *armsql.ServerBlobAuditingPoliciesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armsql.ServerBlobAuditingPoliciesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("ServerBlobAuditingPoliciesClient.BeginCreateOrUpdate"); ok {
		lro(s, &resp, 0, armsql.ServerBlobAuditingPoliciesClientCreateOrUpdateResponse{}, &f)
		return
	}
	k := key(rg, server)
	if _, ok := s.servers[k]; !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	p = clone(p)
	p.ID, p.Name, p.Type = ptr(s.ID(rg, typeSQLServer, server)+"/auditingSettings/Default"), ptr("Default"), ptr(typeSQLServer+"/auditingSettings")
	s.auditing[k] = p
	lro(s, &resp, http.StatusOK, armsql.ServerBlobAuditingPoliciesClientCreateOrUpdateResponse{ServerBlobAuditingPolicy: clone(p)}, nil)
	return
}

// getAuditing answers a server's auditing policy: Disabled until one is
// written, as for a new server.
func (s *Server) getAuditing(_ context.Context, rg, server string, _ *armsql.ServerBlobAuditingPoliciesClientGetOptions) (resp azfake.Responder[armsql.ServerBlobAuditingPoliciesClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("ServerBlobAuditingPoliciesClient.Get"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	k := key(rg, server)
	if _, ok := s.servers[k]; !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	p, ok := s.auditing[k]
	if !ok {
		p = armsql.ServerBlobAuditingPolicy{
			ID: ptr(s.ID(rg, typeSQLServer, server) + "/auditingSettings/Default"), Name: ptr("Default"), Type: ptr(typeSQLServer + "/auditingSettings"),
			Properties: &armsql.ServerBlobAuditingPolicyProperties{State: ptr(armsql.BlobAuditingPolicyStateDisabled), RetentionDays: ptr[int32](0)},
		}
	}
	resp.SetResponse(http.StatusOK, armsql.ServerBlobAuditingPoliciesClientGetResponse{ServerBlobAuditingPolicy: clone(p)}, nil)
	return
}
