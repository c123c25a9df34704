package awsres

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Policy is a parsed IAM or resource policy document.
type Policy struct {
	// Present is false when the resource has no policy.
	Present    bool        `json:"present"`
	Statements []Statement `json:"statements"`
}

// Statement is one policy statement with its list fields normalized.
type Statement struct {
	Sid    string `json:"sid"`
	Effect string `json:"effect"`
	// Principals lists "*" for everyone, otherwise "AWS:<arn-or-id>",
	// "Service:<name>", "Federated:<provider>" or "CanonicalUser:<id>".
	Principals    []string `json:"principals"`
	NotPrincipals []string `json:"not_principals"`
	Actions       []string `json:"actions"`
	NotActions    []string `json:"not_actions"`
	Resources     []string `json:"resources"`
	NotResources  []string `json:"not_resources"`
	// ConditionKeys are the condition keys used, lower-cased.
	ConditionKeys []string `json:"condition_keys"`
	// Public is true for an Allow to every principal that no condition
	// narrows to known accounts, organizations, networks or sources.
	Public bool `json:"public"`
	// Admin is true for an Allow of every action on every resource.
	Admin bool `json:"admin"`
}

// restrictingKeys are condition keys that limit who can use a statement
// granted to "*" (as AWS's own public-policy evaluation treats them).
var restrictingKeys = []string{
	"aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
	"aws:sourceaccount", "aws:sourcearn", "aws:sourceip", "aws:sourceorgid", "aws:sourceorgpaths",
	"aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner", "aws:userid", "aws:username",
	"kms:calleraccount", "kms:viaservice", "s3:dataaccesspointaccount", "s3:dataaccesspointarn",
}

// ParsePolicy parses a policy document. IAM returns documents URL-encoded;
// ParsePolicy accepts both forms. An empty document is an absent policy.
func ParsePolicy(doc string) (Policy, error) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return Policy{}, nil
	}
	if !strings.HasPrefix(doc, "{") {
		// PathUnescape, not QueryUnescape: "+" is a literal plus in IAM.
		dec, err := url.PathUnescape(doc)
		if err != nil {
			return Policy{}, fmt.Errorf("policy document: %w", err)
		}
		doc = strings.TrimSpace(dec)
	}
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return Policy{}, fmt.Errorf("policy document: %w", err)
	}
	var stmts []rawStatement
	switch {
	case len(raw.Statement) == 0 || string(raw.Statement) == "null":
	case raw.Statement[0] == '[':
		if err := json.Unmarshal(raw.Statement, &stmts); err != nil {
			return Policy{}, fmt.Errorf("policy statements: %w", err)
		}
	default:
		var one rawStatement
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return Policy{}, fmt.Errorf("policy statement: %w", err)
		}
		stmts = []rawStatement{one}
	}
	p := Policy{Present: true, Statements: make([]Statement, 0, len(stmts))}
	for i, rs := range stmts {
		s, err := rs.normalize()
		if err != nil {
			return Policy{}, fmt.Errorf("policy statement %d: %w", i, err)
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

type rawStatement struct {
	Sid          string                     `json:"Sid"`
	Effect       string                     `json:"Effect"`
	Principal    json.RawMessage            `json:"Principal"`
	NotPrincipal json.RawMessage            `json:"NotPrincipal"`
	Action       stringList                 `json:"Action"`
	NotAction    stringList                 `json:"NotAction"`
	Resource     stringList                 `json:"Resource"`
	NotResource  stringList                 `json:"NotResource"`
	Condition    map[string]json.RawMessage `json:"Condition"`
}

func (rs rawStatement) normalize() (Statement, error) {
	s := Statement{
		Sid: rs.Sid, Effect: rs.Effect,
		Actions: rs.Action, NotActions: rs.NotAction,
		Resources: rs.Resource, NotResources: rs.NotResource,
	}
	var err error
	if s.Principals, err = principals(rs.Principal); err != nil {
		return Statement{}, fmt.Errorf("Principal: %w", err)
	}
	if s.NotPrincipals, err = principals(rs.NotPrincipal); err != nil {
		return Statement{}, fmt.Errorf("NotPrincipal: %w", err)
	}
	for _, ops := range rs.Condition {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(ops, &keys); err != nil {
			return Statement{}, fmt.Errorf("Condition: %w", err)
		}
		for k := range keys {
			s.ConditionKeys = append(s.ConditionKeys, strings.ToLower(k))
		}
	}
	slices.Sort(s.ConditionKeys)
	s.ConditionKeys = slices.Compact(s.ConditionKeys)
	allow := strings.EqualFold(s.Effect, "Allow")
	s.Public = allow && slices.Contains(s.Principals, "*") &&
		!slices.ContainsFunc(s.ConditionKeys, func(k string) bool { return slices.Contains(restrictingKeys, k) })
	s.Admin = allow && slices.ContainsFunc(s.Actions, func(a string) bool { return a == "*" || a == "*:*" }) &&
		slices.Contains(s.Resources, "*")
	return s, nil
}

// principals flattens "*", {"AWS": "*"} and {"AWS": [..], "Service": ..}.
// Any AWS principal "*" is reported as "*".
func principals(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, fmt.Errorf("unexpected principal string %q", star)
		}
		return []string{"*"}, nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	var out []string
	for kind, ids := range m {
		for _, id := range ids {
			if kind == "AWS" && id == "*" {
				out = append(out, "*")
				continue
			}
			out = append(out, kind+":"+id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// stringList decodes a JSON string or array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var s []string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*l = []string{s}
	return nil
}
