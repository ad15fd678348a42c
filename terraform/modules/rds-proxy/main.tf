# RDS Proxy in front of Aurora for the producer API's Lambda instances: many short-lived clients share a
# bounded pool of server connections. The CDC connector and the flows keep using the cluster endpoint
# (logical replication does not go through a proxy).

data "aws_region" "current" {}

locals {
  proxy_name = "${var.name_prefix}-proxy"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["rds.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "secret" {
  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_secret_arn]
  }

  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name_prefix}-proxy-"
  description        = "RDS Proxy ${local.proxy_name} reads the database secret"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "secret" {
  name   = "read-database-secret"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.secret.json
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:attached to aws_db_proxy.this through vpc_security_group_ids, a connection this graph check does not follow
  name_prefix = "${local.proxy_name}-"
  description = "Clients of ${local.proxy_name}"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_client" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = each.value
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_database" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL to the Aurora cluster"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = var.database_security_group_id
  tags                         = var.tags
}

resource "aws_db_proxy" "this" {
  name                   = local.proxy_name
  engine_family          = "POSTGRESQL"
  role_arn               = aws_iam_role.this.arn
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.this.id]
  require_tls            = true
  idle_client_timeout    = var.idle_client_timeout
  debug_logging          = false
  tags                   = var.tags

  auth {
    auth_scheme               = "SECRETS"
    description               = "Master user of the cluster (RDS-managed secret)"
    iam_auth                  = var.iam_auth
    secret_arn                = var.db_secret_arn
    client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
  }
}

resource "aws_db_proxy_default_target_group" "this" {
  db_proxy_name = aws_db_proxy.this.name

  connection_pool_config {
    max_connections_percent      = var.max_connections_percent
    max_idle_connections_percent = var.max_idle_connections_percent
    connection_borrow_timeout    = var.connection_borrow_timeout
  }
}

resource "aws_db_proxy_target" "this" {
  db_proxy_name         = aws_db_proxy.this.name
  target_group_name     = aws_db_proxy_default_target_group.this.name
  db_cluster_identifier = var.db_cluster_identifier
}
