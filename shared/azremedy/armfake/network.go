package armfake

import (
	"context"
	"net/http"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v6"
)

const (
	typeNSG  = "Microsoft.Network/networkSecurityGroups"
	typeRule = "Microsoft.Network/networkSecurityGroups/securityRules"
)

// nsgWithRules returns the group as ARM does: with its custom rules, in
// name order. The caller holds s.mu.
func (s *Server) nsgWithRules(k string) armnetwork.SecurityGroup {
	g := clone(s.nsgs[k])
	if g.Properties == nil {
		g.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
	}
	g.Properties.SecurityRules = nil
	for _, r := range sortedValues(s.rules[k]) {
		g.Properties.SecurityRules = append(g.Properties.SecurityRules, ptr(clone(r)))
	}
	return g
}

// storeRule validates and stores one rule of the group k, as ARM does on a
// rule or group write. It returns the ARM error code of a refusal. The
// caller holds s.mu.
func (s *Server) storeRule(rg, nsg string, rules map[string]armnetwork.SecurityRule, r armnetwork.SecurityRule) string {
	p := r.Properties
	if r.Name == nil || *r.Name == "" || p == nil || p.Access == nil || p.Direction == nil || p.Protocol == nil || p.Priority == nil {
		return "InvalidRequestFormat"
	}
	if *p.Priority < 100 || *p.Priority > 4096 {
		return "SecurityRuleInvalidPriority"
	}
	for k, other := range rules {
		if k != strings.ToLower(*r.Name) && strings.EqualFold(string(*other.Properties.Direction), string(*p.Direction)) &&
			*other.Properties.Priority == *p.Priority {
			return "SecurityRuleConflict"
		}
	}
	r = clone(r)
	r.ID = ptr(s.ID(rg, typeNSG, nsg) + "/securityRules/" + *r.Name)
	r.Type = ptr(typeRule)
	r.Etag = s.nextETag()
	r.Properties.ProvisioningState = ptr(armnetwork.ProvisioningStateSucceeded)
	rules[strings.ToLower(*r.Name)] = r
	return ""
}

func (s *Server) createNSG(_ context.Context, rg, name string, g armnetwork.SecurityGroup, _ *armnetwork.SecurityGroupsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SecurityGroupsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityGroupsClient.BeginCreateOrUpdate"); ok {
		lroAs(s, &resp, http.StatusCreated, 0, armnetwork.SecurityGroupsClientCreateOrUpdateResponse{}, &f)
		return
	}
	k := key(rg, name)
	// A group PUT replaces the group's rules with those it carries.
	rules := map[string]armnetwork.SecurityRule{}
	if g.Properties != nil {
		for _, r := range g.Properties.SecurityRules {
			if r == nil {
				continue
			}
			if code := s.storeRule(rg, name, rules, *r); code != "" {
				errResp.SetResponseError(http.StatusBadRequest, code)
				return
			}
		}
	}
	g = clone(g)
	g.ID, g.Name, g.Type, g.Etag = ptr(s.ID(rg, typeNSG, name)), ptr(name), ptr(typeNSG), s.nextETag()
	if g.Properties == nil {
		g.Properties = &armnetwork.SecurityGroupPropertiesFormat{}
	}
	g.Properties.SecurityRules = nil
	g.Properties.ProvisioningState = ptr(armnetwork.ProvisioningStateSucceeded)
	s.nsgs[k], s.rules[k] = g, rules
	lroAs(s, &resp, http.StatusCreated, http.StatusOK, armnetwork.SecurityGroupsClientCreateOrUpdateResponse{SecurityGroup: s.nsgWithRules(k)}, nil)
	return
}

func (s *Server) getNSG(_ context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientGetOptions) (resp azfake.Responder[armnetwork.SecurityGroupsClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityGroupsClient.Get"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	k := key(rg, name)
	if _, ok := s.nsgs[k]; !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armnetwork.SecurityGroupsClientGetResponse{SecurityGroup: s.nsgWithRules(k)}, nil)
	return
}

func (s *Server) deleteNSG(_ context.Context, rg, name string, _ *armnetwork.SecurityGroupsClientBeginDeleteOptions) (resp azfake.PollerResponder[armnetwork.SecurityGroupsClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityGroupsClient.BeginDelete"); ok {
		lro(s, &resp, 0, armnetwork.SecurityGroupsClientDeleteResponse{}, &f)
		return
	}
	k := key(rg, name)
	if _, ok := s.nsgs[k]; !ok {
		resp.SetTerminalResponse(http.StatusNoContent, armnetwork.SecurityGroupsClientDeleteResponse{}, nil)
		return
	}
	delete(s.nsgs, k)
	delete(s.rules, k)
	lro(s, &resp, http.StatusOK, armnetwork.SecurityGroupsClientDeleteResponse{}, nil)
	return
}

func (s *Server) createRule(_ context.Context, rg, nsg, name string, r armnetwork.SecurityRule, _ *armnetwork.SecurityRulesClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armnetwork.SecurityRulesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityRulesClient.BeginCreateOrUpdate"); ok {
		lroAs(s, &resp, http.StatusCreated, 0, armnetwork.SecurityRulesClientCreateOrUpdateResponse{}, &f)
		return
	}
	k := key(rg, nsg)
	rules, ok := s.rules[k]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	r.Name = ptr(name)
	if code := s.storeRule(rg, nsg, rules, r); code != "" {
		errResp.SetResponseError(http.StatusBadRequest, code)
		return
	}
	lroAs(s, &resp, http.StatusCreated, http.StatusOK, armnetwork.SecurityRulesClientCreateOrUpdateResponse{SecurityRule: clone(rules[strings.ToLower(name)])}, nil)
	return
}

func (s *Server) deleteRule(_ context.Context, rg, nsg, name string, _ *armnetwork.SecurityRulesClientBeginDeleteOptions) (resp azfake.PollerResponder[armnetwork.SecurityRulesClientDeleteResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityRulesClient.BeginDelete"); ok {
		lro(s, &resp, 0, armnetwork.SecurityRulesClientDeleteResponse{}, &f)
		return
	}
	rules, ok := s.rules[key(rg, nsg)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	if _, ok := rules[strings.ToLower(name)]; !ok {
		resp.SetTerminalResponse(http.StatusNoContent, armnetwork.SecurityRulesClientDeleteResponse{}, nil)
		return
	}
	delete(rules, strings.ToLower(name))
	lro(s, &resp, http.StatusOK, armnetwork.SecurityRulesClientDeleteResponse{}, nil)
	return
}

func (s *Server) getRule(_ context.Context, rg, nsg, name string, _ *armnetwork.SecurityRulesClientGetOptions) (resp azfake.Responder[armnetwork.SecurityRulesClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityRulesClient.Get"); ok {
		errResp.SetResponseError(f.status, f.code)
		return
	}
	rules, ok := s.rules[key(rg, nsg)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ParentResourceNotFound")
		return
	}
	r, ok := rules[strings.ToLower(name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "NotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armnetwork.SecurityRulesClientGetResponse{SecurityRule: clone(r)}, nil)
	return
}

func (s *Server) listRules(rg, nsg string, _ *armnetwork.SecurityRulesClientListOptions) (resp azfake.PagerResponder[armnetwork.SecurityRulesClientListResponse]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.call("SecurityRulesClient.NewListPager"); ok {
		resp.AddResponseError(f.status, f.code)
		return
	}
	rules, ok := s.rules[key(rg, nsg)]
	if !ok {
		// ARM names the group: "The Resource
		// 'Microsoft.Network/networkSecurityGroups/x' ... was not found".
		resp.AddResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	var all []*armnetwork.SecurityRule
	for _, r := range sortedValues(rules) {
		all = append(all, ptr(clone(r)))
	}
	for _, page := range pages(s, all) {
		resp.AddPage(http.StatusOK, armnetwork.SecurityRulesClientListResponse{SecurityRuleListResult: armnetwork.SecurityRuleListResult{Value: page}}, nil)
	}
	return
}
