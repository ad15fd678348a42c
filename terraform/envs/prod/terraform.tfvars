# prod: never stopped (no auto-stop, no auto-start), deletion protection on, a reader instance as failover
# target. No secret belongs in this file: the providers read their credentials from the environment (AWS_* /
# CONFLUENT_CLOUD_API_KEY and CONFLUENT_CLOUD_API_SECRET), and a secret input, should one be added, comes as
# TF_VAR_<name> from a secret store.

environment = "prod"
aws_region  = "us-east-1"

# The account's network: replace these placeholders (the modules refuse them until you do).
vpc_id             = "vpc-REPLACE_ME"
private_subnet_ids = ["subnet-REPLACE_ME_A", "subnet-REPLACE_ME_B", "subnet-REPLACE_ME_C"]

# The Prefect worker's address and the managed connector's egress addresses (Confluent Cloud lists them for
# the cluster), when they reach Aurora from outside the VPC. Prefer private networking to Confluent Cloud.
database_ingress_cidr_blocks = []
database_publicly_accessible = false

# The architecture document sizes RDS Proxy for a db.r5.large (about 1,800 max_connections); db.r6g.large
# has the same memory and so the same connection limit.
aurora_instance_class        = "db.r6g.large"
aurora_instance_count        = 2
aurora_backup_retention_days = 14

enable_producer_api      = true
enable_rds_proxy         = true
api_reserved_concurrency = 200

# Built before terraform runs (relative to this folder).
lambda_package_zip  = "../../../.state/lambda/cdc-lambda.zip"
lambda_architecture = "x86_64"

kafka_cluster_type = "standard"
kafka_availability = "MULTI_ZONE"
flink_max_cfu      = 10

connector_variant = "v2-debezium"
manage_connector  = false
