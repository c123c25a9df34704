# Three Entra applications, none with a secret or certificate:
#
#   events           the audience of the tokens Event Grid presents when it
#                    delivers to the function's routes (webhook Entra auth):
#                    the function accepts a delivery only with such a token.
#   aws_federation   the audience of the tokens the function's managed
#                    identity exchanges for AWS credentials
#                    (AssumeRoleWithWebIdentity to the posture table).
#   remediation_publisher
#                    the identity of the AWS interactivity function when it
#                    publishes approved remediations to the remediation
#                    topic: a federated credential trusts the AWS account's
#                    outbound identity federation tokens for its role, so no
#                    topic key or client secret exists anywhere.
#
# Both audience applications issue v1 tokens (issuer
# https://sts.windows.net/<tenant>/, the URL of the AWS OIDC provider in
# infra/aws azure.tf) and require an app role: only the callers assigned
# one can get a token for them at all.

data "azuread_client_config" "current" {}

# --- Event Grid -> function -----------------------------------------------------

resource "azuread_application" "events" {
  display_name     = "${var.name_prefix}-events-${local.suffix}"
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]

  api {
    requested_access_token_version = 1
  }

  # The role Event Grid's secure webhook delivery requires: held by Event
  # Grid (to get delivery tokens) and by whoever creates the event
  # subscriptions (the deployer).
  app_role {
    id                   = "55370393-9813-44fb-9cca-dceca4573ccd"
    value                = "AzureEventGridSecureWebhookSubscriber"
    display_name         = "AzureEventGridSecureWebhookSubscriber"
    description          = "Delivers Event Grid events to the driftwatch function"
    allowed_member_types = ["Application", "User"]
    enabled              = true
  }
}

resource "azuread_application_identifier_uri" "events" {
  application_id = azuread_application.events.id
  identifier_uri = "api://${azuread_application.events.client_id}"
}

resource "azuread_service_principal" "events" {
  client_id                    = azuread_application.events.client_id
  app_role_assignment_required = true
  owners                       = [data.azuread_client_config.current.object_id]
}

# Microsoft.EventGrid, the first-party application whose tokens Event Grid
# deliveries carry. Its service principal may not exist in a tenant that
# never used Entra-authenticated delivery.
resource "azuread_service_principal" "eventgrid" {
  client_id    = "4962773b-9cdb-44cf-a8bf-237846a00ab7"
  use_existing = true
}

resource "azuread_app_role_assignment" "eventgrid_delivers" {
  app_role_id         = azuread_application.events.app_role_ids["AzureEventGridSecureWebhookSubscriber"]
  principal_object_id = azuread_service_principal.eventgrid.object_id
  resource_object_id  = azuread_service_principal.events.object_id
}

# Event Grid checks, when an event subscription is created or updated,
# that its writer holds the role too.
resource "azuread_app_role_assignment" "deployer_subscribes" {
  app_role_id         = azuread_application.events.app_role_ids["AzureEventGridSecureWebhookSubscriber"]
  principal_object_id = data.azuread_client_config.current.object_id
  resource_object_id  = azuread_service_principal.events.object_id
}

# --- function -> AWS --------------------------------------------------------------

resource "azuread_application" "aws_federation" {
  display_name     = "${var.name_prefix}-aws-federation-${local.suffix}"
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]

  api {
    requested_access_token_version = 1
  }

  app_role {
    id                   = "72735d8c-1cc7-418a-bb99-6054cbd9ea41"
    value                = "AssumeAwsPostureRole"
    display_name         = "AssumeAwsPostureRole"
    description          = "Exchanges a token for AWS credentials to the driftwatch posture table"
    allowed_member_types = ["Application"]
    enabled              = true
  }
}

resource "azuread_application_identifier_uri" "aws_federation" {
  application_id = azuread_application.aws_federation.id
  identifier_uri = "api://${azuread_application.aws_federation.client_id}"
}

resource "azuread_service_principal" "aws_federation" {
  client_id                    = azuread_application.aws_federation.client_id
  app_role_assignment_required = true
  owners                       = [data.azuread_client_config.current.object_id]
}

# The function's identity is the only principal that can get a token for
# this audience (and the AWS role's trust pins its principal id as well).
resource "azuread_app_role_assignment" "function_federates" {
  app_role_id         = azuread_application.aws_federation.app_role_ids["AssumeAwsPostureRole"]
  principal_object_id = azurerm_user_assigned_identity.function.principal_id
  resource_object_id  = azuread_service_principal.aws_federation.object_id
}

# --- AWS interactivity -> remediation topic -----------------------------------
#
# Chosen over a topic access key kept in AWS Secrets Manager: a key is a
# long-lived credential that anyone who reads it can use from anywhere,
# until someone rotates it; this credential is a 5-minute AWS-signed token
# that only the interactivity role can obtain, exchanged for a 1-hour Entra
# token that can only send to this one topic (EventGrid Data Sender, role.tf).
# The topic has local (key) authentication turned off altogether.

resource "azuread_application" "remediation_publisher" {
  display_name     = "${var.name_prefix}-remediation-publisher-${local.suffix}"
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]
}

resource "azuread_service_principal" "remediation_publisher" {
  client_id = azuread_application.remediation_publisher.client_id
  owners    = [data.azuread_client_config.current.object_id]
}

resource "azuread_application_federated_identity_credential" "remediation_publisher" {
  application_id = azuread_application.remediation_publisher.id
  display_name   = "aws-interactivity"
  description    = "The driftwatch Slack interactivity function's AWS role (sts:GetWebIdentityToken)"
  issuer         = var.aws_outbound_issuer
  subject        = var.aws_interactivity_role_arn
  audiences      = ["api://AzureADTokenExchange"]
}
