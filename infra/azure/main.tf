# The subscription driftwatch watches (and deploys into), and the identity
# the function runs as.

data "azurerm_subscription" "current" {}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "driftwatch" {
  name     = "${var.name_prefix}-rg"
  location = var.location
  tags     = local.tags
}

# The function's only identity. User-assigned, so that its principal id
# exists before the function does: the custom role, the Key Vault secret
# and the AWS role's trust (infra/aws azure.tf) all name it.
resource "azurerm_user_assigned_identity" "function" {
  name                = "${var.name_prefix}-function"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location
  tags                = local.tags
}
