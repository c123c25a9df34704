locals {
  # `make build` names architectures as Go does.
  goarch = var.architecture == "arm64" ? "arm64" : "amd64"

  # One package per function, built by `make package`: the function's
  # bootstrap and the governance policy, side by side at the package root.
  packages = {
    detector      = "${var.artifacts_dir}/aws-detector/${local.goarch}/function.zip"
    remediator    = "${var.artifacts_dir}/aws-remediator/${local.goarch}/function.zip"
    interactivity = "${var.artifacts_dir}/aws-interactivity/${local.goarch}/function.zip"
  }

  # Lambda unpacks the package under /var/task.
  governance_file = "/var/task/governance.yaml"

  table_name = "${var.name_prefix}-posture"
}

locals {
  # Known before the role exists, so that infra/azure can be applied first
  # (README, "Azure").
  azure_function_role_name = "${var.name_prefix}-azure-function"
}
