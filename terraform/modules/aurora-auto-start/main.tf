# The auto-start function (api.autostart_handler): the producer API invokes it asynchronously when it cannot
# reach Aurora; it calls StartDBCluster for its one cluster, only from `stopped`, and refuses any other cluster.
#
# Packaging: the function's code comes from var.package_zip, built before terraform runs (the package holds
# compiled wheels such as psycopg's, so it is produced by a pip install into a folder, not by zipping the
# source tree). hashicorp/archive's archive_file is therefore not used, and this module needs no provider
# besides hashicorp/aws.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  function_name = "${var.name_prefix}-aurora-auto-start"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# Failed asynchronous invocations land here; the API asks again after its Retry-After anyway.
resource "aws_sqs_queue" "dead_letter" {
  name                      = "${local.function_name}-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "StartTheCluster"
    actions   = ["rds:DescribeDBClusters", "rds:StartDBCluster"]
    resources = [var.cluster_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  # The environment variables and the dead-letter queue are encrypted with the environment's key.
  statement {
    sid       = "UseEnvironmentKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name_prefix}-auto-start-"
  description        = "Execution role of ${local.function_name}"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "start-one-cluster"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_iam_role_policy_attachment" "xray" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:the function only calls the public RDS control-plane API; inside a VPC it would need a NAT gateway or an RDS interface endpoint to reach the same API, and it touches no VPC resource
  function_name                  = local.function_name
  description                    = "Start ${var.cluster_id} (${var.environment}) when the producer API finds it stopped"
  role                           = aws_iam_role.this.arn
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  filename                       = var.package_zip
  source_code_hash               = filebase64sha256(var.package_zip)
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn
  code_signing_config_arn        = var.code_signing_config_arn
  tags                           = var.tags

  environment {
    variables = {
      CDC_AWS_REGION        = data.aws_region.current.name
      CDC_AURORA_CLUSTER_ID = var.cluster_id
    }
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this]
}

# One try per request: a start that failed is asked for again by the API's next request, so Lambda's own
# retries would only add late, duplicate starts.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 300
}
