variable "name_prefix" {
  description = "Prefix of every name this module creates, e.g. cdc-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment the permissions are for. Never prod: a production database is never stopped for inactivity."
  type        = string

  validation {
    condition     = contains(["dev", "staging"], var.environment)
    error_message = "Auto-stop exists for dev and staging only, never for prod."
  }
}

variable "cluster_arn" {
  description = "ARN of the one Aurora cluster the database-autostop and database-autostart flows may stop and start."
  type        = string
}

variable "worker_role_names" {
  description = "IAM roles of the Prefect workers that run database-autostop / database-autostart; the policy is attached to each. Empty: attach the policy_arn output yourself."
  type        = set(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
