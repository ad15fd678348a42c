variable "name_prefix" {
  description = "Prefix of every name this module creates, e.g. cdc-dev. The function is <name_prefix>-aurora-auto-start."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment the function serves. Never prod: a production database is never stopped, so nothing starts it on demand."
  type        = string

  validation {
    condition     = contains(["dev", "staging"], var.environment)
    error_message = "Auto-start exists for dev and staging only, never for prod."
  }
}

variable "cluster_id" {
  description = "Identifier of the one Aurora cluster the function may start (CDC_AURORA_CLUSTER_ID in its environment)."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of that cluster, for the function's IAM policy."
  type        = string
}

variable "package_zip" {
  description = "Path of the Lambda deployment package (a zip with the api, environments and pipeline packages and their dependencies), built before terraform runs."
  type        = string
}

variable "handler" {
  description = "Python handler of the function."
  type        = string
  default     = "api.autostart_handler.handler"
}

variable "runtime" {
  description = "Lambda runtime; must match the Python the package was built for."
  type        = string
  default     = "python3.11"
}

variable "architecture" {
  description = "Instruction set of the function; must match the wheels in the package."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture is x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of one invocation in seconds (DescribeDBClusters plus StartDBCluster)."
  type        = number
  default     = 30
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function: one start request at a time is enough."
  type        = number
  default     = 1

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "Reserve at least one concurrent execution (0 would disable the function)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the function's environment, its log group and its dead-letter queue."
  type        = string
}

variable "log_retention_days" {
  description = "Days the function's CloudWatch logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Use a retention CloudWatch Logs accepts (e.g. 30, 90, 365)."
  }
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration to enforce, when the organisation signs its packages; null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
