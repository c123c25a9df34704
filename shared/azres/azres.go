// Package azres defines the typed configuration documents of the Azure
// resources driftwatch evaluates, their canonical identifiers (ARM resource
// ids) and portal links. It has no dependency on the Azure SDK: fetchers
// fill the documents, rules read them (CEL field names are the json tags).
package azres

import (
	"reflect"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// Resource type names: the ARM resource types.
const (
	TypeStorageAccount = "Microsoft.Storage/storageAccounts"
	TypeNSG            = "Microsoft.Network/networkSecurityGroups"
	TypeSQLServer      = "Microsoft.Sql/servers"
	TypeSQLDatabase    = "Microsoft.Sql/servers/databases"
	TypeKeyVault       = "Microsoft.KeyVault/vaults"
	// TypeSubscription holds subscription-level settings: the Activity Log
	// diagnostic settings.
	TypeSubscription = "Microsoft.Resources/subscriptions"
)

// Types maps every resource type to the Go type of its document, for the
// rules engine to type-check expressions against.
func Types() map[string]reflect.Type {
	return map[string]reflect.Type{
		TypeStorageAccount: reflect.TypeFor[StorageAccount](),
		TypeNSG:            reflect.TypeFor[NSG](),
		TypeSQLServer:      reflect.TypeFor[SQLServer](),
		TypeSQLDatabase:    reflect.TypeFor[SQLDatabase](),
		TypeKeyVault:       reflect.TypeFor[KeyVault](),
		TypeSubscription:   reflect.TypeFor[Subscription](),
	}
}

// StorageAccount is the posture-relevant configuration of a storage account.
type StorageAccount struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	ResourceGroup string `json:"resource_group"`
	Location      string `json:"location"`
	// AllowBlobPublicAccess is "Allow Blob anonymous access".
	AllowBlobPublicAccess bool `json:"allow_blob_public_access"`
	// HTTPSOnly is "Secure transfer required".
	HTTPSOnly bool `json:"https_only"`
	// MinimumTLSVersion is TLS1_0, TLS1_1, TLS1_2 or TLS1_3.
	MinimumTLSVersion string `json:"minimum_tls_version"`
	// NetworkDefaultAction is the firewall's default action: Allow or Deny.
	NetworkDefaultAction string `json:"network_default_action"`
	// PublicNetworkAccess is Enabled, Disabled or SecuredByPerimeter (""
	// when unset, which Azure treats as Enabled).
	PublicNetworkAccess  string            `json:"public_network_access"`
	AllowSharedKeyAccess bool              `json:"allow_shared_key_access"`
	Tags                 map[string]string `json:"tags"`
}

// NSG is a network security group with its rules (custom rules only:
// the default rules cannot open anything to the Internet).
type NSG struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	ResourceGroup string            `json:"resource_group"`
	Location      string            `json:"location"`
	Rules         []NSGRule         `json:"rules"`
	Tags          map[string]string `json:"tags"`
}

// NSGRule is one security rule with its prefixes and ports flattened.
type NSGRule struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Direction is Inbound or Outbound; Access is Allow or Deny.
	Direction string `json:"direction"`
	Access    string `json:"access"`
	Priority  int64  `json:"priority"`
	// Protocol is Tcp, Udp, Icmp, Esp, Ah or * (any).
	Protocol string `json:"protocol"`
	// SourcePrefixes are the source address prefixes (single and plural
	// fields merged): CIDRs, service tags (Internet, VirtualNetwork, ...)
	// or *.
	SourcePrefixes []string `json:"source_prefixes"`
	// DestinationPorts are the destination port ranges as written ("22",
	// "3389", "1000-2000", "*"); Ports are the same parsed.
	DestinationPorts []string    `json:"destination_ports"`
	Ports            []PortRange `json:"ports"`
	// FromInternet is true when a source is the whole Internet: *, Any,
	// Internet, 0.0.0.0/0 or ::/0.
	FromInternet bool `json:"from_internet"`
}

// PortRange is an inclusive port range; * is 0-65535.
type PortRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// SQLServer is an Azure SQL logical server.
type SQLServer struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	ResourceGroup       string `json:"resource_group"`
	Location            string `json:"location"`
	PublicNetworkAccess string `json:"public_network_access"`
	MinimalTLSVersion   string `json:"minimal_tls_version"`
	// FirewallRules are the server's IP firewall rules.
	FirewallRules []SQLFirewallRule `json:"firewall_rules"`
	// AuditingEnabled is the server blob auditing policy's state.
	AuditingEnabled bool `json:"auditing_enabled"`
	// AuditingRetentionDays is how long audit logs are kept in the storage
	// account; 0 means forever (Azure's convention).
	AuditingRetentionDays int64             `json:"auditing_retention_days"`
	Tags                  map[string]string `json:"tags"`
}

// SQLFirewallRule is one server firewall rule.
type SQLFirewallRule struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	StartIP string `json:"start_ip"`
	EndIP   string `json:"end_ip"`
	// AllowsAll is true for 0.0.0.0-255.255.255.255 (the whole Internet).
	AllowsAll bool `json:"allows_all"`
	// AllowsAzureServices is true for the 0.0.0.0-0.0.0.0 rule ("Allow
	// Azure services and resources to access this server").
	AllowsAzureServices bool `json:"allows_azure_services"`
}

// SQLDatabase is a database of an Azure SQL server.
type SQLDatabase struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Server        string `json:"server"`
	ResourceGroup string `json:"resource_group"`
	Location      string `json:"location"`
	// TDEEnabled is Transparent Data Encryption's state.
	TDEEnabled bool              `json:"tde_enabled"`
	Tags       map[string]string `json:"tags"`
}

// KeyVault is a Key Vault.
type KeyVault struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	ResourceGroup string `json:"resource_group"`
	Location      string `json:"location"`
	// SoftDeleteEnabled is enableSoftDelete. The API's null means enabled
	// (soft delete can no longer be turned off), so fetchers report true
	// for it. SoftDeleteRetentionDays is the effective retention: azfetch
	// reports 90 when the API leaves it unset; a 0 in a document also
	// means 90.
	SoftDeleteEnabled       bool  `json:"soft_delete_enabled"`
	SoftDeleteRetentionDays int64 `json:"soft_delete_retention_days"`
	PurgeProtectionEnabled  bool  `json:"purge_protection_enabled"`
	// PublicNetworkAccess is Enabled or Disabled ("" when unset).
	PublicNetworkAccess  string            `json:"public_network_access"`
	NetworkDefaultAction string            `json:"network_default_action"`
	EnableRBAC           bool              `json:"enable_rbac_authorization"`
	Tags                 map[string]string `json:"tags"`
}

// Subscription holds subscription-level settings.
type Subscription struct {
	// ID is /subscriptions/<id>.
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	// DiagnosticSettings are the Activity Log exports.
	DiagnosticSettings []DiagnosticSetting `json:"diagnostic_settings"`
}

// DiagnosticSetting is one Activity Log diagnostic setting.
type DiagnosticSetting struct {
	Name string `json:"name"`
	// Categories are the enabled log categories (Administrative, Security,
	// ServiceHealth, Alert, Recommendation, Policy, Autoscale,
	// ResourceHealth).
	Categories []string `json:"categories"`
	// CategoryGroups are the enabled category groups as written (allLogs,
	// audit); their categories are already in Categories.
	CategoryGroups []string `json:"category_groups"`
	// Destinations say where the logs go: a Log Analytics workspace id,
	// a storage account id, an Event Hub authorization rule id.
	WorkspaceID      string `json:"workspace_id"`
	StorageAccountID string `json:"storage_account_id"`
	EventHubRuleID   string `json:"event_hub_rule_id"`
}

// CanonicalID is the key driftwatch stores an Azure resource under: its
// ARM id, lower-cased (ARM ids are case-insensitive and events and APIs
// disagree on case), without a trailing slash.
func CanonicalID(armID string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(armID)), "/")
}

// SubscriptionID returns the canonical id of a subscription's settings.
func SubscriptionID(subscription string) string {
	return "/subscriptions/" + strings.ToLower(subscription)
}

// PortalURL links to the resource in the Azure portal ("" when the id is
// not an ARM id).
func PortalURL(ref change.ResourceRef) string {
	if !strings.HasPrefix(ref.ID, "/subscriptions/") {
		return ""
	}
	return "https://portal.azure.com/#resource" + ref.ID
}
