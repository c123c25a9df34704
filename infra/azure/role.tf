# Every role assignment of the deployment, in one place.
#
# The function's rights on the watched subscription are one custom role
# whose actions are generated from the code into policies/function.json by
# `go test ./shared/infratest -run TestAzurePolicyFile -update`:
#   azfetch's declared reads + azremedy's declared remediation writes.
# Nothing else on the subscription: no built-in role, no wildcard. (The
# function may also publish to its own remediation topic, for automatic
# fixes: "EventGrid Data Sender" on that topic only, below.) The test fails
# when the file and the code diverge.

locals {
  function_actions = jsondecode(file("${path.module}/policies/function.json"))
}

resource "azurerm_role_definition" "function" {
  # Role names are unique in the tenant: the subscription tells two
  # deployments apart.
  name        = "${var.name_prefix}-function-${var.subscription_id}"
  scope       = data.azurerm_subscription.current.id
  description = "driftwatch function: reads the resources Activity Log events name and applies the approved fixes its actions declare (generated from the code: infra/azure/policies/function.json)."

  permissions {
    actions = local.function_actions
  }

  assignable_scopes = [data.azurerm_subscription.current.id]
}

resource "azurerm_role_assignment" "function" {
  scope              = data.azurerm_subscription.current.id
  role_definition_id = azurerm_role_definition.function.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.function.principal_id
  principal_type     = "ServicePrincipal"
  description        = "driftwatch function: generated least-privilege role"
}

# --- the function's own resources --------------------------------------------

# The Functions host keeps its keys and leases in blob containers it
# creates (AzureWebJobsStorage) and reads the package from the same account.
resource "azurerm_role_assignment" "function_storage" {
  scope                = azurerm_storage_account.function.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.function.principal_id
  principal_type       = "ServicePrincipal"
}

# The Slack bot token, and nothing else in the vault.
resource "azurerm_role_assignment" "function_slack_bot_token" {
  scope                = azurerm_key_vault_secret.slack_bot_token.resource_versionless_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.function.principal_id
  principal_type       = "ServicePrincipal"
}

# Telemetry with Entra auth (Application Insights' local auth is off).
resource "azurerm_role_assignment" "function_telemetry" {
  scope                = azurerm_application_insights.function.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_user_assigned_identity.function.principal_id
  principal_type       = "ServicePrincipal"
}

# --- Event Grid ------------------------------------------------------------

# Each topic dead-letters with its own system-assigned identity, into the
# dead-letter container only.
resource "azurerm_role_assignment" "subscription_topic_dead_letters" {
  scope                = azurerm_storage_container.dead_letters.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_system_topic.subscription.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "remediation_topic_dead_letters" {
  scope                = azurerm_storage_container.dead_letters.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_eventgrid_topic.remediation.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

# The AWS interactivity function (through its Entra application, entra.tf)
# publishes approved remediations to the remediation topic, nowhere else.
resource "azurerm_role_assignment" "remediation_publisher" {
  scope                = azurerm_eventgrid_topic.remediation.id
  role_definition_name = "EventGrid Data Sender"
  principal_id         = azuread_service_principal.remediation_publisher.object_id
  principal_type       = "ServicePrincipal"
}

# The function publishes the automatic fixes governance allows (auto mode)
# to the same topic, so they run on the same path as approved ones.
resource "azurerm_role_assignment" "function_remediation_publisher" {
  scope                = azurerm_eventgrid_topic.remediation.id
  role_definition_name = "EventGrid Data Sender"
  principal_id         = azurerm_user_assigned_identity.function.principal_id
  principal_type       = "ServicePrincipal"
  description          = "driftwatch function: publishes automatic fixes to its remediation topic"
}

# --- the deployer --------------------------------------------------------------
# Terraform itself writes two data-plane objects: the package blob and the
# Key Vault secret's placeholder. Control-plane roles (Owner) do not
# include data actions.

resource "azurerm_role_assignment" "deployer_package" {
  scope                = azurerm_storage_container.package.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "deployer_secrets" {
  scope                = azurerm_key_vault.slack.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}
