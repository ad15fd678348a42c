# One output per CDC_* setting the flows read (environments/settings.py, CLOUD_VARIABLES and CLOUD_OPTIONAL):
# output cdc_<name> is setting CDC_<NAME>. Secrets are sensitive: read them with `tofu output -json` (or
# -raw NAME) straight into Prefect Secret blocks cdc-<environment>-<name>, never into a file in the repo.

output "cdc_confluent_org_id" {
  description = "CDC_CONFLUENT_ORG_ID"
  value       = module.confluent.organization_id
}

output "cdc_confluent_env_id" {
  description = "CDC_CONFLUENT_ENV_ID"
  value       = module.confluent.environment_id
}

output "cdc_confluent_kafka_cluster_id" {
  description = "CDC_CONFLUENT_KAFKA_CLUSTER_ID"
  value       = module.confluent.kafka_cluster_id
}

output "cdc_confluent_cloud_api_key" {
  description = "CDC_CONFLUENT_CLOUD_API_KEY"
  value       = module.confluent.cloud_api_key
  sensitive   = true
}

output "cdc_confluent_cloud_api_secret" {
  description = "CDC_CONFLUENT_CLOUD_API_SECRET"
  value       = module.confluent.cloud_api_secret
  sensitive   = true
}

output "cdc_flink_api_key" {
  description = "CDC_FLINK_API_KEY"
  value       = module.confluent.flink_api_key
  sensitive   = true
}

output "cdc_flink_api_secret" {
  description = "CDC_FLINK_API_SECRET"
  value       = module.confluent.flink_api_secret
  sensitive   = true
}

output "cdc_flink_region" {
  description = "CDC_FLINK_REGION"
  value       = module.confluent.flink_region
}

output "cdc_flink_cloud" {
  description = "CDC_FLINK_CLOUD"
  value       = module.confluent.flink_cloud
}

output "cdc_flink_compute_pool_id" {
  description = "CDC_FLINK_COMPUTE_POOL_ID"
  value       = module.confluent.flink_compute_pool_id
}

output "cdc_flink_catalog" {
  description = "CDC_FLINK_CATALOG (the environment's display name)"
  value       = module.confluent.environment_name
}

output "cdc_flink_database" {
  description = "CDC_FLINK_DATABASE (the Kafka cluster's display name)"
  value       = module.confluent.kafka_cluster_name
}

output "cdc_flink_url" {
  description = "CDC_FLINK_URL (the region's Flink endpoint; the flows derive the same from region and cloud)"
  value       = module.confluent.flink_rest_endpoint
}

output "cdc_schema_registry_url" {
  description = "CDC_SCHEMA_REGISTRY_URL"
  value       = module.confluent.schema_registry_url
}

output "cdc_schema_registry_api_key" {
  description = "CDC_SCHEMA_REGISTRY_API_KEY"
  value       = module.confluent.schema_registry_api_key
  sensitive   = true
}

output "cdc_schema_registry_api_secret" {
  description = "CDC_SCHEMA_REGISTRY_API_SECRET"
  value       = module.confluent.schema_registry_api_secret
  sensitive   = true
}

output "cdc_kafka_bootstrap" {
  description = "CDC_KAFKA_BOOTSTRAP"
  value       = module.confluent.kafka_bootstrap_servers
}

output "cdc_kafka_api_key" {
  description = "CDC_KAFKA_API_KEY"
  value       = module.confluent.kafka_api_key
  sensitive   = true
}

output "cdc_kafka_api_secret" {
  description = "CDC_KAFKA_API_SECRET"
  value       = module.confluent.kafka_api_secret
  sensitive   = true
}

output "cdc_raw_topic_partitions" {
  description = "CDC_RAW_TOPIC_PARTITIONS"
  value       = module.confluent.raw_topic_partitions
}

output "cdc_connector_variant" {
  description = "CDC_CONNECTOR_VARIANT"
  value       = module.confluent.connector_variant
}

output "cdc_aws_region" {
  description = "CDC_AWS_REGION"
  value       = var.aws_region
}

output "cdc_aurora_cluster_id" {
  description = "CDC_AURORA_CLUSTER_ID"
  value       = module.aurora.cluster_id
}

output "cdc_db_host" {
  description = "CDC_DB_HOST (the cluster's writer endpoint: CDC and the flows never go through the proxy)"
  value       = module.aurora.writer_endpoint
}

output "cdc_db_port" {
  description = "CDC_DB_PORT"
  value       = module.aurora.port
}

output "cdc_db_name" {
  description = "CDC_DB_NAME"
  value       = module.aurora.database_name
}

output "cdc_db_user" {
  description = "CDC_DB_USER"
  value       = module.aurora.master_username
}

output "cdc_db_secret_arn" {
  description = "CDC_DB_SECRET_ARN (the RDS-managed secret holding the password; the ARN itself is not secret)"
  value       = module.aurora.master_user_secret_arn
}

output "cdc_api_db_host" {
  description = "CDC_API_DB_HOST of the producer API (the proxy endpoint, or the writer endpoint without a proxy); null without the API"
  value       = var.enable_producer_api ? (local.rds_proxy ? module.rds_proxy[0].endpoint : module.aurora.writer_endpoint) : null
}

output "cdc_api_name" {
  description = "CDC_API_NAME: the REST API whose CloudWatch Count the database-autostop flow reads; null without the API"
  value       = var.enable_producer_api ? module.producer_api[0].api_name : null
}

output "cdc_aurora_autostart_function" {
  description = "CDC_AURORA_AUTOSTART_FUNCTION; null in prod (nothing is stopped there, so nothing starts on demand)"
  value       = local.auto_stop_start ? module.aurora_auto_start[0].function_name : null
}

output "producer_api_url" {
  description = "Base URL of the producer API stage (events go to POST <url>/events); null without the API"
  value       = var.enable_producer_api ? module.producer_api[0].invoke_url : null
}

output "kms_key_arn" {
  description = "The environment's KMS key (Aurora, its secret, Lambda environments, logs, queues)"
  value       = aws_kms_key.this.arn
}

output "worker_policy_arns" {
  description = "IAM policies a Prefect worker serving this environment needs (attached to worker_role_names already)"
  value       = compact([module.aurora.operator_policy_arn, try(module.aurora_auto_stop[0].policy_arn, "")])
}
