terraform {
  # 1.11 for write-only arguments: the Key Vault secret's placeholder
  # (keyvault.tf) never enters the state, nor does the token set later.
  required_version = ">= 1.11.0"

  required_providers {
    # 4.42 for azurerm_key_vault's rbac_authorization_enabled (value_wo on
    # azurerm_key_vault_secret is older).
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.42"
    }
    # The Entra applications: the audience of Event Grid's delivery tokens,
    # the audience of the tokens the function exchanges for AWS
    # credentials, and the identity the AWS interactivity function publishes
    # remediation requests with (entra.tf).
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.0"
    }
  }
}

provider "azurerm" {
  subscription_id = var.subscription_id

  # The storage account allows no shared keys: Terraform uploads the
  # package with Entra credentials too (storage.tf).
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on: a destroyed vault stays recoverable for its
      # retention period; never try to purge it.
      purge_soft_delete_on_destroy          = false
      purge_soft_deleted_secrets_on_destroy = false
      recover_soft_deleted_key_vaults       = true
      recover_soft_deleted_secrets          = true
    }

    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

provider "azuread" {}
