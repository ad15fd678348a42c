output "function_name" {
  description = "Name of the producer API function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the producer API function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "Execution role of the function."
  value       = aws_iam_role.function.arn
}

output "security_group_id" {
  description = "Security group of the function; the proxy (or the cluster) admits it."
  value       = aws_security_group.this.id
}

output "api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "api_name" {
  description = "Name of the REST API: the ApiName dimension of its CloudWatch Count metric (CDC_API_NAME)."
  value       = aws_api_gateway_rest_api.this.name
}

output "invoke_url" {
  description = "Base URL of the stage; events go to POST <invoke_url>/events."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "access_log_group_name" {
  description = "CloudWatch log group of the API's access logs."
  value       = aws_cloudwatch_log_group.access.name
}
