variable "project_id" {
  description = "The project driftwatch runs in: the Cloud Run service, its service accounts, the Pub/Sub topics, the Slack secret and the workload identity pool live here. Watched as well unless watched_projects or organization_id say otherwise."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 lower-case letters, digits and hyphens), not a project number or name."
  }
}

variable "region" {
  description = "Region of the Cloud Run service (Pub/Sub topics and the secret are global)."
  type        = string
  default     = "europe-west1"
}

variable "name_prefix" {
  description = "Prefix of every resource name. Service account ids are limited to 30 characters and the longest suffix is \"-remediation-pub\" (16): keep it short."
  type        = string
  default     = "driftwatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,12}[a-z0-9]$", var.name_prefix)) && !strcontains(var.name_prefix, "--")
    error_message = "name_prefix must be 4-14 characters of lower-case letters, digits and single hyphens, starting with a letter (service account ids are limited to 30 characters)."
  }
}

variable "image" {
  description = "The function's container image (`make package-gcp` builds it from functions/gcp; push it to Artifact Registry), by digest preferably: REGION-docker.pkg.dev/PROJECT/REPO/driftwatch-gcp@sha256:... Its entrypoint is the function binary, and governance.yaml is at /etc/driftwatch/governance.yaml."
  type        = string

  validation {
    condition     = length(var.image) > 0 && !strcontains(var.image, " ")
    error_message = "image must be a container image reference."
  }
}

variable "organization_id" {
  description = "Numeric organization id. When set, the Log Router sink is the organization's (include_children says whether its folders and projects are included) and the read role is a custom role of the organization, granted on it: every project of the organization is watched. null (the default): the projects of watched_projects are watched, each with its own sink and custom roles."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^[0-9]{1,20}$", var.organization_id))
    error_message = "organization_id must be the organization's numeric id (gcloud organizations list)."
  }
}

variable "include_children" {
  description = "With organization_id: the organization sink also routes the Admin Activity entries of every folder and project under it (true), or of the organization resource itself only (false)."
  type        = bool
  default     = true
}

variable "watched_projects" {
  description = "Without organization_id: the projects whose Admin Activity audit logs reach the function (one project-level sink each) and where its read role is granted. Empty (the default) means project_id alone."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.watched_projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))])
    error_message = "watched_projects must be project ids."
  }
}

variable "remediation_projects" {
  description = "The projects approved (and automatic) fixes may change: the remediation role is granted on each, and the function refuses requests for any other (becomes DRIFTWATCH_GCP_PROJECTS). Empty (the default): no remediation role anywhere; alerts still offer the fixes governance allows, which then fail with a permission error."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.remediation_projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", p))])
    error_message = "remediation_projects must be project ids."
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
  description = "Business names and metadata of the watched projects, keyed by project id; shown in alerts and available to rules' `when` (becomes DRIFTWATCH_ACCOUNTS)."
  type = map(object({
    name        = string
    environment = optional(string)
    labels      = optional(map(string))
  }))
  default = {}

  validation {
    condition     = alltrue([for id in keys(var.accounts) : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", id))])
    error_message = "accounts must be keyed by project ids."
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

variable "max_instances" {
  description = "Most Cloud Run instances at once. Each handles up to `concurrency` deliveries; Pub/Sub backs off when the service answers 429/5xx."
  type        = number
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100
    error_message = "max_instances must be between 1 and 100."
  }
}

variable "concurrency" {
  description = "Deliveries one instance handles at once (each is one resource read, one table round trip and at most one Slack call: I/O, not CPU)."
  type        = number
  default     = 16

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
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
  description = "The AWS role the function assumes with its service account's Google-signed ID token (AssumeRoleWithWebIdentity) to read and write the posture table: infra/aws output gcp_function_role_arn. The role trusts this deployment's service account and token audience once infra/aws is applied with gcp_function set (README, step 4)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.aws_role_arn))
    error_message = "aws_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "aws_token_audience" {
  description = "The audience of the ID tokens the function exchanges for AWS credentials (becomes DRIFTWATCH_AWS_TOKEN_AUDIENCE; the AWS role's trust pins it as accounts.google.com:oaud)."
  type        = string
  default     = "sts.amazonaws.com"

  validation {
    condition     = length(var.aws_token_audience) > 0 && !strcontains(var.aws_token_audience, ",")
    error_message = "aws_token_audience must be one non-empty audience."
  }
}

variable "aws_account_id" {
  description = "The AWS account of the Slack interactivity function: the only account the workload identity pool's AWS provider accepts (infra/aws output account_id)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be a 12-digit AWS account id."
  }
}

variable "aws_interactivity_role_name" {
  description = "The name (not the ARN) of the Slack interactivity function's role (infra/aws output interactivity_role_name): only its sessions (arn:aws:sts::<account>:assumed-role/<name>/...) may publish remediation requests."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.aws_interactivity_role_name))
    error_message = "aws_interactivity_role_name must be an IAM role name, without path or ARN."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels (provider default_labels)."
  type        = map(string)
  default     = {}
}
