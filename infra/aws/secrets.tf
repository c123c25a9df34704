# The Slack credentials. Terraform creates the secrets empty and never sees
# their values, so they are not in the state file; set them once after the
# first apply (README, step 3). The functions read them at cold start.
resource "aws_secretsmanager_secret" "slack_bot_token" {
  name                    = "${var.name_prefix}/slack-bot-token"
  description             = "driftwatch Slack bot token (xoxb-...). Set it with: aws secretsmanager put-secret-value --secret-id <this secret> --secret-string 'xoxb-...' (plain, or JSON {\"bot_token\": \"xoxb-...\"}). Slack app > OAuth & Permissions > Bot User OAuth Token."
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret" "slack_signing_secret" {
  name                    = "${var.name_prefix}/slack-signing-secret"
  description             = "driftwatch Slack signing secret, used to verify that interactivity requests come from Slack. Set it with: aws secretsmanager put-secret-value --secret-id <this secret> --secret-string '<signing secret>'. Slack app > Basic Information > App Credentials > Signing Secret."
  recovery_window_in_days = var.secret_recovery_window_days
}
