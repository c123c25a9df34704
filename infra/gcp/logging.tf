# Admin Activity audit logs -> Log Router sink -> the audit topic -> the
# function's "/" route (pubsub.tf).
#
# The sink's filter is generated from the method table (shared/gcpevent)
# into log-sink-filter.txt: only the methods driftwatch reacts to leave
# the logs. Admin Activity logs are always written and free, so nothing
# has to be enabled on the watched projects.
#
# Organization mode (organization_id set): one organization sink, with its
# children (include_children) - every project, including those created
# later. Project mode: one sink per watched project.

resource "google_logging_project_sink" "audit" {
  for_each = toset(local.watched_projects)

  project     = each.key
  name        = "${var.name_prefix}-audit"
  description = "driftwatch: the Admin Activity entries of the methods it reacts to (generated filter: infra/gcp/log-sink-filter.txt)."
  destination = "pubsub.googleapis.com/${google_pubsub_topic.audit.id}"
  filter      = local.sink_filter

  # A service account of its own, granted publisher on the topic below
  # (and nothing else).
  unique_writer_identity = true
}

resource "google_logging_organization_sink" "audit" {
  count = local.org_mode ? 1 : 0

  org_id           = var.organization_id
  name             = "${var.name_prefix}-audit"
  description      = "driftwatch: the Admin Activity entries of the methods it reacts to (generated filter: infra/gcp/log-sink-filter.txt)."
  destination      = "pubsub.googleapis.com/${google_pubsub_topic.audit.id}"
  filter           = local.sink_filter
  include_children = var.include_children
}

# The audit topic. Log Router publishes with the sink's writer identity,
# which may publish here and nowhere else (iam.tf).
resource "google_pubsub_topic" "audit" {
  project = var.project_id
  name    = "${var.name_prefix}-audit"

  depends_on = [google_project_service.apis]
}
