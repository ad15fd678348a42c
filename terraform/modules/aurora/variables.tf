variable "name_prefix" {
  description = "Prefix of every name this module creates, e.g. cdc-dev. The cluster identifier is <name_prefix>-aurora."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC the cluster, its security group and its subnet group live in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "The VPC id must look like vpc-0123456789abcdef0 (replace the placeholder in terraform.tfvars)."
  }
}

variable "subnet_ids" {
  description = "Private subnets (at least two Availability Zones) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Give at least two subnet ids (subnet-...), in different Availability Zones."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the storage, the master user secret, Performance Insights and the exported logs."
  type        = string
}

variable "engine_version" {
  description = "Aurora PostgreSQL engine version; the parameter group family is derived from its major version."
  type        = string
  default     = "16.6"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "The engine version must look like 16.6."
  }
}

variable "instance_class" {
  description = "Instance class of every cluster instance. db.r6g.large has the memory (16 GiB, about 1,800 max_connections) of the db.r5.large the architecture document sizes RDS Proxy for."
  type        = string
  default     = "db.r6g.large"
}

variable "instance_count" {
  description = "Number of cluster instances: 1 is a writer only, 2 or more add readers that are failover targets."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 15
    error_message = "An Aurora cluster has 1 to 15 instances."
  }
}

variable "database_name" {
  description = "Database created in the cluster; it holds the business_events table."
  type        = string
  default     = "cdc"
}

variable "master_username" {
  description = "Master user. Its password is generated and rotated by RDS in Secrets Manager (never in Terraform state)."
  type        = string
  default     = "cdc_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username))
    error_message = "The master user name must start with a letter and hold only lowercase letters, digits and underscores."
  }
}

variable "port" {
  description = "PostgreSQL port of the cluster endpoints."
  type        = number
  default     = 5432
}

variable "deletion_protection" {
  description = "Refuse deletion of the cluster (the environments set it for prod)."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Destroy without a final snapshot. Leave false unless the data is disposable."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days automated backups are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "Aurora keeps automated backups for 1 to 35 days."
  }
}

variable "preferred_backup_window" {
  description = "Daily UTC window for automated backups (hh24:mi-hh24:mi)."
  type        = string
  default     = "02:00-03:00"
}

variable "preferred_maintenance_window" {
  description = "Weekly UTC maintenance window (ddd:hh24:mi-ddd:hh24:mi), outside the backup window."
  type        = string
  default     = "sun:04:00-sun:05:00"
}

variable "apply_immediately" {
  description = "Apply modifications at once instead of in the maintenance window."
  type        = bool
  default     = false
}

variable "publicly_accessible" {
  description = "Give the instances public addresses. Only for a managed CDC connector that reaches the database over the internet; restrict allowed_cidr_blocks to the connector's egress addresses then."
  type        = bool
  default     = false
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the database port, by a name known at plan time (e.g. rds_proxy, producer_api)."
  type        = map(string)
  default     = {}
}

variable "allowed_cidr_blocks" {
  description = "IPv4 ranges allowed to connect on the database port (e.g. the Prefect worker, the managed connector's egress addresses)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.allowed_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Give valid IPv4 CIDR blocks; 0.0.0.0/0 is refused."
  }
}

variable "max_replication_slots" {
  description = "max_replication_slots in the cluster parameter group (the architecture document uses 10)."
  type        = number
  default     = 10
}

variable "max_wal_senders" {
  description = "max_wal_senders in the cluster parameter group (the architecture document uses 10)."
  type        = number
  default     = 10
}

variable "performance_insights_retention_days" {
  description = "Days Performance Insights keeps its data (7 is the free tier; otherwise a multiple of 31, up to 731)."
  type        = number
  default     = 7
}

variable "monitoring_interval" {
  description = "Enhanced Monitoring interval in seconds; 0 turns it off (and creates no monitoring role)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "Enhanced Monitoring intervals are 0, 1, 5, 10, 15, 30 or 60 seconds."
  }
}

variable "ca_cert_identifier" {
  description = "Certificate authority of the instances' server certificates (clients verify it with the RDS CA bundle)."
  type        = string
  default     = "rds-ca-rsa2048-g1"
}

variable "worker_role_names" {
  description = "IAM roles of the Prefect workers serving this environment; the operator policy is attached to each. Empty: attach the operator_policy_arn output yourself."
  type        = set(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
