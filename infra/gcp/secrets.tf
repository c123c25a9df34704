# The Slack bot token. Terraform creates the secret, never a version: the
# token is added with gcloud secrets versions add (README, step 2), so it is
# never in the Terraform state. Cloud Run resolves the latest version into
# SLACK_BOT_TOKEN when an instance starts, with the function's service
# account, which may access this secret and no other (iam.tf).
#
# The Slack signing secret is not here: the GCP function does not verify
# Slack requests (the AWS interactivity function does, with its own copy
# in Secrets Manager).
resource "google_secret_manager_secret" "slack_bot_token" {
  project   = var.project_id
  secret_id = "${var.name_prefix}-slack-bot-token"

  annotations = {
    how-to-set = "gcloud secrets versions add ${var.name_prefix}-slack-bot-token --data-file=- (Slack app > OAuth & Permissions > Bot User OAuth Token, xoxb-...)"
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}
