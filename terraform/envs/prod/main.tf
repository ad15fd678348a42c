# One cloud environment of the CDC pipeline. The three environments (dev, staging, prod) share this wiring
# word for word and differ only in terraform.tfvars and in the state backend given at init; a unit test
# (tests/unit/test_terraform_wiring.py) keeps the three copies identical.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name_prefix = "cdc-${var.environment}"
  tags = {
    project     = "cdc-pipeline"
    environment = var.environment
    managed-by  = "terraform"
  }

  # The architecture document's conditions: RDS Proxy whenever the producer API runs (unless turned off);
  # auto-stop and auto-start only with the producer API and never in prod.
  rds_proxy       = var.enable_producer_api && var.enable_rds_proxy
  auto_stop_start = var.enable_producer_api && var.environment != "prod"

  # The committed connector configurations (connectors/*.json at the repository's root).
  connector_config_dir = "${path.module}/../../../connectors"
}

# --- encryption key of the environment ------------------------------------------------------------------

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:a key policy's Resource "*" is this key itself; administration stays with the account, which delegates to IAM policies
  #checkov:skip=CKV_AWS_111:a key policy's Resource "*" is this key itself; write access is limited to the account and to CloudWatch Logs for this account's log groups
  #checkov:skip=CKV_AWS_356:a key policy's Resource "*" is this key itself, never other resources
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsThisAccountsLogGroups"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "CDC pipeline ${var.environment}: Aurora storage and secret, Performance Insights, Lambda environments, logs, queues"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# --- database -------------------------------------------------------------------------------------------

module "aurora" {
  source = "../../modules/aurora"

  name_prefix           = local.name_prefix
  vpc_id                = var.vpc_id
  subnet_ids            = var.private_subnet_ids
  kms_key_arn           = aws_kms_key.this.arn
  engine_version        = var.aurora_engine_version
  instance_class        = var.aurora_instance_class
  instance_count        = var.aurora_instance_count
  backup_retention_days = var.aurora_backup_retention_days
  deletion_protection   = var.environment == "prod"
  apply_immediately     = var.environment != "prod"
  publicly_accessible   = var.database_publicly_accessible
  allowed_cidr_blocks   = var.database_ingress_cidr_blocks
  worker_role_names     = var.worker_role_names
  tags                  = local.tags

  allowed_security_group_ids = merge(
    var.database_ingress_security_group_ids,
    local.rds_proxy ? { rds_proxy = module.rds_proxy[0].security_group_id } : {},
    var.enable_producer_api && !local.rds_proxy ? { producer_api = module.producer_api[0].security_group_id } : {},
  )
}

module "rds_proxy" {
  source = "../../modules/rds-proxy"
  count  = local.rds_proxy ? 1 : 0

  name_prefix                = local.name_prefix
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  db_cluster_identifier      = module.aurora.cluster_id
  db_secret_arn              = module.aurora.master_user_secret_arn
  kms_key_arn                = aws_kms_key.this.arn
  database_security_group_id = module.aurora.security_group_id
  database_port              = module.aurora.port
  client_security_group_ids  = { producer_api = module.producer_api[0].security_group_id }
  tags                       = local.tags
}

# --- inactivity shutdown and start on demand (never in prod) --------------------------------------------

module "aurora_auto_stop" {
  source = "../../modules/aurora-auto-stop"
  count  = local.auto_stop_start ? 1 : 0

  name_prefix       = local.name_prefix
  environment       = var.environment
  cluster_arn       = module.aurora.cluster_arn
  worker_role_names = var.worker_role_names
  tags              = local.tags
}

module "aurora_auto_start" {
  source = "../../modules/aurora-auto-start"
  count  = local.auto_stop_start ? 1 : 0

  name_prefix        = local.name_prefix
  environment        = var.environment
  cluster_id         = module.aurora.cluster_id
  cluster_arn        = module.aurora.cluster_arn
  package_zip        = var.lambda_package_zip
  architecture       = var.lambda_architecture
  kms_key_arn        = aws_kms_key.this.arn
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

# --- producer API ---------------------------------------------------------------------------------------

module "producer_api" {
  source = "../../modules/producer-api"
  count  = var.enable_producer_api ? 1 : 0

  name_prefix                = local.name_prefix
  environment                = var.environment
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  package_zip                = var.lambda_package_zip
  architecture               = var.lambda_architecture
  reserved_concurrency       = var.api_reserved_concurrency
  kms_key_arn                = aws_kms_key.this.arn
  log_retention_days         = var.log_retention_days
  database_host              = local.rds_proxy ? module.rds_proxy[0].endpoint : module.aurora.writer_endpoint
  database_cluster_endpoint  = module.aurora.writer_endpoint
  database_port              = module.aurora.port
  database_name              = module.aurora.database_name
  database_user              = module.aurora.master_username
  database_secret_arn        = module.aurora.master_user_secret_arn
  database_security_group_id = local.rds_proxy ? module.rds_proxy[0].security_group_id : module.aurora.security_group_id
  ca_bundle_path             = var.api_ca_bundle_path
  cluster_id                 = module.aurora.cluster_id
  cluster_arn                = module.aurora.cluster_arn
  start_with                 = local.auto_stop_start ? "function" : "none"
  autostart_function_name    = local.auto_stop_start ? module.aurora_auto_start[0].function_name : null
  autostart_function_arn     = local.auto_stop_start ? module.aurora_auto_start[0].function_arn : null
  authorization_type         = var.api_authorization_type
  manage_api_gateway_account = var.manage_api_gateway_account
  tags                       = local.tags
}

# --- Confluent Cloud ------------------------------------------------------------------------------------

# Only when terraform creates the connector: the connector's configuration needs the password itself. It
# then sits in the state (encrypted backend, sensitive everywhere); after RDS rotates the secret, apply again.
data "aws_secretsmanager_secret_version" "database" {
  count = var.manage_connector ? 1 : 0

  secret_id = module.aurora.master_user_secret_arn
}

module "confluent" {
  source = "../../modules/confluent"

  name_prefix          = local.name_prefix
  region               = coalesce(var.confluent_region, var.aws_region)
  kafka_cluster_type   = var.kafka_cluster_type
  kafka_availability   = var.kafka_availability
  flink_max_cfu        = var.flink_max_cfu
  manage_connector     = var.manage_connector
  connector_variant    = var.connector_variant
  connector_config_dir = local.connector_config_dir
  database_host        = module.aurora.writer_endpoint
  database_port        = module.aurora.port
  database_name        = module.aurora.database_name
  database_user        = module.aurora.master_username
  database_password    = var.manage_connector ? jsondecode(data.aws_secretsmanager_secret_version.database[0].secret_string)["password"] : null
}
