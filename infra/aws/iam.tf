# One role per function, each with one inline policy and nothing else (no
# managed policies, whose contents change outside this repository).
#
# The cloud actions (Resource "*": the read and remediation APIs act on
# whatever resource an event names) are generated from the code into
# policies/<function>.json by `go test ./shared/infratest -update`:
#   detector      = awsfetch.Permissions() (read-only)
#   remediator    = awsfetch.Permissions() + awsremedy.Permissions()
#   interactivity = none
# The test fails when a file and the code diverge, and checks every other
# statement here (table, bus, secrets, logs, dead-letter queue, the
# interactivity function's Azure token).

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# --- detector: read-only on the cloud ---------------------------------------

resource "aws_iam_role" "detector" {
  name               = "${var.name_prefix}-detector"
  description        = "driftwatch detector: reads the resource an event names, writes posture, alerts Slack"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "detector" {
  name   = "driftwatch-detector"
  role   = aws_iam_role.detector.id
  policy = data.aws_iam_policy_document.detector.json
}

data "aws_iam_policy_document" "detector" {
  statement {
    sid       = "ReadCloudConfiguration"
    actions   = jsondecode(file("${path.module}/policies/detector.json"))
    resources = ["*"]
  }

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

  statement {
    sid       = "PublishRemediationRequests"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.driftwatch.arn]
  }

  statement {
    sid       = "SlackBotToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_bot_token.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.detector.arn}:*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.detector_dlq.arn]
  }
}

# --- remediator: the same reads plus exactly the declared fixes -------------

resource "aws_iam_role" "remediator" {
  name               = "${var.name_prefix}-remediator"
  description        = "driftwatch remediator: applies and undoes approved fixes, re-evaluates, updates Slack"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "remediator" {
  name   = "driftwatch-remediator"
  role   = aws_iam_role.remediator.id
  policy = data.aws_iam_policy_document.remediator.json
}

data "aws_iam_policy_document" "remediator" {
  statement {
    sid       = "ReadAndRemediateCloudConfiguration"
    actions   = jsondecode(file("${path.module}/policies/remediator.json"))
    resources = ["*"]
  }

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

  # Its re-evaluation is the detector's pipeline, which publishes a request
  # when governance puts a new finding in auto mode.
  statement {
    sid       = "PublishRemediationRequests"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.driftwatch.arn]
  }

  statement {
    sid       = "SlackBotToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_bot_token.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.remediator.arn}:*"]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.remediator_dlq.arn]
  }
}

# --- interactivity: no cloud actions at all ---------------------------------
# It verifies Slack, records clicks and approvals in the table and publishes
# requests; only the remediators (this one, and the Azure function for
# Azure resources) touch cloud resources.

resource "aws_iam_role" "interactivity" {
  name               = "${var.name_prefix}-interactivity"
  description        = "driftwatch Slack interactivity: records approvals and publishes remediation requests; no cloud access"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy" "interactivity" {
  name   = "driftwatch-interactivity"
  role   = aws_iam_role.interactivity.id
  policy = data.aws_iam_policy_document.interactivity.json
}

locals {
  # Empty today; a statement with no actions is invalid, hence the dynamic
  # block below.
  interactivity_cloud_actions = jsondecode(file("${path.module}/policies/interactivity.json"))
}

data "aws_iam_policy_document" "interactivity" {
  dynamic "statement" {
    for_each = length(local.interactivity_cloud_actions) > 0 ? [local.interactivity_cloud_actions] : []

    content {
      sid       = "CloudConfiguration"
      actions   = statement.value
      resources = ["*"]
    }
  }

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

  statement {
    sid       = "PublishRemediationRequests"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.driftwatch.arn]
  }

  statement {
    sid       = "SlackSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_bot_token.arn, aws_secretsmanager_secret.slack_signing_secret.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.interactivity.arn}:*"]
  }

  # Approved Azure fixes (azure_remediation set): an AWS-signed token that
  # Entra exchanges for the remediation_publisher application's token
  # (shared/entrafed), and no other token: only for Entra's token exchange
  # audience, RS256, at most 5 minutes. The action has no resource type.
  dynamic "statement" {
    for_each = var.azure_remediation == null ? [] : [var.azure_remediation]

    content {
      sid       = "AzureRemediationToken"
      actions   = ["sts:GetWebIdentityToken"]
      resources = ["*"]

      # Multivalued: every audience asked for must be Entra's; and one must
      # be asked for (ForAllValues alone holds for none).
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "sts:IdentityTokenAudience"
        values   = ["api://AzureADTokenExchange"]
      }

      condition {
        test     = "Null"
        variable = "sts:IdentityTokenAudience"
        values   = ["false"]
      }

      condition {
        test     = "StringEquals"
        variable = "sts:SigningAlgorithm"
        values   = ["RS256"]
      }

      condition {
        test     = "NumericLessThanEquals"
        variable = "sts:DurationSeconds"
        values   = ["300"]
      }
    }
  }
}
