locals {
  # The sink filter, generated from the method table (shared/gcpevent:
  # `go test ./shared/gcpevent` fails when log-sink-filter.txt and the table
  # diverge): the Admin Activity entries of the methods driftwatch reacts
  # to, nothing else.
  sink_filter = file("${path.module}/log-sink-filter.txt")

  # The function's custom roles, generated from the code's declarations
  # (`go test ./shared/infratest -run TestGCPRoleFiles -update`):
  #   read        gcpfetch.Permissions(): the reads of the fetchers;
  #   remediation gcpremedy.Permissions(): the actions' reads and writes.
  read_permissions        = jsondecode(file("${path.module}/roles/read.json"))
  remediation_permissions = jsondecode(file("${path.module}/roles/remediation.json"))

  # Organization mode: one organization sink, organization custom roles.
  # Project mode: one sink and one read role per watched project.
  org_mode         = var.organization_id != null
  watched_projects = local.org_mode ? [] : (length(var.watched_projects) > 0 ? var.watched_projects : [var.project_id])

  # Custom role ids allow letters, digits, underscores and dots only.
  role_prefix = replace(var.name_prefix, "-", "_")

  # The function's routes (shared/gcpfunc): "/" takes the audit entries,
  # gcpfunc.DefaultRemediationPath the remediation requests.
  audit_push_endpoint       = "${google_cloud_run_v2_service.function.uri}/"
  remediation_push_endpoint = "${google_cloud_run_v2_service.function.uri}/remediation"

  # The audience of both push subscriptions' OIDC tokens: one custom
  # audience (the service's custom_audiences, so Cloud Run's own invoker
  # check accepts it), because the function verifies one audience
  # (DRIFTWATCH_PUSH_AUDIENCE) and cannot name its own URL without a cycle.
  push_audience = "https://${var.name_prefix}.${var.project_id}.driftwatch.invalid/push"

  # The image puts the governance policy here (README, "The image").
  governance_file = "/etc/driftwatch/governance.yaml"

  # shared/gcpbus Types: the remediation subscription delivers these
  # driftwatch_type attributes only (the infra test compares).
  remediation_types  = ["Driftwatch.ReevaluationRequested", "Driftwatch.RemediationApproved", "Driftwatch.RemediationUndoApproved"]
  remediation_filter = join(" OR ", [for t in local.remediation_types : "attributes.driftwatch_type = \"${t}\""])

  # The Pub/Sub service agent: it mints the push tokens, and it moves
  # undeliverable messages to the dead-letter topic.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # The sessions of the AWS interactivity function's role, as the pool's
  # attribute.aws_role maps them (wif.tf).
  interactivity_assumed_role = "arn:aws:sts::${var.aws_account_id}:assumed-role/${var.aws_interactivity_role_name}"
}
