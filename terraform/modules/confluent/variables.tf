variable "name_prefix" {
  description = "Prefix of every display name this module creates, e.g. cdc-dev. The environment is <name_prefix> and the Kafka cluster <name_prefix>-kafka: Flink sees them as catalog and database."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "cloud" {
  description = "Cloud of the Kafka cluster and the Flink compute pool (keep it next to Aurora)."
  type        = string
  default     = "AWS"

  validation {
    condition     = contains(["AWS", "GCP", "AZURE"], var.cloud)
    error_message = "cloud is AWS, GCP or AZURE."
  }
}

variable "region" {
  description = "Region of the Kafka cluster and the Flink compute pool, e.g. us-east-1."
  type        = string
}

variable "stream_governance_package" {
  description = "Stream Governance package of the environment; it provisions the Schema Registry the raw topic's JSON Schema is registered in."
  type        = string
  default     = "ESSENTIALS"

  validation {
    condition     = contains(["ESSENTIALS", "ADVANCED"], var.stream_governance_package)
    error_message = "stream_governance_package is ESSENTIALS or ADVANCED."
  }
}

variable "kafka_cluster_type" {
  description = "Kafka cluster type: basic or standard (a dedicated cluster needs capacity and networking choices this module does not make)."
  type        = string
  default     = "basic"

  validation {
    condition     = contains(["basic", "standard"], var.kafka_cluster_type)
    error_message = "kafka_cluster_type is basic or standard."
  }
}

variable "kafka_availability" {
  description = "SINGLE_ZONE or MULTI_ZONE (MULTI_ZONE needs a standard cluster)."
  type        = string
  default     = "SINGLE_ZONE"

  validation {
    condition     = contains(["SINGLE_ZONE", "MULTI_ZONE"], var.kafka_availability)
    error_message = "kafka_availability is SINGLE_ZONE or MULTI_ZONE."
  }
}

variable "raw_topic_name" {
  description = "Topic the CDC connector writes to."
  type        = string
  default     = "raw-business-events"
}

variable "raw_topic_partitions" {
  description = "Partitions of the raw topic (the architecture document uses 3)."
  type        = number
  default     = 3

  validation {
    condition     = var.raw_topic_partitions >= 1
    error_message = "A topic has at least one partition."
  }
}

variable "raw_topic_retention_ms" {
  description = "Retention of the raw topic in milliseconds (default 7 days)."
  type        = number
  default     = 604800000
}

variable "filtered_topic_prefix" {
  description = "Prefix of the filtered topics. Flink creates them (CREATE TABLE IF NOT EXISTS with their schemas), so they are not created here; the pipeline's role bindings cover their subjects."
  type        = string
  default     = "filtered-"
}

variable "flink_max_cfu" {
  description = "Maximum Confluent Flink Units of the compute pool the routing statement runs in."
  type        = number
  default     = 5

  validation {
    condition     = contains([5, 10, 20, 30, 40, 50], var.flink_max_cfu)
    error_message = "flink_max_cfu is one of 5, 10, 20, 30, 40, 50."
  }
}

variable "manage_connector" {
  description = "Create the managed CDC connector here. Off by default: the register-connectors and migrate-connector flows own the connector, and it can only start after the replication-setup flow has created the publication."
  type        = bool
  default     = false
}

variable "connector_variant" {
  description = "Managed connector variant (connectors/variants.py): v2-debezium, cdc-source-fixed or cdc-source-basic. Its committed JSON file under connectors/ is the configuration."
  type        = string
  default     = "v2-debezium"

  validation {
    condition     = contains(["v2-debezium", "cdc-source-fixed", "cdc-source-basic"], var.connector_variant)
    error_message = "connector_variant is v2-debezium, cdc-source-fixed or cdc-source-basic (debezium runs on a self-managed Connect worker, not here)."
  }
}

variable "connector_config_dir" {
  description = "Folder of the committed connector configurations (the repository's connectors/)."
  type        = string
}

variable "database_host" {
  description = "Aurora cluster (writer) endpoint the connector reads the WAL from; never the proxy."
  type        = string
}

variable "database_port" {
  description = "Database port."
  type        = number
  default     = 5432
}

variable "database_name" {
  description = "Database holding business_events."
  type        = string
}

variable "database_user" {
  description = "Database user of the connector (needs the rds_replication role)."
  type        = string
}

variable "database_password" {
  description = "Password of database_user; only read when manage_connector is true. Never put it in a tfvars file."
  type        = string
  default     = null
  sensitive   = true
}
