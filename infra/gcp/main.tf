# The project driftwatch runs in, the APIs it uses, and its three service
# accounts, none with a key:
#
#   function              the identity the Cloud Run service runs as: reads
#                         the watched resources (read role), applies the
#                         approved fixes (remediation role), reads the Slack
#                         secret, publishes automatic fixes, and exchanges
#                         its ID token for AWS credentials to the posture
#                         table (infra/aws gcp.tf trusts its unique id).
#   push                  the identity of the push subscriptions' OIDC
#                         tokens: may invoke the service, nothing else.
#   remediation_publisher the identity the AWS interactivity function
#                         publishes approved fixes as, through workload
#                         identity federation (wif.tf): may publish to the
#                         remediation topic, nothing else.

data "google_project" "this" {
  project_id = var.project_id
}

# APIs of the project driftwatch runs in. Calls made with its service
# accounts are accounted to it, so the APIs the fetchers and actions call
# (Compute, Cloud SQL Admin, KMS, Storage, IAM, Resource Manager) are
# enabled here too. Never disabled on destroy: other workloads may use
# them.
resource "google_project_service" "apis" {
  for_each = toset([
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ])

  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}

resource "google_service_account" "function" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-function"
  display_name = "driftwatch function"
  description  = "The driftwatch Cloud Run service: reads watched resources, applies approved fixes, reaches the AWS posture table by web identity federation."
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "driftwatch push invoker"
  description  = "The identity of the driftwatch push subscriptions' OIDC tokens: may invoke the driftwatch service only."
}

resource "google_service_account" "remediation_publisher" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-remediation-pub"
  display_name = "driftwatch remediation publisher"
  description  = "The AWS Slack interactivity function, federated: may publish to the driftwatch remediation topic only."
}
