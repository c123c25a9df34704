# The function: one Cloud Run service running the functions/gcp binary
# (a container image, var.image), as the function service account only.
# Its environment names exactly the variables its code reads in push mode
# (shared/infratest checks them against the code, both ways).
#
# Not reachable from the internet: ingress is internal (Pub/Sub push from
# this project is internal traffic), and every request needs a token of
# an account holding run.invoker on the service, which only the push
# service account has (iam.tf). No allUsers invoker, ever.

resource "google_cloud_run_v2_service" "function" {
  project  = var.project_id
  name     = var.name_prefix
  location = var.region

  ingress              = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  invoker_iam_disabled = false

  # The push subscriptions' token audience (pubsub.tf): Cloud Run's invoker
  # check accepts it besides the service URL.
  custom_audiences = [local.push_audience]

  template {
    service_account = google_service_account.function.email

    # The subscriptions' ack deadline: past it Pub/Sub redelivers anyway;
    # the function gives up on a delivery after 25 s (gcpfunc.DefaultTimeout).
    timeout                          = "30s"
    max_instance_request_concurrency = var.concurrency

    # Scales to zero between events.
    scaling {
      min_instance_count = 0
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image

      # Cloud Run sets PORT from here (8080); the function listens on it.
      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        # CPU only while a request is handled: push mode does nothing in
        # between.
        cpu_idle          = true
        startup_cpu_boost = true
      }

      # --- read by driftwatch's code (shared/gcpdetector, gcpfunc, awsfed) --
      env {
        name  = "DRIFTWATCH_MODE"
        value = "push"
      }
      env {
        name  = "DRIFTWATCH_PUSH_AUDIENCE"
        value = local.push_audience
      }
      env {
        name  = "DRIFTWATCH_PUSH_SERVICE_ACCOUNT"
        value = google_service_account.push.email
      }
      env {
        name  = "DRIFTWATCH_TABLE"
        value = var.aws_table_name
      }
      env {
        name  = "DRIFTWATCH_AWS_REGION"
        value = var.aws_region
      }
      env {
        name  = "DRIFTWATCH_AWS_ROLE_ARN"
        value = var.aws_role_arn
      }
      env {
        name  = "DRIFTWATCH_AWS_TOKEN_AUDIENCE"
        value = var.aws_token_audience
      }
      env {
        name  = "DRIFTWATCH_GOVERNANCE_FILE"
        value = local.governance_file
      }
      env {
        name  = "DRIFTWATCH_ACCOUNTS"
        value = jsonencode(var.accounts)
      }
      env {
        name  = "DRIFTWATCH_DISABLED_RULES"
        value = join(",", var.disabled_rules)
      }
      env {
        name  = "DRIFTWATCH_LOG_LEVEL"
        value = var.log_level
      }
      # Fixes act only in these projects, where the remediation role is.
      env {
        name  = "DRIFTWATCH_GCP_PROJECTS"
        value = join(",", var.remediation_projects)
      }
      # Automatic fixes travel on the same topic as approved ones, so they
      # get its retries and dead letters.
      env {
        name  = "DRIFTWATCH_REMEDIATION_TOPIC"
        value = google_pubsub_topic.remediation.id
      }
      env {
        name  = "SLACK_CHANNEL"
        value = var.slack_channel
      }
      # Resolved by Cloud Run with the service account when an instance
      # starts; the value never passes through Terraform.
      env {
        name = "SLACK_BOT_TOKEN"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.slack_bot_token.secret_id
            version = "latest"
          }
        }
      }
    }
  }

  # The service account must be able to read the secret before a revision
  # starts, and the secret must have a version (README, step 2).
  depends_on = [
    google_secret_manager_secret_iam_member.function_slack_bot_token,
    google_project_service.apis,
  ]
}
