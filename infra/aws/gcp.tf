# Optional: the role the GCP function (infra/gcp) assumes to reach the
# posture table, with no AWS key anywhere. The function's service account
# gets a Google-signed ID token from the metadata server (iss
# https://accounts.google.com, aud the audience infra/gcp sets, azp and sub
# the service account's unique numeric id) and exchanges it with
# sts:AssumeRoleWithWebIdentity (shared/awsfed/gcpid). Google is one of
# AWS's built-in web identity providers: no IAM OIDC provider is created.
# Created only when gcp_function is set (from infra/gcp's outputs, README
# "GCP"); shared/infratest checks it both ways.

variable "gcp_function" {
  description = "The GCP function (infra/gcp) that may assume the role gcp_function_role_arn with its service account's ID token: service_account_unique_id (infra/gcp output function_service_account_unique_id) and audience (aws_token_audience). null (the default) creates no GCP trust at all."
  type = object({
    service_account_unique_id = string
    audience                  = string
  })
  default = null

  validation {
    condition = var.gcp_function == null || (
      can(regex("^[0-9]{10,30}$", var.gcp_function.service_account_unique_id)) &&
      try(length(var.gcp_function.audience) > 0, false)
    )
    error_message = "gcp_function needs the service account's unique numeric id and the token audience (infra/gcp outputs function_service_account_unique_id, aws_token_audience)."
  }
}

locals {
  # Known before the role exists, so that infra/gcp can be applied first
  # (README, "GCP").
  gcp_function_role_name = "${var.name_prefix}-gcp-function"
}

resource "aws_iam_role" "gcp_function" {
  count = var.gcp_function == null ? 0 : 1

  name               = local.gcp_function_role_name
  description        = "driftwatch GCP function: reads and writes posture (web identity from its Google service account)"
  assume_role_policy = data.aws_iam_policy_document.gcp_function_assume[0].json
}

# Only Google's ID tokens of this one service account, for this audience.
# With an azp claim (as the metadata server's tokens have), AWS maps
# accounts.google.com:aud to azp and accounts.google.com:oaud to aud: pin
# all three. Without the sub (or aud) condition, any Google service account
# in any project that asks for a token for the audience could assume the
# role.
data "aws_iam_policy_document" "gcp_function_assume" {
  count = var.gcp_function == null ? 0 : 1

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = ["accounts.google.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "accounts.google.com:aud"
      values   = [var.gcp_function.service_account_unique_id]
    }

    condition {
      test     = "StringEquals"
      variable = "accounts.google.com:sub"
      values   = [var.gcp_function.service_account_unique_id]
    }

    condition {
      test     = "StringEquals"
      variable = "accounts.google.com:oaud"
      values   = [var.gcp_function.audience]
    }
  }
}

resource "aws_iam_role_policy" "gcp_function" {
  count = var.gcp_function == null ? 0 : 1

  name   = "driftwatch-gcp-function"
  role   = aws_iam_role.gcp_function[0].id
  policy = data.aws_iam_policy_document.gcp_function[0].json
}

# The posture table and nothing else: the GCP function reads Google Cloud
# with its service account, its Slack token comes from Secret Manager and
# it publishes no AWS event.
data "aws_iam_policy_document" "gcp_function" {
  count = var.gcp_function == null ? 0 : 1

  statement {
    sid       = "PostureTable"
    actions   = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.posture.arn]
  }

  statement {
    sid       = "OpenFindingsIndex"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.posture.arn}/index/gsi1"]
  }
}

output "gcp_function_role_arn" {
  description = "The role the GCP function assumes (infra/gcp variable aws_role_arn). Known before it exists: it is created once gcp_function is set."
  value       = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${local.gcp_function_role_name}"
}

# What infra/gcp's workload identity pool needs to trust the Slack
# interactivity function (variables aws_account_id and
# aws_interactivity_role_name): its sessions are
# arn:aws:sts::<account_id>:assumed-role/<role name>/<session>.
output "account_id" {
  description = "The AWS account (infra/gcp variable aws_account_id)."
  value       = data.aws_caller_identity.current.account_id
}

output "interactivity_role_name" {
  description = "The Slack interactivity function's role name (infra/gcp variable aws_interactivity_role_name)."
  value       = aws_iam_role.interactivity.name
}
