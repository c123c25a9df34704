# AWS interactivity function -> remediation topic, with no key anywhere.
#
# Chosen over a service account key kept in AWS Secrets Manager: a key is a
# long-lived credential that works from anywhere for whoever reads it,
# until someone rotates it. Here the interactivity function signs an STS
# GetCallerIdentity request with its own role's credentials (never sent by
# it); Google STS sends it to AWS, learns the caller's role session, and
# the pool's AWS provider accepts it only from var.aws_account_id and,
# by its attribute condition, only for sessions of the interactivity role.
# The federated token may then act as the remediation publisher service
# account (roles/iam.workloadIdentityUser for that role's principalSet,
# iam.tf), which may publish to the remediation topic and nothing else
# (shared/gcpfed, shared/awsinteract).

resource "google_iam_workload_identity_pool" "aws" {
  project                   = var.project_id
  workload_identity_pool_id = "${var.name_prefix}-aws"
  display_name              = "driftwatch AWS"
  description               = "The driftwatch Slack interactivity function's AWS account."

  depends_on = [google_project_service.apis]
}

resource "google_iam_workload_identity_pool_provider" "aws_interactivity" {
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.aws.workload_identity_pool_id
  workload_identity_pool_provider_id = "interactivity"
  display_name                       = "driftwatch interactivity"
  description                        = "The driftwatch Slack interactivity function's role, publishing remediation requests."

  aws {
    account_id = var.aws_account_id
  }

  # Google's mapping for AWS: attribute.aws_role is the session's role as
  # arn:aws:sts::<account>:assumed-role/<role name>, whatever the session
  # name (Lambda's changes with every execution environment).
  attribute_mapping = {
    "google.subject"     = "assertion.arn"
    "attribute.aws_role" = "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn"
  }

  # Any other role of the account is refused here already, before any IAM
  # policy is looked at.
  attribute_condition = "attribute.aws_role == '${local.interactivity_assumed_role}'"
}
