# The push subscriptions that deliver to the function, the remediation
# topic, and the dead letters.
#
# Both subscriptions push to the Cloud Run service with an OIDC token of
# the push service account for one custom audience: Cloud Run lets the
# request in only for a token of an account holding run.invoker on the
# service (the push account alone, iam.tf), and the function verifies the
# token again (issuer, audience DRIFTWATCH_PUSH_AUDIENCE, email
# DRIFTWATCH_PUSH_SERVICE_ACCOUNT: shared/gcpfunc) before reading a body.
#
# Ack deadline 30 s: the function bounds a delivery to 25 s
# (gcpfunc.DefaultTimeout), so an answer always comes before Pub/Sub gives
# up on it. A 503 (retryable) is redelivered with exponential backoff;
# after max_delivery_attempts the message goes to the dead-letter topic,
# whose own subscription keeps it for a week.

resource "google_pubsub_subscription" "audit" {
  project = var.project_id
  name    = "${var.name_prefix}-audit-push"
  topic   = google_pubsub_topic.audit.id

  ack_deadline_seconds = 30

  # An audit entry is worth a day of retries: the function re-reads the
  # resource, so a late delivery is still correct.
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = local.audit_push_endpoint

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.push_audience
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 20
  }

  # Never deleted for inactivity (the default is 31 days without a push).
  expiration_policy {
    ttl = ""
  }

  # The service agent must be able to forward to the dead-letter topic and
  # ack here, and to mint the push tokens (iam.tf).
  depends_on = [
    google_pubsub_topic_iam_member.pubsub_agent_dead_letter,
    google_service_account_iam_member.pubsub_agent_push_token,
    google_cloud_run_v2_service_iam_member.push_invoker,
  ]
}

# The topic remediation requests travel on (shared/gcpbus): the AWS
# interactivity function publishes approved fixes, undos and
# re-evaluations (as the federated remediation publisher, wif.tf), and the
# function itself publishes the automatic fixes governance allows, so they
# run on the same path.
resource "google_pubsub_topic" "remediation" {
  project = var.project_id
  name    = "${var.name_prefix}-remediation"

  # An approval is stale after an hour: an unconsumed request is not worth
  # keeping longer.
  message_retention_duration = "3600s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "remediation" {
  project = var.project_id
  name    = "${var.name_prefix}-remediation-push"
  topic   = google_pubsub_topic.remediation.id

  ack_deadline_seconds       = 30
  message_retention_duration = "3600s"

  # gcpbus's request types only (its driftwatch_type attribute); anything
  # else on the topic is acked by Pub/Sub without a delivery.
  filter = local.remediation_filter

  push_config {
    push_endpoint = local.remediation_push_endpoint

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.push_audience
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "300s"
  }

  # A fix that fails ten times needs a person: better in the dead letters
  # than applied long after the click.
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 10
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_topic_iam_member.pubsub_agent_dead_letter,
    google_service_account_iam_member.pubsub_agent_push_token,
    google_cloud_run_v2_service_iam_member.push_invoker,
  ]
}

# Messages either subscription gave up on. A topic keeps nothing by
# itself: the pull subscription below holds them for a week (read them
# with gcloud pubsub subscriptions pull, README).
resource "google_pubsub_topic" "dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-dead-letter"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-dead-letter"
  topic   = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}
