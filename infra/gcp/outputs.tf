output "service_name" {
  description = "The Cloud Run service (gcloud run services logs read ...)."
  value       = google_cloud_run_v2_service.function.name
}

output "service_url" {
  description = "The service's URL; only the push subscriptions can call it (internal ingress, run.invoker for the push service account only)."
  value       = google_cloud_run_v2_service.function.uri
}

output "audit_topic" {
  description = "The topic the Log Router sink(s) publish Admin Activity entries to."
  value       = google_pubsub_topic.audit.id
}

output "remediation_topic" {
  description = "The topic remediation requests travel on, projects/<project>/topics/<topic> (infra/aws variable gcp_remediation.topic: the interactivity function's DRIFTWATCH_GCP_REMEDIATION_TOPIC)."
  value       = google_pubsub_topic.remediation.id
}

output "dead_letter_subscription" {
  description = "Where deliveries that failed after every retry are kept, a week (gcloud pubsub subscriptions pull)."
  value       = google_pubsub_subscription.dead_letter.id
}

output "wif_audience" {
  description = "The workload identity pool provider the AWS interactivity function federates through (its DRIFTWATCH_GCP_WIF_AUDIENCE)."
  value       = "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.aws_interactivity.name}"
}

output "remediation_publisher_email" {
  description = "The service account the AWS interactivity function publishes as (its DRIFTWATCH_GCP_PUBLISHER_SERVICE_ACCOUNT)."
  value       = google_service_account.remediation_publisher.email
}

output "function_service_account_unique_id" {
  description = "Unique (numeric) id of the function's service account: the sub and azp of its ID tokens, which the AWS posture role trusts (infra/aws variable gcp_function.service_account_unique_id)."
  value       = google_service_account.function.unique_id
}

output "aws_token_audience" {
  description = "The audience of the ID tokens the function exchanges for AWS credentials (infra/aws variable gcp_function.audience)."
  value       = var.aws_token_audience
}

output "slack_bot_token_secret" {
  description = "The secret holding the Slack bot token: add a version with gcloud secrets versions add (README, step 2)."
  value       = google_secret_manager_secret.slack_bot_token.secret_id
}
