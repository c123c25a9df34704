# The function's storage account: the Functions host's own state
# (AzureWebJobsStorage: keys, leases), the deployment package and the Event
# Grid dead letters. No shared keys: every client authenticates with Entra
# (the function's identity, the topics' identities, the deployer).
#
# Its firewall stays open (default action Allow): a Consumption plan
# function has no virtual network and shared, changing outbound addresses.
# driftwatch's own storage rules will report that (accept the risk for this
# account, or move to a plan with virtual network integration).
resource "azurerm_storage_account" "function" {
  name                = "${replace(var.name_prefix, "-", "")}${local.suffix}"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location

  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "LRS"

  https_traffic_only_enabled      = true
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true

  blob_properties {
    # Dead letters are evidence of missed events: recoverable for a week
    # after an accidental delete.
    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }

  tags = local.tags
}

# The deployment package, uploaded by Terraform. Its name carries the
# package's hash, so that a new build changes WEBSITE_RUN_FROM_PACKAGE and
# the function restarts on it.
resource "azurerm_storage_container" "package" {
  name                  = "function-package"
  storage_account_id    = azurerm_storage_account.function.id
  container_access_type = "private"
}

resource "azurerm_storage_blob" "package" {
  name                   = "function-${filesha256(local.package)}.zip"
  storage_account_name   = azurerm_storage_account.function.name
  storage_container_name = azurerm_storage_container.package.name
  type                   = "Block"
  source                 = local.package
  content_md5            = filemd5(local.package)

  # The deployer uploads with Entra credentials (shared keys are off).
  depends_on = [azurerm_role_assignment.deployer_package]
}

# Events Event Grid could not deliver after every retry, one blob per event
# (eventgrid.tf), written by the topics' own identities.
resource "azurerm_storage_container" "dead_letters" {
  name                  = "dead-letters"
  storage_account_id    = azurerm_storage_account.function.id
  container_access_type = "private"
}
