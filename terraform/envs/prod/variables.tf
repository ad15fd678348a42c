# Every value is in terraform.tfvars. No variable here holds a secret: the database password is generated
# by RDS into Secrets Manager, the Confluent API keys are created by terraform (and only leave it as
# sensitive outputs), and the providers' own credentials come from the environment (see versions.tf).
# Should a secret input ever be added, declare it `sensitive = true` with no default and pass it as
# TF_VAR_<name> from a secret store, never in terraform.tfvars.

variable "environment" {
  description = "Environment name: dev, staging or prod. Auto-stop and auto-start exist only outside prod; deletion protection only in prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment is dev, staging or prod."
  }
}

variable "aws_region" {
  description = "AWS region of Aurora, the proxy and the Lambdas (CDC_AWS_REGION)."
  type        = string
}

variable "confluent_region" {
  description = "Region of the Kafka cluster and the Flink compute pool on AWS; null: the same as aws_region."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "Existing VPC for Aurora, RDS Proxy and the producer API's Lambda."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of that VPC (two or more Availability Zones, with a NAT gateway or VPC endpoints for the AWS APIs)."
  type        = list(string)
}

variable "database_ingress_cidr_blocks" {
  description = "Extra IPv4 ranges allowed to reach Aurora: the Prefect worker, and the managed connector's egress addresses."
  type        = list(string)
  default     = []
}

variable "database_ingress_security_group_ids" {
  description = "Extra security groups allowed to reach Aurora (e.g. a Prefect worker in the VPC), by name."
  type        = map(string)
  default     = {}
}

variable "database_publicly_accessible" {
  description = "Give Aurora public addresses, for a managed connector that reaches it over the internet (then restrict database_ingress_cidr_blocks to the connector's egress addresses). Private networking to Confluent Cloud is the better choice for prod."
  type        = bool
  default     = false
}

variable "aurora_engine_version" {
  description = "Aurora PostgreSQL engine version."
  type        = string
  default     = "16.6"
}

variable "aurora_instance_class" {
  description = "Aurora instance class."
  type        = string
  default     = "db.r6g.large"
}

variable "aurora_instance_count" {
  description = "Aurora instances: 1 writer, plus readers that are failover targets."
  type        = number
  default     = 1
}

variable "aurora_backup_retention_days" {
  description = "Days Aurora keeps automated backups."
  type        = number
  default     = 7
}

variable "enable_producer_api" {
  description = "Deploy the producer API (Lambda behind API Gateway). Auto-stop and auto-start follow it, as the architecture document does: they rely on the API's traffic."
  type        = bool
  default     = true
}

variable "enable_rds_proxy" {
  description = "Put RDS Proxy between the producer API and Aurora (on by default whenever the producer API is deployed)."
  type        = bool
  default     = true
}

variable "lambda_package_zip" {
  description = "Path of the Lambda deployment package shared by the producer API and the auto-start function, built before terraform runs."
  type        = string
}

variable "lambda_architecture" {
  description = "Instruction set of the Lambdas; must match the wheels in the package."
  type        = string
  default     = "x86_64"
}

variable "api_reserved_concurrency" {
  description = "Concurrent executions reserved for the producer API."
  type        = number
  default     = 50
}

variable "api_authorization_type" {
  description = "Authorization of the producer API: AWS_IAM (SigV4) or NONE."
  type        = string
  default     = "AWS_IAM"
}

variable "api_ca_bundle_path" {
  description = "Where, in the Lambda's file system, the producer API finds the CA bundle it verifies the proxy's (Amazon Root CA) or Aurora's (RDS CA) certificate with (sslmode verify-full). The package carries it; null: not set."
  type        = string
  default     = "/var/task/certs/aws-db-ca-bundle.pem"
}

variable "manage_api_gateway_account" {
  description = "Let this environment set the account-wide API Gateway CloudWatch Logs role (exactly one configuration per account and region should)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the Lambdas' and the API's logs."
  type        = number
  default     = 365
}

variable "worker_role_names" {
  description = "IAM roles of the Prefect workers serving this environment; the flows' policies are attached to them. Empty: attach the *_policy_arn outputs yourself."
  type        = set(string)
  default     = []
}

variable "kafka_cluster_type" {
  description = "Confluent Kafka cluster type: basic or standard."
  type        = string
  default     = "basic"
}

variable "kafka_availability" {
  description = "Confluent Kafka availability: SINGLE_ZONE or MULTI_ZONE."
  type        = string
  default     = "SINGLE_ZONE"
}

variable "flink_max_cfu" {
  description = "Maximum CFUs of the Flink compute pool."
  type        = number
  default     = 5
}

variable "connector_variant" {
  description = "Managed CDC connector variant: v2-debezium, cdc-source-fixed or cdc-source-basic."
  type        = string
  default     = "v2-debezium"
}

variable "manage_connector" {
  description = "Let terraform create the CDC connector (reading the database password from the cluster's secret into state). Off: the register-connectors flow creates it after replication-setup."
  type        = bool
  default     = false
}
