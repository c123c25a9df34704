# The Slack bot token. RBAC mode (no access policies), purge protection on.
# Terraform creates the secret with a placeholder, write-only, and never
# reads its value back, so the token is never in the Terraform state: set it
# once after the first apply (README, step 3). The function reads it through
# a Key Vault reference app setting, resolved by the platform with the
# function's identity, which may read this secret and no other.
#
# The Slack signing secret is not here: the Azure function does not verify
# Slack requests (the AWS interactivity function does, with its own copy in
# Secrets Manager), so it stays out of Azure altogether.
#
# The vault's firewall stays open (default action Allow): Key Vault
# references from a Consumption plan come from shared, changing addresses,
# and App Service is not a trusted service that could bypass it.
resource "azurerm_key_vault" "slack" {
  name                = "${var.name_prefix}-${local.suffix}"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location
  tenant_id           = data.azurerm_client_config.current.tenant_id
  sku_name            = "standard"

  rbac_authorization_enabled = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 90

  tags = local.tags
}

resource "azurerm_key_vault_secret" "slack_bot_token" {
  name         = "slack-bot-token"
  key_vault_id = azurerm_key_vault.slack.id
  content_type = "Slack bot token (xoxb-...). Set it with: az keyvault secret set --vault-name <vault> --name slack-bot-token --value 'xoxb-...'. Slack app > OAuth & Permissions > Bot User OAuth Token."

  # Not a secret: the marker the real token replaces out of band. Written
  # once (write-only: never stored in the state), and with
  # value_wo_version set the provider keeps the value Key Vault returns
  # out of the state too, so the real token never reaches it.
  value_wo         = "unset: az keyvault secret set"
  value_wo_version = 1

  depends_on = [azurerm_role_assignment.deployer_secrets]
}
