# The function: one Linux Function App running the Go custom handler
# `handler` (functions/azure) on the Consumption plan, as the user-assigned
# identity only. Its app settings name exactly the variables its code reads
# (shared/infratest checks them against the code).
#
# Why the Linux Consumption plan rather than Flex Consumption: Terraform
# deploys the package itself (the blob in storage.tf, read with the
# identity through WEBSITE_RUN_FROM_PACKAGE), so the code answers Event
# Grid's validation handshake when the event subscriptions are created in
# the same apply, and no publishing credential is ever enabled; and the
# Key Vault reference resolves with the user-assigned identity
# (key_vault_reference_identity_id), which azurerm_function_app_flex_consumption
# cannot set. README.md says how to move to Flex Consumption.

resource "azurerm_service_plan" "function" {
  name                = "${var.name_prefix}-plan"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location
  os_type             = "Linux"
  sku_name            = "Y1"
  tags                = local.tags
}

resource "azurerm_linux_function_app" "driftwatch" {
  name                = "${var.name_prefix}-${local.suffix}"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location
  service_plan_id     = azurerm_service_plan.function.id

  functions_extension_version = "~4"
  https_only                  = true

  # The host's storage through the identity (AzureWebJobsStorage__*
  # below), never a key.
  storage_account_name          = azurerm_storage_account.function.name
  storage_uses_managed_identity = true

  # Logs go to Application Insights; the legacy dashboard would be one more
  # storage setting.
  builtin_logging_enabled = false

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.function.id]
  }

  # Key Vault references resolve with this identity (the app has no
  # system-assigned one).
  key_vault_reference_identity_id = azurerm_user_assigned_identity.function.id

  # No FTP or Web Deploy credentials: the package is deployed from storage.
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false

  site_config {
    # FUNCTIONS_WORKER_RUNTIME=custom: host.json's customHandler starts
    # `handler`, which listens on FUNCTIONS_CUSTOMHANDLER_PORT.
    application_stack {
      use_custom_runtime = true
    }

    minimum_tls_version                    = "1.2"
    ftps_state                             = "Disabled"
    http2_enabled                          = true
    application_insights_connection_string = azurerm_application_insights.function.connection_string
  }

  app_settings = {
    # --- read by driftwatch's code ----------------------------------------
    DRIFTWATCH_TABLE              = var.aws_table_name
    DRIFTWATCH_AWS_REGION         = var.aws_region
    DRIFTWATCH_AWS_ROLE_ARN       = var.aws_role_arn
    DRIFTWATCH_AWS_TOKEN_AUDIENCE = azuread_application_identifier_uri.aws_federation.identifier_uri
    DRIFTWATCH_GOVERNANCE_FILE    = local.governance_file
    DRIFTWATCH_ACCOUNTS           = jsonencode(var.accounts)
    DRIFTWATCH_DISABLED_RULES     = join(",", var.disabled_rules)
    DRIFTWATCH_LOG_LEVEL          = var.log_level
    # Fixes act only in the watched subscription, the role's scope.
    DRIFTWATCH_AZURE_SUBSCRIPTIONS = var.subscription_id
    # Automatic fixes travel on the same topic as approved ones, so they
    # get its retries and dead letters.
    DRIFTWATCH_REMEDIATION_TOPIC = azurerm_eventgrid_topic.remediation.endpoint
    DRIFTWATCH_EVENTGRID_TENANT  = data.azurerm_client_config.current.tenant_id
    # Event Grid requests its tokens for the URI (eventgrid.tf); a v2.0
    # token would carry the client id instead.
    DRIFTWATCH_EVENTGRID_AUDIENCE = "${azuread_application_identifier_uri.events.identifier_uri},${azuread_application.events.client_id}"
    SLACK_CHANNEL                 = var.slack_channel
    # Resolved by the platform with the identity; the value never passes
    # through Terraform.
    SLACK_BOT_TOKEN = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.slack_bot_token.versionless_id})"

    # --- read by the platform and the Azure SDK ---------------------------
    # azidentity's managed identity credential picks the user-assigned
    # identity by its client id.
    AZURE_CLIENT_ID                              = azurerm_user_assigned_identity.function.client_id
    AzureWebJobsStorage__credential              = "managedidentity"
    AzureWebJobsStorage__clientId                = azurerm_user_assigned_identity.function.client_id
    WEBSITE_RUN_FROM_PACKAGE                     = azurerm_storage_blob.package.url
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID = azurerm_user_assigned_identity.function.id
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING    = "ClientId=${azurerm_user_assigned_identity.function.client_id};Authorization=AAD"
  }

  tags = local.tags

  # The identity must hold its storage, secret and telemetry roles before
  # the host starts and reads the package.
  depends_on = [
    azurerm_role_assignment.function_storage,
    azurerm_role_assignment.function_slack_bot_token,
    azurerm_role_assignment.function_telemetry,
  ]
}

# Logs and telemetry, accepted from the function's identity only (local
# authentication off: the connection string alone cannot write).
resource "azurerm_log_analytics_workspace" "function" {
  name                = "${var.name_prefix}-logs"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_application_insights" "function" {
  name                          = "${var.name_prefix}-function"
  resource_group_name           = azurerm_resource_group.driftwatch.name
  location                      = azurerm_resource_group.driftwatch.location
  workspace_id                  = azurerm_log_analytics_workspace.function.id
  application_type              = "other"
  local_authentication_disabled = true
  tags                          = local.tags
}
