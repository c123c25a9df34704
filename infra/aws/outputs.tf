output "interactivity_url" {
  description = "The Slack app's interactivity Request URL: paste it into slack-app-manifest.yaml (settings.interactivity.request_url) or the app's Interactivity & Shortcuts page."
  value       = aws_lambda_function_url.interactivity.function_url
}

output "interactivity_invoke_permission_command" {
  description = "Run once after the first apply: the second resource-policy statement a public Function URL needs, which provider 5.x cannot declare (lambda.tf)."
  value       = "aws lambda add-permission --region ${var.region} --function-name ${aws_lambda_function.interactivity.function_name} --statement-id FunctionURLAllowInvokeAction --action lambda:InvokeFunction --principal '*' --invoked-via-function-url"
}

output "table_name" {
  description = "The DynamoDB posture table."
  value       = aws_dynamodb_table.posture.name
}

output "bus_name" {
  description = "The EventBridge bus remediation requests travel on."
  value       = aws_cloudwatch_event_bus.driftwatch.name
}

output "slack_bot_token_secret_arn" {
  description = "Set the Slack bot token here (README, step 3)."
  value       = aws_secretsmanager_secret.slack_bot_token.arn
}

output "slack_signing_secret_arn" {
  description = "Set the Slack signing secret here (README, step 3)."
  value       = aws_secretsmanager_secret.slack_signing_secret.arn
}

output "dead_letter_queue_urls" {
  description = "Events and requests that failed after every retry."
  value = {
    detector   = aws_sqs_queue.detector_dlq.url
    remediator = aws_sqs_queue.remediator_dlq.url
  }
}

output "azure_function_role_arn" {
  description = "The role the Azure function assumes (infra/azure variable aws_role_arn). Known before it exists: it is created once azure_function is set."
  value       = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${local.azure_function_role_name}"
}

output "interactivity_role_arn" {
  description = "The Slack interactivity function's role (infra/azure variable aws_interactivity_role_arn): the subject Entra trusts to publish Azure remediation requests."
  value       = aws_iam_role.interactivity.arn
}
