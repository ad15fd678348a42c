# The producer API on Lambda (api.lambda_handler: FastAPI through Mangum) behind an API Gateway REST API.
# REST (not HTTP API) because the database-autostop flow measures activity with API Gateway's CloudWatch
# `Count` metric by the ApiName dimension, which REST APIs publish (CDC_API_NAME is this API's name).
#
# Packaging: the function's code comes from var.package_zip, built before terraform runs (the package holds
# compiled wheels such as psycopg's and pydantic-core's, so it is produced by a pip install into a folder,
# not by zipping the source tree). hashicorp/archive's archive_file is therefore not used, and this module
# needs no provider besides hashicorp/aws.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name = "${var.name_prefix}-producer-api"

  environment_variables = merge(
    {
      CDC_ENV               = var.environment
      CDC_API_DB_HOST       = var.database_host
      CDC_DB_HOST           = var.database_cluster_endpoint
      CDC_DB_PORT           = tostring(var.database_port)
      CDC_DB_NAME           = var.database_name
      CDC_DB_USER           = var.database_user
      CDC_DB_SECRET_ARN     = var.database_secret_arn
      CDC_DB_SSLMODE        = var.database_sslmode
      CDC_AWS_REGION        = data.aws_region.current.name
      CDC_AURORA_CLUSTER_ID = var.cluster_id
      CDC_API_START_WITH    = var.start_with
    },
    var.start_with == "function" ? { CDC_AURORA_AUTOSTART_FUNCTION = var.autostart_function_name } : {},
    var.ca_bundle_path != null ? { CDC_RDS_CA_BUNDLE = var.ca_bundle_path } : {},
  )
}

# --- network -------------------------------------------------------------------------------------------

resource "aws_security_group" "this" {
  name_prefix = "${local.name}-"
  description = "Lambda ${local.name}: to the database and to the AWS APIs"
  vpc_id      = var.vpc_id
  tags        = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "database" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL to the proxy or the cluster"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = var.database_security_group_id
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to Secrets Manager, Lambda and RDS APIs (through NAT or VPC endpoints)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}

# --- function ------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
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

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.database_secret_arn]
  }

  # The environment variables and the database secret are encrypted with the environment's key.
  statement {
    sid       = "DecryptWithEnvironmentKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  dynamic "statement" {
    for_each = var.start_with == "function" ? [var.autostart_function_arn] : []
    content {
      sid       = "InvokeAutoStart"
      actions   = ["lambda:InvokeFunction"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.start_with == "rds" ? [var.cluster_arn] : []
    content {
      sid       = "StartTheCluster"
      actions   = ["rds:DescribeDBClusters", "rds:StartDBCluster"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "function" {
  name_prefix        = "${var.name_prefix}-producer-api-"
  description        = "Execution role of ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "function" {
  name   = "producer-api"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy_attachment" "xray" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:API Gateway invokes the function synchronously and returns its errors to the caller; a dead-letter queue only receives failed asynchronous invocations
  function_name                  = local.name
  description                    = "Producer API (${var.environment}): writes business events to Aurora"
  role                           = aws_iam_role.function.arn
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

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  environment {
    variables = local.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  depends_on = [
    aws_iam_role_policy.function,
    aws_iam_role_policy_attachment.vpc_access,
  ]
}

# --- REST API ------------------------------------------------------------------------------------------

resource "aws_api_gateway_rest_api" "this" {
  name        = local.name
  description = "Producer API (${var.environment}): POST /events writes one business event"
  tags        = var.tags

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_request_validator" "this" {
  name                        = "body-and-parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_body       = true
  validate_request_parameters = true
}

# Every path goes to the function; FastAPI routes it (POST /events, GET /events/{id}, GET /health, ...).
resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "{proxy+}"
}

locals {
  api_resources = {
    root  = aws_api_gateway_rest_api.this.root_resource_id
    proxy = aws_api_gateway_resource.proxy.id
  }
}

resource "aws_api_gateway_method" "this" {
  for_each = local.api_resources

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = each.value
  http_method          = "ANY"
  authorization        = var.authorization_type
  request_validator_id = aws_api_gateway_request_validator.this.id
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.api_resources

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = each.value
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.this.invoke_arn
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowInvokeFromApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Routes of ${local.name}"

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.proxy.id,
      [for m in aws_api_gateway_method.this : [m.id, m.authorization]],
      [for i in aws_api_gateway_integration.this : [i.id, i.uri]],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${local.name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# API Gateway writes execution logs to this group; created here so it has a retention and the key.
resource "aws_cloudwatch_log_group" "execution" {
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:responses are never cached: POST /events writes, and GET /health must show the database as it is now
  #checkov:skip=CKV2_AWS_29:WAF is not attached by this module (a regional WebACL is an account-level choice with its own cost); methods are IAM-authorised by default and the stage is throttled
  #checkov:skip=CKV2_AWS_51:clients authenticate with SigV4 (authorization_type AWS_IAM); a client certificate only authenticates API Gateway to an HTTP backend, and the backend here is Lambda
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "Producer API (${var.environment})"
  xray_tracing_enabled = true
  tags                 = var.tags

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      sourceIp       = "$context.identity.sourceIp"
      caller         = "$context.identity.caller"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      resourcePath   = "$context.resourcePath"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      latencyMs      = "$context.responseLatency"
      integrationErr = "$context.integrationErrorMessage"
    })
  }

  depends_on = [
    aws_cloudwatch_log_group.execution,
    aws_api_gateway_account.this,
  ]
}

resource "aws_api_gateway_method_settings" "this" {
  #checkov:skip=CKV_AWS_225:responses are never cached: POST /events writes, and GET /health must show the database as it is now
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }
}

# --- account-wide CloudWatch role for API Gateway logging (optional, once per account and region) --------

data "aws_iam_policy_document" "api_gateway_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name_prefix        = "${var.name_prefix}-apigw-logs-"
  description        = "API Gateway writes stage logs to CloudWatch Logs (account setting)"
  assume_role_policy = data.aws_iam_policy_document.api_gateway_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "api_gateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.api_gateway_cloudwatch[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.api_gateway_cloudwatch[0].arn
}
