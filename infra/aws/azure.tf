# Optional: the role the Azure function (infra/azure) assumes to reach the
# posture table, with no AWS key anywhere. The function's user-assigned
# managed identity gets an Entra token (v1: issuer
# https://sts.windows.net/<tenant>/, audience the infra/azure application
# api://<client id>, subject the identity's principal id) and exchanges it
# with sts:AssumeRoleWithWebIdentity. Created only when azure_function is
# set (from infra/azure's outputs, README "Azure"); shared/infratest checks
# it both ways.

resource "aws_iam_openid_connect_provider" "azure" {
  count = var.azure_function == null ? 0 : 1

  # Entra's v1 issuer, trailing slash included: STS compares it with the
  # token's iss as a string.
  url            = "https://sts.windows.net/${var.azure_function.tenant_id}/"
  client_id_list = [var.azure_function.audience]
}

resource "aws_iam_role" "azure_function" {
  count = var.azure_function == null ? 0 : 1

  name               = local.azure_function_role_name
  description        = "driftwatch Azure function: reads and writes posture (web identity from its Azure managed identity)"
  assume_role_policy = data.aws_iam_policy_document.azure_function_assume[0].json
}

# Only this tenant's tokens, for this audience, of this one identity.
data "aws_iam_policy_document" "azure_function_assume" {
  count = var.azure_function == null ? 0 : 1

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.azure[0].arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts.windows.net/${var.azure_function.tenant_id}/:aud"
      values   = [var.azure_function.audience]
    }

    condition {
      test     = "StringEquals"
      variable = "sts.windows.net/${var.azure_function.tenant_id}/:sub"
      values   = [var.azure_function.principal_id]
    }
  }
}

resource "aws_iam_role_policy" "azure_function" {
  count = var.azure_function == null ? 0 : 1

  name   = "driftwatch-azure-function"
  role   = aws_iam_role.azure_function[0].id
  policy = data.aws_iam_policy_document.azure_function[0].json
}

# The posture table and nothing else: the Azure function reads Azure with
# its Azure identity, its Slack token comes from Key Vault and it publishes
# no AWS event.
data "aws_iam_policy_document" "azure_function" {
  count = var.azure_function == null ? 0 : 1

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

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
