terraform {
  # 1.5 for check blocks and optional object attributes with defaults.
  required_version = ">= 1.5.0"

  required_providers {
    # The only provider: the function packages are built by `make package`
    # (bootstrap + governance.yaml), so no archive provider is needed.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ app = "driftwatch", "driftwatch:deployment" = var.name_prefix }, var.tags)
  }
}
