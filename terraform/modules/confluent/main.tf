# Confluent Cloud for one environment: the environment (with Stream Governance, hence a Schema Registry),
# a Kafka cluster, the raw topic and its JSON Schema, a Flink compute pool, the `pipeline` service account
# the Prefect flows act as (its Cloud, Kafka, Schema Registry and Flink API keys map onto the CDC_* settings)
# and, when manage_connector is set, the managed CDC connector of the chosen variant with its own service
# account.
#
# The filtered-* topics are not created here: the routing statement creates them with CREATE TABLE IF NOT
# EXISTS, which also registers their schemas. A topic created beforehand without a schema would be inferred
# as raw bytes, and IF NOT EXISTS would then keep that wrong table.

data "confluent_organization" "this" {}

resource "confluent_environment" "this" {
  display_name = var.name_prefix

  stream_governance {
    package = var.stream_governance_package
  }
}

resource "confluent_kafka_cluster" "this" {
  display_name = "${var.name_prefix}-kafka"
  availability = var.kafka_availability
  cloud        = var.cloud
  region       = var.region

  dynamic "basic" {
    for_each = var.kafka_cluster_type == "basic" ? [1] : []
    content {}
  }

  dynamic "standard" {
    for_each = var.kafka_cluster_type == "standard" ? [1] : []
    content {}
  }

  environment {
    id = confluent_environment.this.id
  }

  lifecycle {
    precondition {
      condition     = !(var.kafka_cluster_type == "basic" && var.kafka_availability == "MULTI_ZONE")
      error_message = "A basic Kafka cluster is single-zone only: use standard for MULTI_ZONE."
    }
  }
}

# Provisioned with the environment's Stream Governance package, once the environment has a cluster.
data "confluent_schema_registry_cluster" "this" {
  environment {
    id = confluent_environment.this.id
  }

  depends_on = [confluent_kafka_cluster.this]
}

data "confluent_flink_region" "this" {
  cloud  = var.cloud
  region = var.region
}

resource "confluent_flink_compute_pool" "this" {
  display_name = "${var.name_prefix}-flink"
  cloud        = var.cloud
  region       = var.region
  max_cfu      = var.flink_max_cfu

  environment {
    id = confluent_environment.this.id
  }
}

# --- the pipeline's identity: what the Prefect flows act as ---------------------------------------------

resource "confluent_service_account" "pipeline" {
  display_name = "${var.name_prefix}-pipeline"
  description  = "Prefect flows of ${var.name_prefix}: topics, connectors, Flink statements, schemas"
}

locals {
  pipeline_principal = "User:${confluent_service_account.pipeline.id}"
  sr_crn             = data.confluent_schema_registry_cluster.this.resource_name
  topic_crn          = "${confluent_kafka_cluster.this.rbac_crn}/kafka=${confluent_kafka_cluster.this.id}/topic="

  # Schema subjects the pipeline owns: the raw topic's, and the filtered topics' that Flink registers.
  pipeline_subjects = {
    raw      = "${local.sr_crn}/subject=${var.raw_topic_name}-*"
    filtered = "${local.sr_crn}/subject=${var.filtered_topic_prefix}*"
  }
}

# Topics, consumer groups and managed connectors of this one cluster (the Connect API needs a cluster role).
resource "confluent_role_binding" "pipeline_cluster" {
  principal   = local.pipeline_principal
  role_name   = "CloudClusterAdmin"
  crn_pattern = confluent_kafka_cluster.this.rbac_crn
}

# Flink statements in this environment (they run as this account: it needs no Assigner role).
resource "confluent_role_binding" "pipeline_flink" {
  principal   = local.pipeline_principal
  role_name   = "FlinkDeveloper"
  crn_pattern = confluent_environment.this.resource_name
}

resource "confluent_role_binding" "pipeline_subjects" {
  for_each = local.pipeline_subjects

  principal   = local.pipeline_principal
  role_name   = "ResourceOwner"
  crn_pattern = each.value
}

# Cloud API key: managed Connect REST (CDC_CONFLUENT_CLOUD_API_KEY).
resource "confluent_api_key" "pipeline_cloud" {
  display_name = "${var.name_prefix}-pipeline-cloud"
  description  = "Cloud API key of ${var.name_prefix}-pipeline (managed Connect)"

  owner {
    id          = confluent_service_account.pipeline.id
    api_version = confluent_service_account.pipeline.api_version
    kind        = confluent_service_account.pipeline.kind
  }

  depends_on = [confluent_role_binding.pipeline_cluster]
}

# Kafka API key: topics, smoke tests and consumers over SASL_SSL (CDC_KAFKA_API_KEY).
resource "confluent_api_key" "pipeline_kafka" {
  display_name = "${var.name_prefix}-pipeline-kafka"
  description  = "Kafka API key of ${var.name_prefix}-pipeline"

  owner {
    id          = confluent_service_account.pipeline.id
    api_version = confluent_service_account.pipeline.api_version
    kind        = confluent_service_account.pipeline.kind
  }

  managed_resource {
    id          = confluent_kafka_cluster.this.id
    api_version = confluent_kafka_cluster.this.api_version
    kind        = confluent_kafka_cluster.this.kind

    environment {
      id = confluent_environment.this.id
    }
  }

  depends_on = [confluent_role_binding.pipeline_cluster]
}

# Schema Registry API key (CDC_SCHEMA_REGISTRY_API_KEY).
resource "confluent_api_key" "pipeline_schema_registry" {
  display_name = "${var.name_prefix}-pipeline-schema-registry"
  description  = "Schema Registry API key of ${var.name_prefix}-pipeline"

  owner {
    id          = confluent_service_account.pipeline.id
    api_version = confluent_service_account.pipeline.api_version
    kind        = confluent_service_account.pipeline.kind
  }

  managed_resource {
    id          = data.confluent_schema_registry_cluster.this.id
    api_version = data.confluent_schema_registry_cluster.this.api_version
    kind        = data.confluent_schema_registry_cluster.this.kind

    environment {
      id = confluent_environment.this.id
    }
  }

  depends_on = [confluent_role_binding.pipeline_subjects]
}

# Flink API key of the region (CDC_FLINK_API_KEY).
resource "confluent_api_key" "pipeline_flink" {
  display_name = "${var.name_prefix}-pipeline-flink"
  description  = "Flink API key of ${var.name_prefix}-pipeline"

  owner {
    id          = confluent_service_account.pipeline.id
    api_version = confluent_service_account.pipeline.api_version
    kind        = confluent_service_account.pipeline.kind
  }

  managed_resource {
    id          = data.confluent_flink_region.this.id
    api_version = data.confluent_flink_region.this.api_version
    kind        = data.confluent_flink_region.this.kind

    environment {
      id = confluent_environment.this.id
    }
  }

  depends_on = [confluent_role_binding.pipeline_flink]
}

# --- the raw topic and its schema -------------------------------------------------------------------------

resource "confluent_kafka_topic" "raw" {
  topic_name       = var.raw_topic_name
  partitions_count = var.raw_topic_partitions
  rest_endpoint    = confluent_kafka_cluster.this.rest_endpoint

  kafka_cluster {
    id = confluent_kafka_cluster.this.id
  }

  config = {
    "cleanup.policy" = "delete"
    "retention.ms"   = tostring(var.raw_topic_retention_ms)
  }

  credentials {
    key    = confluent_api_key.pipeline_kafka.id
    secret = confluent_api_key.pipeline_kafka.secret
  }
}

# Flink's json-registry tables read the connector's plain JSON once a JSON Schema is registered under
# <topic>-value. The file is environments/confluent/schemas.py's raw_topic_json_schema(); a unit test
# (tests/unit/test_terraform_wiring.py) fails when the two differ.
resource "confluent_schema" "raw_value" {
  subject_name  = "${confluent_kafka_topic.raw.topic_name}-value"
  format        = "JSON"
  schema        = file("${path.module}/schemas/raw-business-events-value.json")
  rest_endpoint = data.confluent_schema_registry_cluster.this.rest_endpoint

  schema_registry_cluster {
    id = data.confluent_schema_registry_cluster.this.id
  }

  credentials {
    key    = confluent_api_key.pipeline_schema_registry.id
    secret = confluent_api_key.pipeline_schema_registry.secret
  }
}

# --- the managed CDC connector (optional, see manage_connector) -------------------------------------------

locals {
  # connectors/variants.py: the managed variants and their committed configuration files
  connector_files = {
    "v2-debezium"      = "postgres-cdc-source-v2-debezium-business-events-confluent-cloud.json"
    "cdc-source-fixed" = "postgres-cdc-source-business-events-confluent-cloud-fixed.json"
    "cdc-source-basic" = "postgres-cdc-source-business-events-confluent-cloud.json"
  }

  connector_template = var.manage_connector ? jsondecode(file("${var.connector_config_dir}/${local.connector_files[var.connector_variant]}")) : {}

  # The committed files hold ${env:NAME} placeholders; the plain ones are filled here. The Kafka credentials
  # are replaced by the connector's own service account, the password goes to config_sensitive.
  connector_values = {
    "$${env:CDC_DB_HOST}" = var.database_host
    "$${env:CDC_DB_USER}" = var.database_user
    "$${env:CDC_DB_NAME}" = var.database_name
  }
  connector_dropped_keys = ["kafka.auth.mode", "kafka.api.key", "kafka.api.secret", "database.password"]

  connector_config = merge(
    {
      for key, value in local.connector_template : key => lookup(local.connector_values, value, value)
      if !contains(local.connector_dropped_keys, key)
    },
    {
      "database.port" = tostring(var.database_port)
    },
    var.manage_connector ? {
      "kafka.auth.mode"          = "SERVICE_ACCOUNT"
      "kafka.service.account.id" = confluent_service_account.connector[0].id
    } : {},
  )
}

resource "confluent_service_account" "connector" {
  count = var.manage_connector ? 1 : 0

  display_name = "${var.name_prefix}-cdc-connector"
  description  = "Managed CDC connector of ${var.name_prefix}: writes the raw topic"
}

locals {
  # What a managed source connector needs (Confluent's connector ACL list): describe the cluster, create and
  # write its topic and Debezium's heartbeat topic (__debezium-heartbeat.<topic prefix>).
  connector_acls = var.manage_connector ? {
    describe_cluster = { resource_type = "CLUSTER", resource_name = "kafka-cluster", pattern_type = "LITERAL", operation = "DESCRIBE" }
    write_raw        = { resource_type = "TOPIC", resource_name = var.raw_topic_name, pattern_type = "LITERAL", operation = "WRITE" }
    create_raw       = { resource_type = "TOPIC", resource_name = var.raw_topic_name, pattern_type = "LITERAL", operation = "CREATE" }
    write_heartbeat  = { resource_type = "TOPIC", resource_name = "__debezium-heartbeat", pattern_type = "PREFIXED", operation = "WRITE" }
    create_heartbeat = { resource_type = "TOPIC", resource_name = "__debezium-heartbeat", pattern_type = "PREFIXED", operation = "CREATE" }
  } : {}
}

resource "confluent_kafka_acl" "connector" {
  for_each = local.connector_acls

  resource_type = each.value.resource_type
  resource_name = each.value.resource_name
  pattern_type  = each.value.pattern_type
  principal     = "User:${confluent_service_account.connector[0].id}"
  host          = "*"
  operation     = each.value.operation
  permission    = "ALLOW"
  rest_endpoint = confluent_kafka_cluster.this.rest_endpoint

  kafka_cluster {
    id = confluent_kafka_cluster.this.id
  }

  credentials {
    key    = confluent_api_key.pipeline_kafka.id
    secret = confluent_api_key.pipeline_kafka.secret
  }
}

resource "confluent_connector" "cdc" {
  count = var.manage_connector ? 1 : 0

  config_nonsensitive = local.connector_config

  config_sensitive = {
    "database.password" = var.database_password
  }

  environment {
    id = confluent_environment.this.id
  }

  kafka_cluster {
    id = confluent_kafka_cluster.this.id
  }

  lifecycle {
    precondition {
      condition     = var.database_password != null
      error_message = "manage_connector needs the database password (the environments read it from the cluster's secret)."
    }
    precondition {
      condition     = alltrue([for value in values(local.connector_config) : length(regexall("[$][{]env:", value)) == 0])
      error_message = "The connector file still holds an env: placeholder this module does not fill."
    }
  }

  depends_on = [
    confluent_kafka_acl.connector,
    confluent_schema.raw_value,
  ]
}
