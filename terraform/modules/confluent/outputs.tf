output "organization_id" {
  description = "Confluent Cloud organization id (CDC_CONFLUENT_ORG_ID)."
  value       = data.confluent_organization.this.id
}

output "environment_id" {
  description = "Environment id, env-... (CDC_CONFLUENT_ENV_ID)."
  value       = confluent_environment.this.id
}

output "environment_name" {
  description = "Environment display name: the Flink catalog (CDC_FLINK_CATALOG)."
  value       = confluent_environment.this.display_name
}

output "kafka_cluster_id" {
  description = "Kafka cluster id, lkc-... (CDC_CONFLUENT_KAFKA_CLUSTER_ID)."
  value       = confluent_kafka_cluster.this.id
}

output "kafka_cluster_name" {
  description = "Kafka cluster display name: the Flink database (CDC_FLINK_DATABASE)."
  value       = confluent_kafka_cluster.this.display_name
}

output "kafka_bootstrap_servers" {
  description = "Bootstrap servers as host:port, without the SASL_SSL:// scheme (CDC_KAFKA_BOOTSTRAP)."
  value       = trimprefix(confluent_kafka_cluster.this.bootstrap_endpoint, "SASL_SSL://")
}

output "kafka_rest_endpoint" {
  description = "Kafka REST endpoint of the cluster."
  value       = confluent_kafka_cluster.this.rest_endpoint
}

output "schema_registry_url" {
  description = "Schema Registry endpoint (CDC_SCHEMA_REGISTRY_URL)."
  value       = data.confluent_schema_registry_cluster.this.rest_endpoint
}

output "flink_compute_pool_id" {
  description = "Flink compute pool id, lfcp-... (CDC_FLINK_COMPUTE_POOL_ID)."
  value       = confluent_flink_compute_pool.this.id
}

output "flink_cloud" {
  description = "Cloud of the Flink region (CDC_FLINK_CLOUD)."
  value       = var.cloud
}

output "flink_region" {
  description = "Flink region (CDC_FLINK_REGION)."
  value       = var.region
}

output "flink_rest_endpoint" {
  description = "Flink SQL statements endpoint of the region (CDC_FLINK_URL)."
  value       = data.confluent_flink_region.this.rest_endpoint
}

output "raw_topic_name" {
  description = "The raw topic."
  value       = confluent_kafka_topic.raw.topic_name
}

output "raw_topic_partitions" {
  description = "Partitions of the raw topic (CDC_RAW_TOPIC_PARTITIONS)."
  value       = confluent_kafka_topic.raw.partitions_count
}

output "raw_value_schema_id" {
  description = "Schema Registry id of the raw topic's JSON Schema."
  value       = confluent_schema.raw_value.schema_identifier
}

output "pipeline_service_account_id" {
  description = "Service account the Prefect flows act as."
  value       = confluent_service_account.pipeline.id
}

output "cloud_api_key" {
  description = "Cloud API key of the pipeline (CDC_CONFLUENT_CLOUD_API_KEY)."
  value       = confluent_api_key.pipeline_cloud.id
  sensitive   = true
}

output "cloud_api_secret" {
  description = "Cloud API secret of the pipeline (CDC_CONFLUENT_CLOUD_API_SECRET)."
  value       = confluent_api_key.pipeline_cloud.secret
  sensitive   = true
}

output "kafka_api_key" {
  description = "Kafka API key of the pipeline (CDC_KAFKA_API_KEY)."
  value       = confluent_api_key.pipeline_kafka.id
  sensitive   = true
}

output "kafka_api_secret" {
  description = "Kafka API secret of the pipeline (CDC_KAFKA_API_SECRET)."
  value       = confluent_api_key.pipeline_kafka.secret
  sensitive   = true
}

output "schema_registry_api_key" {
  description = "Schema Registry API key of the pipeline (CDC_SCHEMA_REGISTRY_API_KEY)."
  value       = confluent_api_key.pipeline_schema_registry.id
  sensitive   = true
}

output "schema_registry_api_secret" {
  description = "Schema Registry API secret of the pipeline (CDC_SCHEMA_REGISTRY_API_SECRET)."
  value       = confluent_api_key.pipeline_schema_registry.secret
  sensitive   = true
}

output "flink_api_key" {
  description = "Flink API key of the pipeline (CDC_FLINK_API_KEY)."
  value       = confluent_api_key.pipeline_flink.id
  sensitive   = true
}

output "flink_api_secret" {
  description = "Flink API secret of the pipeline (CDC_FLINK_API_SECRET)."
  value       = confluent_api_key.pipeline_flink.secret
  sensitive   = true
}

output "connector_variant" {
  description = "Connector variant the environment is meant to run (CDC_CONNECTOR_VARIANT)."
  value       = var.connector_variant
}

output "connector_name" {
  description = "Name of the managed CDC connector when manage_connector is set, else null (the flows register it)."
  value       = var.manage_connector ? confluent_connector.cdc[0].config_nonsensitive["name"] : null
}
