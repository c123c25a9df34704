terraform {
  # 1.6 for the validation rules that refer to other variables (variables.tf)
  # and optional object attributes with defaults.
  required_version = ">= 1.6.0"

  required_providers {
    # 6.10 or later for google_cloud_run_v2_service's invoker_iam_disabled.
    google = {
      source  = "hashicorp/google"
      version = "~> 6.10"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge({ app = "driftwatch", "driftwatch-deployment" = var.name_prefix }, var.labels)
}
