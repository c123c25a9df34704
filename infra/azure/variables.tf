variable "subscription_id" {
  description = "The Azure subscription to watch and deploy to: its Activity Log events reach the function through the Event Grid system topic (eventgrid.tf), and the function's custom role is assigned on it (role.tf)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.subscription_id))
    error_message = "subscription_id must be a lower-case subscription GUID."
  }
}

variable "location" {
  description = "Azure region of the function, its storage, Key Vault and the remediation topic (the subscription's system topic is global)."
  type        = string
  default     = "westeurope"
}

variable "name_prefix" {
  description = "Prefix of every resource name. Storage account, Key Vault, function app and topic names are global: the first 8 hex digits of the subscription id are appended to them."
  type        = string
  default     = "driftwatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,13}[a-z0-9]$", var.name_prefix)) && !strcontains(var.name_prefix, "--")
    error_message = "name_prefix must be 2-15 characters of lower-case letters, digits and single hyphens, starting with a letter (Key Vault names are limited to 24 characters, storage account names to 24 letters and digits)."
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
  description = "Business names and metadata of the watched subscriptions, keyed by lower-case subscription id; shown in alerts and available to rules' `when` (becomes DRIFTWATCH_ACCOUNTS)."
  type = map(object({
    name        = string
    environment = optional(string)
    labels      = optional(map(string))
  }))
  default = {}

  validation {
    condition     = alltrue([for id in keys(var.accounts) : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id))])
    error_message = "accounts must be keyed by lower-case subscription GUIDs."
  }
}

variable "disabled_rules" {
  description = "Rule ids to leave out of evaluation (becomes DRIFTWATCH_DISABLED_RULES; an unknown id fails the function's start)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "Level of the function's JSON logs."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error."
  }
}

variable "artifacts_dir" {
  description = "Directory holding the package `make package-azure` builds: <artifacts_dir>/azure-function/amd64/function.zip, with the custom handler binary `handler`, host.json, one folder per function (function.json) and governance.yaml at its root. Relative paths are relative to the directory terraform runs in."
  type        = string
  default     = "../../bin"
}

variable "aws_region" {
  description = "Region of the DynamoDB posture table (infra/aws `region`)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region name such as us-east-1."
  }
}

variable "aws_table_name" {
  description = "Name of the DynamoDB posture table (infra/aws output table_name)."
  type        = string
  default     = "driftwatch-posture"
}

variable "aws_role_arn" {
  description = "The AWS role the function assumes with its managed identity's token (AssumeRoleWithWebIdentity) to read and write the posture table: infra/aws output azure_function_role_arn. The role trusts this deployment's tenant, token audience and identity once infra/aws is applied with azure_function set (README, step 4)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.aws_role_arn))
    error_message = "aws_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "aws_outbound_issuer" {
  description = "The AWS account's outbound identity federation issuer URL (`aws iam get-outbound-web-identity-federation-info`, after `aws iam enable-outbound-web-identity-federation`): the issuer of the tokens the AWS interactivity function presents to Entra to publish remediation requests."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+(/.*)?$", var.aws_outbound_issuer))
    error_message = "aws_outbound_issuer must be an https URL."
  }
}

variable "aws_interactivity_role_arn" {
  description = "The role of the AWS Slack interactivity function (infra/aws output interactivity_role_arn): the subject of the AWS tokens Entra accepts for publishing remediation requests to the topic."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.aws_interactivity_role_arn))
    error_message = "aws_interactivity_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's logs (Log Analytics workspace behind Application Insights)."
  type        = number
  default     = 90

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}

variable "tags" {
  description = "Tags added to every Azure resource."
  type        = map(string)
  default     = {}
}
