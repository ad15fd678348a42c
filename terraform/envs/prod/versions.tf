terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
    confluent = {
      source  = "confluentinc/confluent"
      version = "~> 2.10"
    }
  }

  # Partial configuration: the state bucket, key, region and lock table are not committed. Supply them at
  # init, e.g. `tofu init -backend-config=backend.hcl` with bucket, key, region, dynamodb_table and
  # encrypt = true in backend.hcl (one state per environment).
  backend "s3" {}
}

# Credentials come from the standard chains, never from a file in this repository:
# AWS from AWS_PROFILE / AWS_ACCESS_KEY_ID... or the runner's role; Confluent Cloud from
# CONFLUENT_CLOUD_API_KEY / CONFLUENT_CLOUD_API_SECRET (a Cloud API key of an OrganizationAdmin service
# account, kept in a secret store and exported by whoever runs terraform).
provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

provider "confluent" {}
