# dev: a small, stoppable environment. No secret belongs in this file: the providers read their credentials
# from the environment (AWS_* / CONFLUENT_CLOUD_API_KEY and CONFLUENT_CLOUD_API_SECRET), and a secret input,
# should one be added, comes as TF_VAR_<name> from a secret store.

environment = "dev"
aws_region  = "us-east-1"

# The account's network: replace these placeholders (the modules refuse them until you do).
vpc_id             = "vpc-REPLACE_ME"
private_subnet_ids = ["subnet-REPLACE_ME_A", "subnet-REPLACE_ME_B"]

# The Prefect worker's address and the managed connector's egress addresses (Confluent Cloud lists them for
# the cluster), when they reach Aurora from outside the VPC.
database_ingress_cidr_blocks = []
database_publicly_accessible = false

aurora_instance_class        = "db.t4g.medium"
aurora_instance_count        = 1
aurora_backup_retention_days = 1

enable_producer_api      = true
enable_rds_proxy         = true
api_reserved_concurrency = 10

# Built before terraform runs (relative to this folder); shared by the producer API and the auto-start function.
lambda_package_zip  = "../../../.state/lambda/cdc-lambda.zip"
lambda_architecture = "x86_64"

kafka_cluster_type = "basic"
kafka_availability = "SINGLE_ZONE"
flink_max_cfu      = 5

connector_variant = "v2-debezium"
manage_connector  = false
