# Every IAM grant of the deployment, in one place. All are additive
# *_iam_member resources: none replaces a policy other tools manage.
#
# The function's rights on the watched resources are two custom roles
# whose permissions are generated from the code into roles/*.json by
# `go test ./shared/infratest -run TestGCPRoleFiles -update`:
#   read         gcpfetch.Permissions(): what the fetchers read, granted
#                where events come from (the organization, or each watched
#                project);
#   remediation  gcpremedy.Permissions(): what the actions read and
#                change, granted on remediation_projects only.
# No predefined or basic role on any resource: the test fails when the
# files and the code diverge, or when the function gets a role this file
# does not model.

# --- the custom roles ----------------------------------------------------------
#
# A project's custom role can only be granted in that project: in project
# mode each watched project gets the read role and each remediation project
# the remediation role. In organization mode both are the organization's,
# grantable anywhere in it.

resource "google_organization_iam_custom_role" "read" {
  count = local.org_mode ? 1 : 0

  org_id      = var.organization_id
  role_id     = "${local.role_prefix}_read"
  title       = "driftwatch read"
  description = "driftwatch function: reads the resources audit log entries name (generated from the code: infra/gcp/roles/read.json)."
  permissions = local.read_permissions
  stage       = "GA"
}

resource "google_organization_iam_custom_role" "remediation" {
  count = local.org_mode ? 1 : 0

  org_id      = var.organization_id
  role_id     = "${local.role_prefix}_remediation"
  title       = "driftwatch remediation"
  description = "driftwatch function: applies and undoes the approved fixes its actions declare (generated from the code: infra/gcp/roles/remediation.json)."
  permissions = local.remediation_permissions
  stage       = "GA"
}

resource "google_project_iam_custom_role" "read" {
  for_each = toset(local.watched_projects)

  project     = each.key
  role_id     = "${local.role_prefix}_read"
  title       = "driftwatch read"
  description = "driftwatch function: reads the resources audit log entries name (generated from the code: infra/gcp/roles/read.json)."
  permissions = local.read_permissions
  stage       = "GA"
}

resource "google_project_iam_custom_role" "remediation" {
  for_each = local.org_mode ? toset([]) : toset(var.remediation_projects)

  project     = each.key
  role_id     = "${local.role_prefix}_remediation"
  title       = "driftwatch remediation"
  description = "driftwatch function: applies and undoes the approved fixes its actions declare (generated from the code: infra/gcp/roles/remediation.json)."
  permissions = local.remediation_permissions
  stage       = "GA"
}

# --- the function --------------------------------------------------------------

resource "google_organization_iam_member" "function_read" {
  count = local.org_mode ? 1 : 0

  org_id = var.organization_id
  role   = google_organization_iam_custom_role.read[0].name
  member = "serviceAccount:${google_service_account.function.email}"
}

resource "google_project_iam_member" "function_read" {
  for_each = toset(local.watched_projects)

  project = each.key
  role    = google_project_iam_custom_role.read[each.key].name
  member  = "serviceAccount:${google_service_account.function.email}"
}

resource "google_project_iam_member" "function_remediation" {
  for_each = toset(var.remediation_projects)

  project = each.key
  role    = local.org_mode ? google_organization_iam_custom_role.remediation[0].name : google_project_iam_custom_role.remediation[each.key].name
  member  = "serviceAccount:${google_service_account.function.email}"
}

# The Slack bot token, and no other secret.
resource "google_secret_manager_secret_iam_member" "function_slack_bot_token" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.slack_bot_token.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function.email}"
}

# The function publishes the automatic fixes governance allows (auto
# mode) to the remediation topic, and to no other.
resource "google_pubsub_topic_iam_member" "function_remediation_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.remediation.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.function.email}"
}

# --- the push subscriptions --------------------------------------------------------

# The push service account may invoke this service, nothing else.
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  project  = var.project_id
  location = google_cloud_run_v2_service.function.location
  name     = google_cloud_run_v2_service.function.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

# Pub/Sub mints the push tokens with its service agent. Projects created
# since April 2021 grant that implicitly; older ones need this, on the push
# service account only.
resource "google_service_account_iam_member" "pubsub_agent_push_token" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Dead-lettering: the service agent forwards undeliverable messages to the
# dead-letter topic, and acknowledges them on their subscription.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_audit" {
  project      = var.project_id
  subscription = google_pubsub_subscription.audit.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_remediation" {
  project      = var.project_id
  subscription = google_pubsub_subscription.remediation.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# --- the Log Router sinks -------------------------------------------------------

# Each sink's writer identity may publish to the audit topic, nowhere else.
resource "google_pubsub_topic_iam_member" "project_sink_publisher" {
  for_each = google_logging_project_sink.audit

  project = var.project_id
  topic   = google_pubsub_topic.audit.name
  role    = "roles/pubsub.publisher"
  member  = google_logging_project_sink.audit[each.key].writer_identity
}

resource "google_pubsub_topic_iam_member" "organization_sink_publisher" {
  count = local.org_mode ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.audit.name
  role    = "roles/pubsub.publisher"
  member  = google_logging_organization_sink.audit[0].writer_identity
}

# --- the AWS interactivity function (wif.tf) ---------------------------------------

# The federated publisher publishes remediation requests, to this topic
# only.
resource "google_pubsub_topic_iam_member" "remediation_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.remediation.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.remediation_publisher.email}"
}

# Only the sessions of the interactivity function's role may act as it.
resource "google_service_account_iam_member" "remediation_publisher_federation" {
  service_account_id = google_service_account.remediation_publisher.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.aws.name}/attribute.aws_role/${local.interactivity_assumed_role}"
}
