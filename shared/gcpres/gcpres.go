// Package gcpres defines the typed configuration documents of the Google
// Cloud resources driftwatch evaluates, their canonical identifiers (Cloud
// Asset Inventory full resource names) and console links. It has no
// dependency on the Google Cloud SDK: fetchers fill the documents, rules
// read them (CEL field names are the json tags).
package gcpres

import (
	"reflect"
	"strings"
	"time"
)

// Resource type names: the Cloud Asset Inventory asset types.
const (
	TypeBucket      = "storage.googleapis.com/Bucket"
	TypeFirewall    = "compute.googleapis.com/Firewall"
	TypeSQLInstance = "sqladmin.googleapis.com/Instance"
	// TypeProject holds project-level settings: the project's IAM policy
	// bindings and audit configuration.
	TypeProject        = "cloudresourcemanager.googleapis.com/Project"
	TypeServiceAccount = "iam.googleapis.com/ServiceAccount"
	TypeCryptoKey      = "cloudkms.googleapis.com/CryptoKey"
)

// Types maps every resource type to the Go type of its document, for the
// rules engine to type-check expressions against.
func Types() map[string]reflect.Type {
	return map[string]reflect.Type{
		TypeBucket:         reflect.TypeFor[Bucket](),
		TypeFirewall:       reflect.TypeFor[Firewall](),
		TypeSQLInstance:    reflect.TypeFor[SQLInstance](),
		TypeProject:        reflect.TypeFor[Project](),
		TypeServiceAccount: reflect.TypeFor[ServiceAccount](),
		TypeCryptoKey:      reflect.TypeFor[CryptoKey](),
	}
}

// Public IAM principals: allUsers is anyone on the Internet,
// allAuthenticatedUsers anyone signed in to any Google account.
const (
	AllUsers              = "allUsers"
	AllAuthenticatedUsers = "allAuthenticatedUsers"
)

// Binding is one IAM policy binding: a role granted to members
// ("user:a@example.com", "group:...", "serviceAccount:...", "domain:...",
// allUsers, allAuthenticatedUsers).
type Binding struct {
	Role    string   `json:"role"`
	Members []string `json:"members"`
	// Condition is the binding's IAM condition expression ("" when the
	// binding is unconditional).
	Condition string `json:"condition"`
}

// Bucket is the posture-relevant configuration of a Cloud Storage bucket.
type Bucket struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Project  string `json:"project"`
	Location string `json:"location"`
	// IAMBindings are the bucket IAM policy's bindings.
	IAMBindings []Binding `json:"iam_bindings"`
	// UniformBucketLevelAccess is iamConfiguration.uniformBucketLevelAccess
	// .enabled: object ACLs are ignored and only IAM grants access.
	UniformBucketLevelAccess bool `json:"uniform_bucket_level_access"`
	// PublicAccessPrevention is iamConfiguration.publicAccessPrevention:
	// "enforced" or "inherited" ("unspecified" in older API responses
	// means inherited).
	PublicAccessPrevention string            `json:"public_access_prevention"`
	Labels                 map[string]string `json:"labels"`
}

// Firewall is a VPC firewall rule.
type Firewall struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Project string `json:"project"`
	// Network is the VPC network's name.
	Network string `json:"network"`
	// Direction is INGRESS or EGRESS.
	Direction string `json:"direction"`
	// Disabled rules are not enforced.
	Disabled bool  `json:"disabled"`
	Priority int64 `json:"priority"`
	// SourceRanges are the source CIDRs of an ingress rule, IPv4 and IPv6.
	SourceRanges []string `json:"source_ranges"`
	SourceTags   []string `json:"source_tags"`
	TargetTags   []string `json:"target_tags"`
	// Allowed and Denied are the protocol and port entries; a rule has one
	// or the other.
	Allowed []FirewallEntry `json:"allowed"`
	Denied  []FirewallEntry `json:"denied"`
	// FromInternet is true when a source range is the whole Internet:
	// 0.0.0.0/0 or ::/0.
	FromInternet bool `json:"from_internet"`
}

// FirewallEntry is one allowed or denied protocol with its ports.
type FirewallEntry struct {
	// Protocol is tcp, udp, icmp, esp, ah, sctp, ipip, all or an IP
	// protocol number, lower-cased.
	Protocol string `json:"protocol"`
	// Ports are the ports as written ("22", "1000-2000"); empty means every
	// port. PortRanges are the same parsed, 0-65535 for every port.
	Ports      []string    `json:"ports"`
	PortRanges []PortRange `json:"port_ranges"`
}

// PortRange is an inclusive port range.
type PortRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// SQLInstance is a Cloud SQL instance.
type SQLInstance struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Project         string `json:"project"`
	Region          string `json:"region"`
	DatabaseVersion string `json:"database_version"`
	// IPv4Enabled is settings.ipConfiguration.ipv4Enabled: the instance
	// has a public IP address.
	IPv4Enabled bool `json:"ipv4_enabled"`
	// AuthorizedNetworks may reach the public IP address.
	AuthorizedNetworks []AuthorizedNetwork `json:"authorized_networks"`
	// SSLMode is settings.ipConfiguration.sslMode:
	// ALLOW_UNENCRYPTED_AND_ENCRYPTED, ENCRYPTED_ONLY or
	// TRUSTED_CLIENT_CERTIFICATE_REQUIRED ("" when unset). RequireSSL is
	// the legacy requireSsl flag, which only counts when SSLMode is unset.
	SSLMode    string `json:"ssl_mode"`
	RequireSSL bool   `json:"require_ssl"`
	// BackupEnabled is settings.backupConfiguration.enabled.
	BackupEnabled bool              `json:"backup_enabled"`
	Labels        map[string]string `json:"labels"`
}

// AuthorizedNetwork is one entry of settings.ipConfiguration
// .authorizedNetworks.
type AuthorizedNetwork struct {
	Name string `json:"name"`
	// Value is a CIDR or an address.
	Value string `json:"value"`
}

// Project holds project-level settings.
type Project struct {
	// ID is //cloudresourcemanager.googleapis.com/projects/<project>.
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	// IAMBindings are the project IAM policy's bindings.
	IAMBindings []Binding `json:"iam_bindings"`
	// AuditConfigs are the IAM policy's audit configurations.
	AuditConfigs []AuditConfig     `json:"audit_configs"`
	Labels       map[string]string `json:"labels"`
}

// AuditConfig enables Data Access audit logs for one service, or for
// every service ("allServices").
type AuditConfig struct {
	Service    string           `json:"service"`
	LogConfigs []AuditLogConfig `json:"log_configs"`
}

// AuditLogConfig is one log type (ADMIN_READ, DATA_READ, DATA_WRITE) with
// the members whose calls it does not log.
type AuditLogConfig struct {
	LogType         string   `json:"log_type"`
	ExemptedMembers []string `json:"exempted_members"`
}

// ServiceAccount is an IAM service account with its keys.
type ServiceAccount struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Project     string `json:"project"`
	DisplayName string `json:"display_name"`
	Disabled    bool   `json:"disabled"`
	Keys        []Key  `json:"keys"`
}

// Key is one service account key.
type Key struct {
	// Name is the key's id (the last segment of its resource name).
	Name string `json:"name"`
	// KeyType is USER_MANAGED or SYSTEM_MANAGED.
	KeyType    string    `json:"key_type"`
	ValidAfter time.Time `json:"valid_after"`
	// ValidBefore is the expiry (year 9999 for user-managed keys without
	// one).
	ValidBefore time.Time `json:"valid_before"`
	Disabled    bool      `json:"disabled"`
}

// CryptoKey is a Cloud KMS crypto key.
type CryptoKey struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Project  string `json:"project"`
	Location string `json:"location"`
	KeyRing  string `json:"key_ring"`
	// Purpose is ENCRYPT_DECRYPT, ASYMMETRIC_SIGN, ASYMMETRIC_DECRYPT,
	// RAW_ENCRYPT_DECRYPT or MAC; only ENCRYPT_DECRYPT keys rotate
	// automatically.
	Purpose string `json:"purpose"`
	// RotationPeriodSeconds is rotationPeriod in seconds; 0 when automatic
	// rotation is off.
	RotationPeriodSeconds int64 `json:"rotation_period_seconds"`
	// NextRotationTime is when the next version is created (zero when
	// automatic rotation is off).
	NextRotationTime time.Time         `json:"next_rotation_time"`
	Labels           map[string]string `json:"labels"`
}

// CanonicalID is the key driftwatch stores a GCP resource under: its full
// resource name, trimmed. GCP names are case-sensitive, so the case is
// kept.
func CanonicalID(name string) string {
	return strings.TrimSuffix(strings.TrimSpace(name), "/")
}

// BucketID returns the full resource name of a bucket.
func BucketID(bucket string) string {
	return "//storage.googleapis.com/projects/_/buckets/" + strings.TrimSpace(bucket)
}

// FirewallID returns the full resource name of a VPC firewall rule.
func FirewallID(project, name string) string {
	return "//compute.googleapis.com/projects/" + strings.TrimSpace(project) + "/global/firewalls/" + strings.TrimSpace(name)
}

// SQLInstanceID returns the full resource name of a Cloud SQL instance.
func SQLInstanceID(project, name string) string {
	return "//cloudsql.googleapis.com/projects/" + strings.TrimSpace(project) + "/instances/" + strings.TrimSpace(name)
}

// ProjectID returns the full resource name of a project's settings.
func ProjectID(project string) string {
	return "//cloudresourcemanager.googleapis.com/projects/" + strings.TrimSpace(project)
}

// ServiceAccountID returns the full resource name of a service account.
func ServiceAccountID(project, email string) string {
	return "//iam.googleapis.com/projects/" + strings.TrimSpace(project) + "/serviceAccounts/" + strings.TrimSpace(email)
}

// CryptoKeyID returns the full resource name of a Cloud KMS crypto key.
func CryptoKeyID(project, location, keyRing, key string) string {
	return "//cloudkms.googleapis.com/projects/" + strings.TrimSpace(project) +
		"/locations/" + strings.TrimSpace(location) + "/keyRings/" + strings.TrimSpace(keyRing) +
		"/cryptoKeys/" + strings.TrimSpace(key)
}
