package gcpremedy

import (
	"testing"
	"time"

	"google.golang.org/api/compute/v1"
	"google.golang.org/api/sqladmin/v1"
	"google.golang.org/api/storage/v1"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/remediation"
	"github.com/driftwatch/driftwatch/shared/remediation/remediationtest"
)

// TestConformance runs the remediation conformance suite on every action
// against gcpfake, one Case per action and initial state. Every
// long-running operation (the firewall and Cloud SQL patches) answers
// RUNNING to its first polls before it completes.
func TestConformance(t *testing.T) {
	e := newEnv(t)
	e.fake.SetOperationPolls(2)
	cat := e.catalog(t)
	mk := func(name string, setup, compliant func(t *testing.T) remediation.Target) remediationtest.Case {
		return remediationtest.Case{
			Action:         cat[name],
			Setup:          setup,
			SetupCompliant: compliant,
			Fetch:          func(t *testing.T, r change.ResourceRef) remediation.Target { return e.fetch(t, r) },
			Complies:       func(t *testing.T, target remediation.Target) bool { return complies(t, name, target) },
			Faulty:         func(t *testing.T, n int) remediation.Action { return e.faulty(t, name, n) },
		}
	}
	named := func(c remediationtest.Case, name string) remediationtest.Case {
		c.Name = c.Action.Name() + "/" + name
		return c
	}

	bucket := func(pap string, bs ...*storage.PolicyBindings) func(t *testing.T) remediation.Target {
		return func(t *testing.T) remediation.Target { return e.bucket(t, pap, bs...) }
	}
	onlyEU := &storage.Expr{Title: "eu-only", Description: "requests from the EU office", Expression: `request.time < timestamp("2027-01-01T00:00:00Z")`}
	kept := []*storage.PolicyBindings{
		binding("roles/storage.objectAdmin", nil, "group:web-admins@acme.example"),
		binding("roles/storage.legacyBucketOwner", nil, "projectOwner:"+testProject),
	}
	public := []*storage.PolicyBindings{
		// A public member among others, a binding of public members only
		// (dropped, then recreated where it was), a conditional binding:
		// all in one policy, one write.
		binding("roles/storage.objectViewer", nil, "user:cdn-bot@acme.example", "allUsers", "serviceAccount:site@acme-prod-4821.iam.gserviceaccount.com"),
		kept[0],
		binding("roles/storage.legacyBucketReader", nil, "allAuthenticatedUsers", "allUsers"),
		binding("roles/storage.objectViewer", onlyEU, "allUsers", "group:eu@acme.example"),
		kept[1],
	}

	firewall := func(fw compute.Firewall) func(t *testing.T) remediation.Target {
		return func(t *testing.T) remediation.Target { c := fw; return e.firewall(t, &c) }
	}
	allow := func(proto string, ports ...string) *compute.FirewallAllowed {
		return &compute.FirewallAllowed{IPProtocol: proto, Ports: ports}
	}
	sshFromAnywhere := compute.Firewall{Name: "allow-ssh", Direction: "INGRESS", Priority: 1000,
		SourceRanges: []string{"10.0.0.0/8", "0.0.0.0/0"}, TargetTags: []string{"bastion"},
		Allowed: []*compute.FirewallAllowed{allow("tcp", "22", "443"), allow("icmp")}}
	sshFromOffice := sshFromAnywhere
	sshFromOffice.SourceRanges = []string{"198.51.100.0/24"}

	sql := func(ipc sqladmin.IpConfiguration) func(t *testing.T) remediation.Target {
		return func(t *testing.T) remediation.Target { c := ipc; return e.sqlInstance(t, &c) }
	}
	acl := func(name, value string) *sqladmin.AclEntry {
		return &sqladmin.AclEntry{Kind: "sql#aclEntry", Name: name, Value: value}
	}
	office := acl("office", "198.51.100.0/24")

	key := func(purpose, period string, next time.Duration) func(t *testing.T) remediation.Target {
		return func(t *testing.T) remediation.Target {
			var at time.Time
			if next != 0 {
				at = time.Now().Add(next)
			}
			return e.cryptoKey(t, purpose, period, at)
		}
	}
	const day = 24 * time.Hour

	cases := []remediationtest.Case{
		mk(StorageRemovePublicMembers, bucket("inherited", public...), bucket("inherited", kept...)),
		named(mk(StorageRemovePublicMembers, bucket("enforced", binding("roles/storage.objectViewer", nil, "allUsers")), bucket("enforced")),
			"only binding, public"),
		mk(StorageEnforcePublicAccessPrevention, bucket("inherited", public...), bucket("enforced", kept...)),
		// No case starts from the legacy "unspecified": Undo writes
		// "inherited" for it, the same setting under its current name, and
		// the fetcher reports values as the API spells them.
		named(mk(StorageEnforcePublicAccessPrevention, bucket(""), bucket("enforced")), "never set"),

		named(mk(FirewallDisableRule, firewall(sshFromAnywhere), firewall(sshFromOffice)), "ssh"),
		named(mk(FirewallDisableRule,
			firewall(compute.Firewall{Name: "allow-rdp", SourceRanges: []string{"::/0"}, Allowed: []*compute.FirewallAllowed{allow("6", "3000-4000")}}),
			firewall(compute.Firewall{Name: "allow-rdp", SourceRanges: []string{"::/0"}, Allowed: []*compute.FirewallAllowed{allow("tcp", "3000-3388")}})),
			"rdp, IPv6, direction unset"),
		named(mk(FirewallDisableRule,
			firewall(compute.Firewall{Name: "allow-all-udp", Direction: "INGRESS", SourceRanges: []string{"0.0.0.0/0"}, Allowed: []*compute.FirewallAllowed{allow("udp", "0-30000", "30001-65535")}}),
			firewall(compute.Firewall{Name: "egress-all", Direction: "EGRESS", SourceRanges: []string{"0.0.0.0/0"}, Allowed: []*compute.FirewallAllowed{allow("all")}})),
			"every port"),

		mk(SQLRemovePublicAuthorizedNetwork,
			sql(sqladmin.IpConfiguration{Ipv4Enabled: true, SslMode: sslEncryptedOnly, AuthorizedNetworks: []*sqladmin.AclEntry{
				office, acl("anywhere", "0.0.0.0/0"), acl("vpn", "203.0.113.7/32"), acl("", "::/0")}}),
			sql(sqladmin.IpConfiguration{Ipv4Enabled: true, AuthorizedNetworks: []*sqladmin.AclEntry{office}})),
		named(mk(SQLRemovePublicAuthorizedNetwork,
			sql(sqladmin.IpConfiguration{Ipv4Enabled: true, AuthorizedNetworks: []*sqladmin.AclEntry{acl("temp", "0.0.0.0/0")}}),
			// Without a public IP address the entry admits nobody.
			sql(sqladmin.IpConfiguration{PrivateNetwork: "projects/" + testProject + "/global/networks/default", AuthorizedNetworks: []*sqladmin.AclEntry{acl("temp", "0.0.0.0/0")}})),
			"only entry"),

		mk(SQLRequireSSL,
			sql(sqladmin.IpConfiguration{Ipv4Enabled: true, SslMode: sslAllow, AuthorizedNetworks: []*sqladmin.AclEntry{office}}),
			sql(sqladmin.IpConfiguration{Ipv4Enabled: true, SslMode: sslEncryptedOnly})),
		named(mk(SQLRequireSSL, sql(sqladmin.IpConfiguration{Ipv4Enabled: true}), sql(sqladmin.IpConfiguration{RequireSsl: true})), "mode unset"),
		named(mk(SQLRequireSSL,
			// requireSsl on with sslMode ALLOW: the mode wins, the flag must
			// go with ENCRYPTED_ONLY.
			sql(sqladmin.IpConfiguration{SslMode: sslAllow, RequireSsl: true}),
			sql(sqladmin.IpConfiguration{SslMode: sslTrustedCertReq, RequireSsl: true})), "legacy flag on"),

		named(mk(KMSSetRotationPeriod, key("ENCRYPT_DECRYPT", "", 0), key("ENCRYPT_DECRYPT", "2592000s", 10*day)), "no rotation"),
		named(mk(KMSSetRotationPeriod, key("ENCRYPT_DECRYPT", "31536000s", 200*day), key("", "7776000s", 90*day-time.Hour)), "yearly"),
		named(mk(KMSSetRotationPeriod, key("ENCRYPT_DECRYPT", "2592000s", 400*day), key("ENCRYPT_DECRYPT", "86400s", day)), "next rotation too far"),
	}
	remediationtest.Run(t, cases)
}
