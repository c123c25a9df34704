# Activity Log -> function, and remediation requests -> function.
#
# The subscription's system topic publishes its resource events
# (ResourceWriteSuccess, ResourceDeleteSuccess, ResourceActionSuccess, ...).
# The event subscriptions keep only the operations driftwatch reacts to:
# their filters are generated from the operation table (shared/azevent:
# `go test ./shared/azevent` fails when eventgrid-filter.json and the table
# diverge). It is a list because an event subscription's advanced filters
# hold at most 25 values: one event subscription per entry.
#
# Deliveries carry an Entra token for the events application (entra.tf):
# the function refuses any request without one. Failed deliveries are
# retried for a day, then kept as blobs in the dead-letter container.

locals {
  event_filters = jsondecode(file("${path.module}/eventgrid-filter.json"))
}

# A subscription can have one system topic of this type: if another tool
# already created it, import it (README, "Existing system topic").
resource "azurerm_eventgrid_system_topic" "subscription" {
  name                = "${var.name_prefix}-subscription"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = "global"
  source_resource_id  = data.azurerm_subscription.current.id
  topic_type          = "Microsoft.Resources.Subscriptions"

  # Dead-letters with this identity (role.tf).
  identity {
    type = "SystemAssigned"
  }

  tags = local.tags
}

resource "azurerm_eventgrid_system_topic_event_subscription" "events" {
  count = length(local.event_filters)

  name                = "${var.name_prefix}-events-${count.index}"
  system_topic        = azurerm_eventgrid_system_topic.subscription.name
  resource_group_name = azurerm_resource_group.driftwatch.name

  event_delivery_schema = "EventGridSchema"

  webhook_endpoint {
    url                            = local.events_url
    active_directory_tenant_id     = data.azurerm_client_config.current.tenant_id
    active_directory_app_id_or_uri = azuread_application_identifier_uri.events.identifier_uri
    max_events_per_batch           = 10
  }

  included_event_types = local.event_filters[count.index].includedEventTypes

  # One StringIn on data.operationName per entry (the only operator
  # shared/azevent generates; the infra test fails on any other).
  advanced_filter {
    dynamic "string_in" {
      for_each = [for f in local.event_filters[count.index].advancedFilters : f if f.operatorType == "StringIn"]
      content {
        key    = string_in.value.key
        values = string_in.value.values
      }
    }
  }

  # Event Grid's longest: 30 attempts over 24 hours.
  retry_policy {
    max_delivery_attempts = 30
    event_time_to_live    = 1440
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.function.id
    storage_blob_container_name = azurerm_storage_container.dead_letters.name
  }

  # Event Grid checks the writer's app role and the function's handshake
  # when it creates the subscription, and dead-letters with the topic's
  # identity.
  depends_on = [
    azuread_app_role_assignment.eventgrid_delivers,
    azuread_app_role_assignment.deployer_subscribes,
    azurerm_role_assignment.subscription_topic_dead_letters,
  ]
}

# The custom topic remediation requests travel on (shared/azbus): the AWS
# interactivity function publishes approved remediations, undos and
# re-evaluations, the function's remediation route executes them. Keys are
# off: publishers authenticate with Entra (entra.tf, role.tf).
resource "azurerm_eventgrid_topic" "remediation" {
  name                = "${var.name_prefix}-remediation-${local.suffix}"
  resource_group_name = azurerm_resource_group.driftwatch.name
  location            = azurerm_resource_group.driftwatch.location

  # azbus publishes in the Event Grid schema.
  input_schema       = "EventGridSchema"
  local_auth_enabled = false

  identity {
    type = "SystemAssigned"
  }

  tags = local.tags
}

resource "azurerm_eventgrid_event_subscription" "remediation" {
  name  = "${var.name_prefix}-remediation"
  scope = azurerm_eventgrid_topic.remediation.id

  event_delivery_schema = "EventGridSchema"

  webhook_endpoint {
    url                            = local.remediation_url
    active_directory_tenant_id     = data.azurerm_client_config.current.tenant_id
    active_directory_app_id_or_uri = azuread_application_identifier_uri.events.identifier_uri
    max_events_per_batch           = 1
  }

  # shared/azbus EventTypes (the infra test compares).
  included_event_types = ["Driftwatch.ReevaluationRequested", "Driftwatch.RemediationApproved", "Driftwatch.RemediationUndoApproved"]

  # An approval is stale after an hour: better a clear failure in the
  # dead-letter container than a fix applied long after the click.
  retry_policy {
    max_delivery_attempts = 10
    event_time_to_live    = 60
  }

  dead_letter_identity {
    type = "SystemAssigned"
  }

  storage_blob_dead_letter_destination {
    storage_account_id          = azurerm_storage_account.function.id
    storage_blob_container_name = azurerm_storage_container.dead_letters.name
  }

  depends_on = [
    azuread_app_role_assignment.eventgrid_delivers,
    azuread_app_role_assignment.deployer_subscribes,
    azurerm_role_assignment.remediation_topic_dead_letters,
  ]
}
