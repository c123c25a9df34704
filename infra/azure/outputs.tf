output "function_app_name" {
  description = "The Function App (az functionapp ...; its logs are in Application Insights)."
  value       = azurerm_linux_function_app.driftwatch.name
}

output "events_endpoint" {
  description = "The function's route Event Grid delivers Activity Log events to (Entra-authenticated)."
  value       = local.events_url
}

output "remediation_topic_endpoint" {
  description = "The Event Grid topic the AWS interactivity function publishes remediation requests to (shared/azbus; Entra only, no keys)."
  value       = azurerm_eventgrid_topic.remediation.endpoint
}

output "identity_principal_id" {
  description = "Object (principal) id of the function's managed identity: the `sub` of its tokens, which the AWS posture role trusts (infra/aws variable azure_function.principal_id)."
  value       = azurerm_user_assigned_identity.function.principal_id
}

output "tenant_id" {
  description = "The Entra tenant: the issuer of the function's tokens is https://sts.windows.net/<tenant_id>/ (infra/aws variable azure_function.tenant_id), and the tenant the AWS interactivity function gets its publishing token from."
  value       = data.azurerm_client_config.current.tenant_id
}

output "aws_token_audience" {
  description = "The audience of the tokens the function exchanges for AWS credentials (infra/aws variable azure_function.audience)."
  value       = azuread_application_identifier_uri.aws_federation.identifier_uri
}

output "remediation_publisher_client_id" {
  description = "Client id of the Entra application the AWS interactivity function publishes remediation requests as (federated with its AWS role)."
  value       = azuread_application.remediation_publisher.client_id
}

output "key_vault_name" {
  description = "The vault holding the Slack bot token: set it with az keyvault secret set (README, step 3)."
  value       = azurerm_key_vault.slack.name
}

output "dead_letter_container" {
  description = "Where events and requests that failed after every retry are kept, one blob each."
  value       = "${azurerm_storage_account.function.primary_blob_endpoint}${azurerm_storage_container.dead_letters.name}"
}
