variable "name_prefix" {
  description = "Prefix of every name this module creates, e.g. cdc-dev. The proxy is <name_prefix>-proxy."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the Aurora cluster; the proxy and its security group live there."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the proxy (at least two Availability Zones)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "RDS Proxy needs subnets in at least two Availability Zones."
  }
}

variable "db_cluster_identifier" {
  description = "Identifier of the Aurora cluster the proxy pools connections to."
  type        = string
}

variable "db_secret_arn" {
  description = "Secrets Manager secret (JSON with username and password) the proxy logs in with: the cluster's RDS-managed master secret."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secret; the proxy's role may decrypt with it through Secrets Manager only."
  type        = string
}

variable "database_security_group_id" {
  description = "Security group of the Aurora cluster: the proxy's only egress destination."
  type        = string
}

variable "database_port" {
  description = "PostgreSQL port of the cluster and of the proxy."
  type        = number
  default     = 5432
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect to the proxy, by a name known at plan time (e.g. producer_api)."
  type        = map(string)
  default     = {}
}

variable "max_connections_percent" {
  description = "Share of the cluster's max_connections the proxy may open (80: 20% stays free for admin sessions and the CDC connector)."
  type        = number
  default     = 80

  validation {
    condition     = var.max_connections_percent >= 1 && var.max_connections_percent <= 100
    error_message = "max_connections_percent is 1 to 100."
  }
}

variable "max_idle_connections_percent" {
  description = "Share of the cluster's max_connections the proxy keeps open while idle, for bursts."
  type        = number
  default     = 50

  validation {
    condition     = var.max_idle_connections_percent >= 0 && var.max_idle_connections_percent <= 100
    error_message = "max_idle_connections_percent is 0 to 100."
  }
}

variable "connection_borrow_timeout" {
  description = "Seconds a client waits for a pooled connection before the proxy refuses it."
  type        = number
  default     = 120

  validation {
    condition     = var.connection_borrow_timeout >= 0 && var.connection_borrow_timeout <= 3600
    error_message = "connection_borrow_timeout is 0 to 3600 seconds."
  }
}

variable "idle_client_timeout" {
  description = "Seconds an idle client connection is kept before the proxy closes it."
  type        = number
  default     = 1800
}

variable "iam_auth" {
  description = "IAM authentication of clients: DISABLED (the producer API logs in with the password from the secret) or REQUIRED."
  type        = string
  default     = "DISABLED"

  validation {
    condition     = contains(["DISABLED", "REQUIRED"], var.iam_auth)
    error_message = "iam_auth is DISABLED or REQUIRED."
  }
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
