output "cluster_id" {
  description = "Cluster identifier (CDC_AURORA_CLUSTER_ID)."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "cluster_arn" {
  description = "Cluster ARN, for IAM policies that act on this cluster only."
  value       = aws_rds_cluster.this.arn
}

output "writer_endpoint" {
  description = "Cluster (writer) endpoint: the CDC connector and the flows connect here (CDC_DB_HOST)."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint (the readers when instance_count > 1, else the writer)."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "port" {
  description = "Database port (CDC_DB_PORT)."
  value       = aws_rds_cluster.this.port
}

output "database_name" {
  description = "Database holding business_events (CDC_DB_NAME)."
  value       = aws_rds_cluster.this.database_name
}

output "master_username" {
  description = "Master user name (CDC_DB_USER)."
  value       = aws_rds_cluster.this.master_username
}

output "master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master password as JSON (CDC_DB_SECRET_ARN). The ARN is not a secret; the value behind it is."
  value       = aws_rds_cluster.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the cluster."
  value       = aws_security_group.this.id
}

output "parameter_group_name" {
  description = "Cluster parameter group with rds.logical_replication = 1."
  value       = aws_rds_cluster_parameter_group.this.name
}

output "operator_policy_arn" {
  description = "IAM policy the Prefect worker needs to read the cluster, its parameters and its master secret."
  value       = aws_iam_policy.operator.arn
}
