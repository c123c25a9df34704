locals {
  # Storage account, Key Vault, function app and topic names are global (or
  # regional) namespaces: a subscription-derived suffix keeps two
  # deployments apart.
  suffix = substr(replace(var.subscription_id, "-", ""), 0, 8)

  # The package `make package-azure` builds: the custom handler `handler`
  # (linux/amd64: the Linux Consumption plan runs x64 only), host.json, one
  # folder per function and governance.yaml.
  package = "${var.artifacts_dir}/azure-function/amd64/function.zip"

  # Run from package mounts the package read-only at /home/site/wwwroot.
  governance_file = "/home/site/wwwroot/governance.yaml"

  # The function's routes (shared/azfunc ResourceEventsPath and
  # RemediationPath: the function folders of functions/azure under the
  # host's route prefix "api"): Event Grid delivers resource events to the
  # first and remediation requests to the second.
  events_url      = "https://${azurerm_linux_function_app.driftwatch.default_hostname}/api/resource-events"
  remediation_url = "https://${azurerm_linux_function_app.driftwatch.default_hostname}/api/remediation"

  tags = merge({ app = "driftwatch", "driftwatch:deployment" = var.name_prefix }, var.tags)
}
