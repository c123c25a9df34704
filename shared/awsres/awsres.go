// Package awsres defines the typed configuration documents of the AWS
// resources driftwatch evaluates, their canonical identifiers and console
// links. It has no dependency on the AWS SDK: fetchers fill the documents,
// rules read them (CEL field names are the json tags).
package awsres

import (
	"reflect"
	"time"
)

// Resource type names. They follow CloudFormation's names where one exists.
const (
	TypeS3Bucket      = "AWS::S3::Bucket"
	TypeSecurityGroup = "AWS::EC2::SecurityGroup"
	TypeTrail         = "AWS::CloudTrail::Trail"
	TypeKMSKey        = "AWS::KMS::Key"
	TypeIAMUser       = "AWS::IAM::User"
	TypeIAMRole       = "AWS::IAM::Role"
	TypeIAMGroup      = "AWS::IAM::Group"
	TypeIAMPolicy     = "AWS::IAM::Policy"
	TypeDBInstance    = "AWS::RDS::DBInstance"
	// TypeAccount holds account-wide settings (S3 account Block Public
	// Access, IAM password policy, root credentials, the account's trails).
	TypeAccount = "AWS::::Account"
	// TypeAccountRegion holds per-Region account settings (EBS encryption by
	// default).
	TypeAccountRegion = "AWS::::AccountRegion"
)

// Types maps every resource type to the Go type of its document, for the
// rules engine to type-check expressions against.
func Types() map[string]reflect.Type {
	return map[string]reflect.Type{
		TypeS3Bucket:      reflect.TypeFor[S3Bucket](),
		TypeSecurityGroup: reflect.TypeFor[SecurityGroup](),
		TypeTrail:         reflect.TypeFor[Trail](),
		TypeKMSKey:        reflect.TypeFor[KMSKey](),
		TypeIAMUser:       reflect.TypeFor[IAMUser](),
		TypeIAMRole:       reflect.TypeFor[IAMRole](),
		TypeIAMGroup:      reflect.TypeFor[IAMGroup](),
		TypeIAMPolicy:     reflect.TypeFor[IAMPolicy](),
		TypeDBInstance:    reflect.TypeFor[DBInstance](),
		TypeAccount:       reflect.TypeFor[Account](),
		TypeAccountRegion: reflect.TypeFor[AccountRegion](),
	}
}

// S3Bucket is the posture-relevant configuration of one S3 bucket.
type S3Bucket struct {
	Name   string `json:"name"`
	ARN    string `json:"arn"`
	Region string `json:"region"`
	// PublicAccessBlock is the bucket-level Block Public Access setting.
	PublicAccessBlock PublicAccessBlock `json:"public_access_block"`
	// AccountPublicAccessBlock is the account-level setting, which applies to
	// every bucket in addition to the bucket's own.
	AccountPublicAccessBlock PublicAccessBlock `json:"account_public_access_block"`
	// ObjectOwnership is BucketOwnerEnforced (ACLs disabled),
	// BucketOwnerPreferred, ObjectWriter, or empty when not configured.
	ObjectOwnership string   `json:"object_ownership"`
	ACLGrants       []Grant  `json:"acl_grants"`
	Policy          Policy   `json:"policy"`
	Encryption      S3Crypto `json:"encryption"`
	// VersioningStatus is Enabled, Suspended or empty (never enabled).
	VersioningStatus string `json:"versioning_status"`
	// MFADelete is Enabled, Disabled or empty.
	MFADelete string            `json:"mfa_delete"`
	Logging   S3Logging         `json:"logging"`
	Tags      map[string]string `json:"tags"`
}

// PublicAccessBlock is an S3 Block Public Access configuration.
type PublicAccessBlock struct {
	// Configured is false when no configuration exists (every flag false).
	Configured            bool `json:"configured"`
	BlockPublicAcls       bool `json:"block_public_acls"`
	IgnorePublicAcls      bool `json:"ignore_public_acls"`
	BlockPublicPolicy     bool `json:"block_public_policy"`
	RestrictPublicBuckets bool `json:"restrict_public_buckets"`
}

// Grant is one ACL grant.
type Grant struct {
	// GranteeType is CanonicalUser, Group or AmazonCustomerByEmail.
	GranteeType string `json:"grantee_type"`
	// Grantee is the canonical user id, the group URI or the email.
	Grantee    string `json:"grantee"`
	Permission string `json:"permission"`
	// Public is true for the AllUsers and AuthenticatedUsers groups.
	Public bool `json:"public"`
}

// Group URIs that make an ACL grant public.
const (
	AllUsersURI           = "http://acs.amazonaws.com/groups/global/AllUsers"
	AuthenticatedUsersURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
)

// S3Crypto is a bucket's default encryption.
type S3Crypto struct {
	Enabled bool `json:"enabled"`
	// Algorithm is AES256, aws:kms or aws:kms:dsse.
	Algorithm        string `json:"algorithm"`
	KMSKeyID         string `json:"kms_key_id"`
	BucketKeyEnabled bool   `json:"bucket_key_enabled"`
}

// S3Logging is a bucket's server access logging.
type S3Logging struct {
	Enabled      bool   `json:"enabled"`
	TargetBucket string `json:"target_bucket"`
	TargetPrefix string `json:"target_prefix"`
}

// SecurityGroup is an EC2 security group with its rules flattened to one
// entry per source (CIDR, IPv6 CIDR, prefix list or referenced group).
type SecurityGroup struct {
	ID          string `json:"id"`
	ARN         string `json:"arn"`
	Name        string `json:"name"`
	Description string `json:"description"`
	VPCID       string `json:"vpc_id"`
	// IsDefault is true for a VPC's default security group.
	IsDefault bool              `json:"is_default"`
	Ingress   []SGRule          `json:"ingress"`
	Egress    []SGRule          `json:"egress"`
	Tags      map[string]string `json:"tags"`
}

// SGRule is one security group rule for one source or destination.
type SGRule struct {
	// RuleID is the sgr- id when the API reports it.
	RuleID string `json:"rule_id"`
	// Protocol is "-1" (all), "tcp", "udp", "icmp", "icmpv6" or a number.
	Protocol string `json:"protocol"`
	// FromPort and ToPort are -1 when the protocol has no ports or all.
	FromPort int64  `json:"from_port"`
	ToPort   int64  `json:"to_port"`
	CIDR     string `json:"cidr"`
	// IPv6 is true when CIDR is an IPv6 range.
	IPv6            bool   `json:"ipv6"`
	PrefixListID    string `json:"prefix_list_id"`
	ReferencedGroup string `json:"referenced_group"`
	Description     string `json:"description"`
	// Public is true when the source is the whole Internet (a /0 range).
	Public bool `json:"public"`
}

// Trail is a CloudTrail trail.
type Trail struct {
	Name              string `json:"name"`
	ARN               string `json:"arn"`
	HomeRegion        string `json:"home_region"`
	IsMultiRegion     bool   `json:"is_multi_region"`
	IsOrganization    bool   `json:"is_organization"`
	IsLogging         bool   `json:"is_logging"`
	LogFileValidation bool   `json:"log_file_validation"`
	KMSKeyID          string `json:"kms_key_id"`
	S3Bucket          string `json:"s3_bucket"`
	// ManagementEvents is All, ReadOnly, WriteOnly or None: which management
	// events the trail's event selectors record.
	ManagementEvents string            `json:"management_events"`
	Tags             map[string]string `json:"tags"`
}

// TrailSummary is a trail as seen from the account.
type TrailSummary struct {
	Name             string `json:"name"`
	ARN              string `json:"arn"`
	HomeRegion       string `json:"home_region"`
	IsMultiRegion    bool   `json:"is_multi_region"`
	IsLogging        bool   `json:"is_logging"`
	ManagementEvents string `json:"management_events"`
}

// KMSKey is a KMS key.
type KMSKey struct {
	ID          string `json:"id"`
	ARN         string `json:"arn"`
	Description string `json:"description"`
	// Manager is CUSTOMER or AWS.
	Manager string `json:"manager"`
	// Spec is SYMMETRIC_DEFAULT, RSA_2048, ...
	Spec  string `json:"spec"`
	Usage string `json:"usage"`
	// State is Enabled, Disabled, PendingDeletion, ...
	State              string            `json:"state"`
	Origin             string            `json:"origin"`
	RotationEnabled    bool              `json:"rotation_enabled"`
	RotationPeriodDays int64             `json:"rotation_period_days"`
	DeletionDate       time.Time         `json:"deletion_date"`
	Tags               map[string]string `json:"tags"`
}

// IAMUser is an IAM user with its effective policies and access keys.
type IAMUser struct {
	Name    string    `json:"name"`
	ARN     string    `json:"arn"`
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	// Policies are the managed policies attached and the inline policies.
	Policies []AttachedPolicy `json:"policies"`
	Groups   []string         `json:"groups"`
	// ConsoleAccess is true when the user has a login profile (password).
	ConsoleAccess bool              `json:"console_access"`
	AccessKeys    []AccessKey       `json:"access_keys"`
	Tags          map[string]string `json:"tags"`
}

// IAMRole is an IAM role with its policies and trust policy.
type IAMRole struct {
	Name        string            `json:"name"`
	ARN         string            `json:"arn"`
	ID          string            `json:"id"`
	Path        string            `json:"path"`
	Policies    []AttachedPolicy  `json:"policies"`
	TrustPolicy Policy            `json:"trust_policy"`
	Tags        map[string]string `json:"tags"`
}

// IAMGroup is an IAM group with its policies.
type IAMGroup struct {
	Name     string           `json:"name"`
	ARN      string           `json:"arn"`
	ID       string           `json:"id"`
	Path     string           `json:"path"`
	Policies []AttachedPolicy `json:"policies"`
}

// IAMPolicy is a managed IAM policy with its default version and attachments.
type IAMPolicy struct {
	Name           string `json:"name"`
	ARN            string `json:"arn"`
	AWSManaged     bool   `json:"aws_managed"`
	DefaultVersion string `json:"default_version"`
	Document       Policy `json:"document"`
	// AttachmentCount is how many users, groups and roles it is attached to.
	AttachmentCount int64 `json:"attachment_count"`
}

// AttachedPolicy is one policy in effect on an IAM principal.
type AttachedPolicy struct {
	Name string `json:"name"`
	// ARN is empty for inline policies.
	ARN string `json:"arn"`
	// Kind is managed, aws_managed or inline.
	Kind     string `json:"kind"`
	Document Policy `json:"document"`
}

// AccessKey is an IAM access key.
type AccessKey struct {
	ID string `json:"id"`
	// Status is Active or Inactive.
	Status   string    `json:"status"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used"`
	// Used is false when the key was never used (LastUsed is then zero).
	Used bool `json:"used"`
}

// DBInstance is an RDS DB instance.
type DBInstance struct {
	ID                    string            `json:"id"`
	ARN                   string            `json:"arn"`
	Engine                string            `json:"engine"`
	Class                 string            `json:"class"`
	Status                string            `json:"status"`
	StorageEncrypted      bool              `json:"storage_encrypted"`
	KMSKeyID              string            `json:"kms_key_id"`
	PubliclyAccessible    bool              `json:"publicly_accessible"`
	BackupRetentionPeriod int64             `json:"backup_retention_period"`
	MultiAZ               bool              `json:"multi_az"`
	DeletionProtection    bool              `json:"deletion_protection"`
	ReadReplicaSource     string            `json:"read_replica_source"`
	ClusterID             string            `json:"cluster_id"`
	Tags                  map[string]string `json:"tags"`
}

// Account holds account-wide settings.
type Account struct {
	ID                string            `json:"id"`
	PublicAccessBlock PublicAccessBlock `json:"s3_public_access_block"`
	PasswordPolicy    PasswordPolicy    `json:"password_policy"`
	// RootAccessKeysPresent is true when the root user has access keys.
	RootAccessKeysPresent bool `json:"root_access_keys_present"`
	RootMFAEnabled        bool `json:"root_mfa_enabled"`
	// Trails are all trails visible in the account, including multi-Region
	// trails whose home is another Region.
	Trails []TrailSummary `json:"trails"`
}

// PasswordPolicy is the IAM account password policy.
type PasswordPolicy struct {
	// Configured is false when the account has no password policy.
	Configured                 bool  `json:"configured"`
	MinimumLength              int64 `json:"minimum_length"`
	RequireSymbols             bool  `json:"require_symbols"`
	RequireNumbers             bool  `json:"require_numbers"`
	RequireUppercase           bool  `json:"require_uppercase"`
	RequireLowercase           bool  `json:"require_lowercase"`
	MaxAgeDays                 int64 `json:"max_age_days"`
	ReusePrevention            int64 `json:"reuse_prevention"`
	AllowUsersToChangePassword bool  `json:"allow_users_to_change_password"`
	HardExpiry                 bool  `json:"hard_expiry"`
}

// AccountRegion holds per-Region account settings.
type AccountRegion struct {
	Account                string `json:"account"`
	Region                 string `json:"region"`
	EBSEncryptionByDefault bool   `json:"ebs_encryption_by_default"`
}
