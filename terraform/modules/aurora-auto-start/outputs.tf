output "function_name" {
  description = "Name of the auto-start function (CDC_AURORA_AUTOSTART_FUNCTION)."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the auto-start function; the producer API may invoke it and nothing else."
  value       = aws_lambda_function.this.arn
}

output "dead_letter_queue_arn" {
  description = "SQS queue receiving the invocations that failed."
  value       = aws_sqs_queue.dead_letter.arn
}

output "role_arn" {
  description = "Execution role of the function."
  value       = aws_lambda_function.this.role
}
