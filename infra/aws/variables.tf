variable "region" {
  description = "Region to deploy to. IAM is a global service whose CloudTrail events are delivered in us-east-1 only: deploy there (too) to see IAM drift."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, roles, table, queues, secrets)."
  type        = string
  default     = "driftwatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,27}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-29 characters of lower-case letters, digits and hyphens, starting with a letter (it prefixes IAM role names, limited to 64 characters)."
  }
}

variable "bus_name" {
  description = "Name of the custom EventBridge bus remediation requests travel on (interactivity and detector publish, the remediator consumes)."
  type        = string
  default     = "driftwatch"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,256}$", var.bus_name)) && var.bus_name != "default"
    error_message = "bus_name must be a custom bus name (letters, digits, '.', '_', '-'), not \"default\"."
  }
}

variable "slack_channel" {
  description = "Id of the Slack channel alerts go to (C... or G...; channel details > About in Slack). Invite the bot to it."
  type        = string

  validation {
    condition     = can(regex("^[CG][A-Z0-9]{6,}$", var.slack_channel))
    error_message = "slack_channel must be a Slack channel id such as C0123456789, not a channel name."
  }
}

variable "accounts" {
  description = "Business names and metadata of the watched accounts, keyed by 12-digit account id; shown in alerts and available to rules' `when` (becomes DRIFTWATCH_ACCOUNTS). Lambda limits all environment variables of a function to 4 KB together."
  type = map(object({
    name        = string
    environment = optional(string)
    labels      = optional(map(string))
  }))
  default = {}

  validation {
    condition     = alltrue([for id in keys(var.accounts) : can(regex("^[0-9]{12}$", id))])
    error_message = "accounts must be keyed by 12-digit AWS account ids."
  }
}

variable "disabled_rules" {
  description = "Rule ids to leave out of evaluation (becomes DRIFTWATCH_DISABLED_RULES; an unknown id fails the functions' start)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "Level of the functions' JSON logs."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error."
  }
}

variable "artifacts_dir" {
  description = "Directory holding the function packages `make package` builds: <artifacts_dir>/aws-<function>/<arch>/function.zip, each with bootstrap and governance.yaml. Relative paths are relative to the directory terraform runs in."
  type        = string
  default     = "../../bin"
}

variable "architecture" {
  description = "Instruction set of the functions; must match the packages built (arm64 is cheaper per GB-second)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "detector_reserved_concurrency" {
  description = "Reserved concurrency of the detector, bounding the load an event storm puts on the table and on Slack's rate limits; -1 leaves it unreserved (new accounts with a low concurrency quota cannot reserve any)."
  type        = number
  default     = -1

  validation {
    condition     = var.detector_reserved_concurrency == -1 || var.detector_reserved_concurrency >= 1
    error_message = "detector_reserved_concurrency must be -1 (unreserved) or at least 1 (0 would stop the detector)."
  }
}

variable "table_deletion_protection" {
  description = "Protect the posture table (findings, remediations, exceptions, the audit log) from deletion, including by terraform destroy."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups."
  type        = number
  default     = 90
}

variable "secret_recovery_window_days" {
  description = "Days a deleted Slack secret can be restored (0 deletes at once; 7-30 otherwise)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "azure_function" {
  description = "The Azure function (infra/azure) that may assume the role azure_function_role_arn with its managed identity's token: tenant_id, audience (aws_token_audience) and principal_id (identity_principal_id), all infra/azure outputs. null (the default) creates no Azure trust at all."
  type = object({
    tenant_id    = string
    audience     = string
    principal_id = string
  })
  default = null

  validation {
    # can() and try(): a null object has no attributes to read.
    condition = var.azure_function == null || (
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.azure_function.tenant_id)) &&
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.azure_function.principal_id)) &&
      try(length(var.azure_function.audience) > 0, false)
    )
    error_message = "azure_function needs the tenant GUID, the token audience and the managed identity's principal GUID (infra/azure outputs tenant_id, aws_token_audience, identity_principal_id)."
  }
}

variable "azure_remediation" {
  description = "The Azure remediation topic (infra/azure) the Slack interactivity function publishes approved Azure fixes to, as the Entra application federated with its role: topic_endpoint (infra/azure output remediation_topic_endpoint), tenant_id (tenant_id) and publisher_client_id (remediation_publisher_client_id). Gives the role sts:GetWebIdentityToken for Entra's token exchange only; needs outbound identity federation enabled on the account (aws iam enable-outbound-web-identity-federation). null (the default): approving a fix of an Azure finding fails with a clear error."
  type = object({
    topic_endpoint      = string
    tenant_id           = string
    publisher_client_id = string
  })
  default = null

  validation {
    # can() and try(): a null object has no attributes to read.
    condition = var.azure_remediation == null || (
      can(regex("^https://[^/?#@]+/api/events$", var.azure_remediation.topic_endpoint)) &&
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.azure_remediation.tenant_id)) &&
      can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.azure_remediation.publisher_client_id))
    )
    error_message = "azure_remediation needs the topic endpoint (https://<topic>.<region>-1.eventgrid.azure.net/api/events), the tenant GUID and the publisher application's client id GUID (infra/azure outputs remediation_topic_endpoint, tenant_id, remediation_publisher_client_id)."
  }
}

variable "gcp_remediation" {
  description = "The GCP remediation topic (infra/gcp) the Slack interactivity function publishes approved GCP fixes to, as the publisher service account its role impersonates through workload identity federation: topic (infra/gcp output remediation_topic), wif_audience (wif_audience) and publisher_service_account (remediation_publisher_email). Needs no AWS permission: the federation signs an sts:GetCallerIdentity request with the role's own credentials. null (the default): approving a fix of a GCP finding fails with a clear error."
  type = object({
    topic                     = string
    wif_audience              = string
    publisher_service_account = string
  })
  default = null

  validation {
    condition = var.gcp_remediation == null || (
      can(regex("^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", var.gcp_remediation.topic)) &&
      can(regex("^//iam\\.googleapis\\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$", var.gcp_remediation.wif_audience)) &&
      can(regex("^[^@\\s]+@[a-z][a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", var.gcp_remediation.publisher_service_account))
    )
    error_message = "gcp_remediation needs the topic (projects/<project>/topics/<topic>), the workload identity provider audience (//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>) and the publisher service account email (infra/gcp outputs remediation_topic, wif_audience, remediation_publisher_email)."
  }
}
