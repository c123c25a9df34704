# The three functions. Each has its own role (iam.tf) and log group, and
# its environment names exactly the variables its configuration reads
# (shared/infratest checks them against the code).

# detector: CloudTrail event -> live read -> rules -> posture -> Slack alert.
# In auto mode it also publishes remediation requests on the bus.
resource "aws_lambda_function" "detector" {
  function_name = "${var.name_prefix}-detector"
  description   = "driftwatch: evaluates the resource a CloudTrail event changed and alerts Slack on drift"
  role          = aws_iam_role.detector.arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.packages.detector
  source_code_hash = filebase64sha256(local.packages.detector)

  memory_size                    = 256
  timeout                        = 30
  reserved_concurrent_executions = var.detector_reserved_concurrency

  environment {
    variables = {
      DRIFTWATCH_TABLE           = aws_dynamodb_table.posture.name
      DRIFTWATCH_BUS             = aws_cloudwatch_event_bus.driftwatch.name
      DRIFTWATCH_GOVERNANCE_FILE = local.governance_file
      DRIFTWATCH_ACCOUNTS        = jsonencode(var.accounts)
      DRIFTWATCH_DISABLED_RULES  = join(",", var.disabled_rules)
      DRIFTWATCH_LOG_LEVEL       = var.log_level
      SLACK_CHANNEL              = var.slack_channel
      SLACK_BOT_TOKEN_SECRET     = aws_secretsmanager_secret.slack_bot_token.arn
    }
  }

  depends_on = [aws_cloudwatch_log_group.detector, aws_iam_role_policy.detector]
}

# Events that still fail after two retries go to the dead-letter queue,
# never lost (EventBridge's own delivery failures go there too: eventbridge.tf).
resource "aws_lambda_function_event_invoke_config" "detector" {
  function_name                = aws_lambda_function.detector.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.detector_dlq.arn
    }
  }
}

# remediator: consumes approved remediation requests from the bus, re-reads
# and re-evaluates the resource, applies or undoes the fix, updates Slack.
resource "aws_lambda_function" "remediator" {
  function_name = "${var.name_prefix}-remediator"
  description   = "driftwatch: runs approved remediations and their undo, then re-evaluates"
  role          = aws_iam_role.remediator.arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.packages.remediator
  source_code_hash = filebase64sha256(local.packages.remediator)

  memory_size = 256
  timeout     = 60

  environment {
    variables = {
      DRIFTWATCH_TABLE           = aws_dynamodb_table.posture.name
      DRIFTWATCH_BUS             = aws_cloudwatch_event_bus.driftwatch.name
      DRIFTWATCH_GOVERNANCE_FILE = local.governance_file
      DRIFTWATCH_ACCOUNTS        = jsonencode(var.accounts)
      DRIFTWATCH_DISABLED_RULES  = join(",", var.disabled_rules)
      DRIFTWATCH_LOG_LEVEL       = var.log_level
      SLACK_CHANNEL              = var.slack_channel
      SLACK_BOT_TOKEN_SECRET     = aws_secretsmanager_secret.slack_bot_token.arn
    }
  }

  depends_on = [aws_cloudwatch_log_group.remediator, aws_iam_role_policy.remediator]
}

resource "aws_lambda_function_event_invoke_config" "remediator" {
  function_name                = aws_lambda_function.remediator.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.remediator_dlq.arn
    }
  }
}

# interactivity: Slack's button clicks and modal submissions, behind a
# public Function URL. Slack signs every request; the function verifies the
# signature before reading anything, so the URL needs no IAM auth.
resource "aws_lambda_function" "interactivity" {
  function_name = "${var.name_prefix}-interactivity"
  description   = "driftwatch: Slack interactivity (verifies, records approvals, publishes remediation requests)"
  role          = aws_iam_role.interactivity.arn

  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.packages.interactivity
  source_code_hash = filebase64sha256(local.packages.interactivity)

  memory_size = 256
  # Slack gives up on an interaction after 3 s; the work itself is
  # dispatched on the bus.
  timeout = 10

  environment {
    variables = {
      DRIFTWATCH_TABLE            = aws_dynamodb_table.posture.name
      DRIFTWATCH_BUS              = aws_cloudwatch_event_bus.driftwatch.name
      DRIFTWATCH_GOVERNANCE_FILE  = local.governance_file
      DRIFTWATCH_ACCOUNTS         = jsonencode(var.accounts)
      DRIFTWATCH_DISABLED_RULES   = join(",", var.disabled_rules)
      DRIFTWATCH_LOG_LEVEL        = var.log_level
      SLACK_CHANNEL               = var.slack_channel
      SLACK_BOT_TOKEN_SECRET      = aws_secretsmanager_secret.slack_bot_token.arn
      SLACK_SIGNING_SECRET_SECRET = aws_secretsmanager_secret.slack_signing_secret.arn
      # Approved Azure fixes go to the Azure remediation topic, published
      # as the Entra application federated with this function's role; empty
      # (unset for the function) without azure_remediation.
      DRIFTWATCH_AZURE_REMEDIATION_TOPIC   = var.azure_remediation == null ? "" : var.azure_remediation.topic_endpoint
      DRIFTWATCH_AZURE_TENANT_ID           = var.azure_remediation == null ? "" : var.azure_remediation.tenant_id
      DRIFTWATCH_AZURE_PUBLISHER_CLIENT_ID = var.azure_remediation == null ? "" : var.azure_remediation.publisher_client_id
      # Approved GCP fixes go to the GCP remediation topic, published as
      # the service account this function's role impersonates through
      # workload identity federation; empty without gcp_remediation.
      DRIFTWATCH_GCP_REMEDIATION_TOPIC         = var.gcp_remediation == null ? "" : var.gcp_remediation.topic
      DRIFTWATCH_GCP_WIF_AUDIENCE              = var.gcp_remediation == null ? "" : var.gcp_remediation.wif_audience
      DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT = var.gcp_remediation == null ? "" : var.gcp_remediation.publisher_service_account
    }
  }

  depends_on = [aws_cloudwatch_log_group.interactivity, aws_iam_role_policy.interactivity]
}

# A Function URL with authorization NONE still needs a resource policy that
# lets anyone call it through the URL. The provider adds that statement
# (FunctionURLAllowPublicAccess: lambda:InvokeFunctionUrl for "*" when the
# auth type is NONE) when it creates the URL; declaring it again here would
# conflict with it. URLs created since October 2025 also need
# lambda:InvokeFunction for "*" restricted to calls made through the URL
# (condition lambda:InvokedViaFunctionUrl), which provider 5.x cannot
# express: its aws_lambda_permission has no invoked_via_function_url (6.29
# adds it). Granting lambda:InvokeFunction to "*" without that condition
# would let any AWS account invoke the function directly, so the output
# interactivity_invoke_permission_command adds the conditional statement
# once instead (README, step 4).
resource "aws_lambda_function_url" "interactivity" {
  function_name      = aws_lambda_function.interactivity.function_name
  authorization_type = "NONE"
}

# Log groups are created here (not by Lambda on first use) so that they have
# a retention and the roles need no logs:CreateLogGroup.
resource "aws_cloudwatch_log_group" "detector" {
  name              = "/aws/lambda/${var.name_prefix}-detector"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "remediator" {
  name              = "/aws/lambda/${var.name_prefix}-remediator"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "interactivity" {
  name              = "/aws/lambda/${var.name_prefix}-interactivity"
  retention_in_days = var.log_retention_days
}
