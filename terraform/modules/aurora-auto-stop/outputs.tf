output "policy_arn" {
  description = "IAM policy for the Prefect worker running database-autostop and database-autostart."
  value       = aws_iam_policy.this.arn
}

output "policy_name" {
  description = "Name of that policy."
  value       = aws_iam_policy.this.name
}
