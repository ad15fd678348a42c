variable "name_prefix" {
  description = "Prefix of every name this module creates, e.g. cdc-dev. The function and the REST API are <name_prefix>-producer-api."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "The name prefix must be 3-42 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name, passed to the function as CDC_ENV."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment is dev, staging or prod."
  }
}

variable "vpc_id" {
  description = "VPC the function runs in (the one of the database or the proxy)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the function; they need a route to the AWS APIs it calls (a NAT gateway or interface endpoints for Secrets Manager, Lambda and RDS)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give subnets in at least two Availability Zones."
  }
}

variable "package_zip" {
  description = "Path of the Lambda deployment package (a zip with the api, environments and pipeline packages and their dependencies), built before terraform runs."
  type        = string
}

variable "handler" {
  description = "Python handler of the function: the FastAPI app through Mangum."
  type        = string
  default     = "api.lambda_handler.handler"
}

variable "runtime" {
  description = "Lambda runtime; must match the Python the package was built for."
  type        = string
  default     = "python3.11"
}

variable "architecture" {
  description = "Instruction set of the function; must match the wheels in the package."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture is x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 512
}

variable "timeout" {
  description = "Timeout of one invocation in seconds; API Gateway's REST integrations give up after 29."
  type        = number
  default     = 29

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 29
    error_message = "The timeout is 1 to 29 seconds (API Gateway's integration limit)."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function; with RDS Proxy each uses one or two pooled connections."
  type        = number
  default     = 50

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "Reserve at least one concurrent execution (0 would disable the function)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the function's environment and its log groups, and the database secret."
  type        = string
}

variable "log_retention_days" {
  description = "Days the function's and the API's access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "Use a retention CloudWatch Logs accepts (e.g. 30, 90, 365)."
  }
}

variable "database_host" {
  description = "Host the API connects to: the RDS Proxy endpoint, or the cluster endpoint without a proxy (CDC_API_DB_HOST)."
  type        = string
}

variable "database_cluster_endpoint" {
  description = "The cluster (writer) endpoint (CDC_DB_HOST)."
  type        = string
}

variable "database_port" {
  description = "Database port (CDC_DB_PORT)."
  type        = number
  default     = 5432
}

variable "database_name" {
  description = "Database holding business_events (CDC_DB_NAME)."
  type        = string
}

variable "database_user" {
  description = "Database user of the API (CDC_DB_USER)."
  type        = string
}

variable "database_secret_arn" {
  description = "Secrets Manager secret with the database password; read once per Lambda instance (CDC_DB_SECRET_ARN)."
  type        = string
}

variable "database_security_group_id" {
  description = "Security group the function connects to on the database port: the proxy's, or the cluster's without a proxy."
  type        = string
}

variable "database_sslmode" {
  description = "libpq sslmode of the API's connections (CDC_DB_SSLMODE)."
  type        = string
  default     = "verify-full"

  validation {
    condition     = contains(["require", "verify-ca", "verify-full"], var.database_sslmode)
    error_message = "Aurora and RDS Proxy require TLS: require, verify-ca or verify-full."
  }
}

variable "ca_bundle_path" {
  description = "Path, inside the package, of the CA bundle that verifies the database's certificate (CDC_RDS_CA_BUNDLE). Through RDS Proxy it must hold the Amazon Root CAs (the proxy's certificate comes from ACM); directly to Aurora, the RDS CA bundle. null: not set."
  type        = string
  default     = null
}

variable "cluster_id" {
  description = "Identifier of the Aurora cluster (CDC_AURORA_CLUSTER_ID)."
  type        = string
}

variable "cluster_arn" {
  description = "ARN of the Aurora cluster, for the rds start mode's permissions."
  type        = string
}

variable "start_with" {
  description = "How the API asks for a stopped database to start (CDC_API_START_WITH): function (invoke the auto-start function), rds (StartDBCluster itself) or none (prod)."
  type        = string

  validation {
    condition     = contains(["function", "rds", "none"], var.start_with)
    error_message = "start_with is function, rds or none."
  }
}

variable "autostart_function_name" {
  description = "Name of the auto-start function (CDC_AURORA_AUTOSTART_FUNCTION); null when start_with is not function."
  type        = string
  default     = null
}

variable "autostart_function_arn" {
  description = "ARN of the auto-start function, the only function the API may invoke; null when start_with is not function."
  type        = string
  default     = null
}

variable "authorization_type" {
  description = "Authorization of the API's methods: AWS_IAM (callers sign requests with SigV4) or NONE."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.authorization_type)
    error_message = "authorization_type is AWS_IAM or NONE."
  }
}

variable "stage_name" {
  description = "Name of the API Gateway stage."
  type        = string
  default     = "v1"
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the stage accepts."
  type        = number
  default     = 100
}

variable "throttling_burst_limit" {
  description = "Burst of requests the stage accepts."
  type        = number
  default     = 200
}

variable "manage_api_gateway_account" {
  description = "Set the account-wide (per region) API Gateway CloudWatch Logs role, which stage logging needs. Only one configuration per account and region may do it."
  type        = bool
  default     = false
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration to enforce, when the organisation signs its packages; null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource (on top of the provider's default tags)."
  type        = map(string)
  default     = {}
}
