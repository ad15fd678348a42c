# Aurora PostgreSQL holding business_events: one cluster, its instances, a cluster parameter group with
# logical replication on (the CDC connector reads the WAL through a replication slot), encryption with the
# environment's KMS key, and a master password that RDS generates and keeps in Secrets Manager.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  cluster_identifier = "${var.name_prefix}-aurora"
  family             = "aurora-postgresql${split(".", var.engine_version)[0]}"
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name_prefix}-aurora"
  description = "Private subnets of ${local.cluster_identifier}"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name_prefix}-aurora-"
  description = "PostgreSQL access to ${local.cluster_identifier}"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_security_group" {
  for_each = var.allowed_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = each.value
  tags                         = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_cidr" {
  for_each = toset(var.allowed_cidr_blocks)

  security_group_id = aws_security_group.this.id
  description       = "PostgreSQL from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = var.port
  to_port           = var.port
  cidr_ipv4         = each.value
  tags              = var.tags
}

# All static: they take effect at the writer's next reboot. The replication-setup flow checks that
# rds.logical_replication is applied before it creates the slot.
resource "aws_rds_cluster_parameter_group" "this" {
  name_prefix = "${var.name_prefix}-aurora-"
  family      = local.family
  description = "Logical replication for CDC on ${local.cluster_identifier}"
  tags        = var.tags

  # wal_level = logical, so that the connector can decode the WAL through a replication slot
  parameter {
    name         = "rds.logical_replication"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "max_replication_slots"
    value        = tostring(var.max_replication_slots)
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "max_wal_senders"
    value        = tostring(var.max_wal_senders)
    apply_method = "pending-reboot"
  }

  # TLS only: the connector uses sslmode=require, the flows and the producer API verify-full.
  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  # DDL and slow statements are logged; row data (event payloads) never is.
  parameter {
    name         = "log_statement"
    value        = "ddl"
    apply_method = "immediate"
  }

  parameter {
    name         = "log_min_duration_statement"
    value        = "1000"
    apply_method = "immediate"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_rds_cluster" "this" {
  #checkov:skip=CKV_AWS_139:deletion protection is the deletion_protection variable: the environments turn it on for prod only, so that dev and staging can be torn down
  #checkov:skip=CKV2_AWS_8:backups are Aurora's automated backups (backup_retention_days, point-in-time restore) plus a final snapshot on destroy; an AWS Backup plan is an account-level choice outside this module
  cluster_identifier                  = local.cluster_identifier
  engine                              = "aurora-postgresql"
  engine_mode                         = "provisioned"
  engine_version                      = var.engine_version
  database_name                       = var.database_name
  port                                = var.port
  master_username                     = var.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  iam_database_authentication_enabled = true
  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_arn
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this.name
  backup_retention_period             = var.backup_retention_days
  preferred_backup_window             = var.preferred_backup_window
  preferred_maintenance_window        = var.preferred_maintenance_window
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = "${local.cluster_identifier}-final"
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  apply_immediately                   = var.apply_immediately
  tags                                = var.tags
}

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name_prefix        = "${var.name_prefix}-rds-mon-"
  description        = "Enhanced Monitoring of ${local.cluster_identifier}"
  assume_role_policy = data.aws_iam_policy_document.monitoring_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "monitoring_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_rds_cluster_instance" "this" {
  count = var.instance_count

  identifier                            = "${local.cluster_identifier}-${count.index + 1}"
  cluster_identifier                    = aws_rds_cluster.this.id
  engine                                = aws_rds_cluster.this.engine
  engine_version                        = aws_rds_cluster.this.engine_version
  instance_class                        = var.instance_class
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  publicly_accessible                   = var.publicly_accessible
  auto_minor_version_upgrade            = true
  ca_cert_identifier                    = var.ca_cert_identifier
  copy_tags_to_snapshot                 = true
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_days
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null
  promotion_tier                        = count.index
  apply_immediately                     = var.apply_immediately
  tags                                  = var.tags
}

# What every flow on the Prefect worker needs to read this cluster: its state and endpoint (provision,
# database-autostart), its parameter group (replication-setup checks rds.logical_replication) and the master
# password (replication-setup, register-connectors). Attach it to the worker's role.
data "aws_iam_policy_document" "operator" {
  statement {
    sid       = "DescribeCluster"
    actions   = ["rds:DescribeDBClusters"]
    resources = [aws_rds_cluster.this.arn]
  }

  statement {
    sid       = "ReadReplicationParameters"
    actions   = ["rds:DescribeDBClusterParameters"]
    resources = [aws_rds_cluster_parameter_group.this.arn]
  }

  statement {
    sid       = "ReadMasterSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_rds_cluster.this.master_user_secret[0].secret_arn]
  }

  statement {
    sid       = "DecryptMasterSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "operator" {
  name_prefix = "${var.name_prefix}-aurora-operator-"
  description = "Read ${local.cluster_identifier}, its parameter group and its master secret (Prefect flows)"
  policy      = data.aws_iam_policy_document.operator.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "operator" {
  for_each = var.worker_role_names

  role       = each.value
  policy_arn = aws_iam_policy.operator.arn
}
