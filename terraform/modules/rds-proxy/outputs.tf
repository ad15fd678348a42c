output "proxy_name" {
  description = "Name of the proxy."
  value       = aws_db_proxy.this.name
}

output "proxy_arn" {
  description = "ARN of the proxy."
  value       = aws_db_proxy.this.arn
}

output "endpoint" {
  description = "Proxy endpoint the producer API connects to (CDC_API_DB_HOST)."
  value       = aws_db_proxy.this.endpoint
}

output "security_group_id" {
  description = "Security group of the proxy; the Aurora cluster admits it."
  value       = aws_security_group.this.id
}
