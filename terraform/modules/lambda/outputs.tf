################################################################################
# Function
################################################################################

output "function_name" {
  description = "Name of the Lambda function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "function_invoke_arn" {
  description = "Invoke ARN of the Lambda function (for API Gateway integrations)."
  value       = try(aws_lambda_function.this[0].invoke_arn, null)
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = try(aws_iam_role.this[0].name, null)
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "security_group_id" {
  description = "Security group of the function's ENIs: pass it to the shared-state module's allowed_security_group_ids (an existing cache must allow ingress from it on 6379-6380)."
  value       = try(aws_security_group.this[0].id, null)
}

output "log_group_names" {
  description = "Names of the function's and the HTTP API's log groups, known at plan time: pass them to the shared-state module's cloudwatch_log_group_names so its key may encrypt them."
  value       = [local.lambda_log_group_name, local.api_log_group_name]
}

################################################################################
# Front door
################################################################################

output "function_url" {
  description = "Function URL (front_door = \"function_url\"); requests must be SigV4-signed (service lambda)."
  value       = try(aws_lambda_function_url.this[0].function_url, null)
}

output "api_endpoint" {
  description = "HTTP API endpoint (front_door = \"http_api\"); requests carry the authorizer's token."
  value       = try(aws_apigatewayv2_api.this[0].api_endpoint, null)
}

output "api_id" {
  description = "ID of the HTTP API."
  value       = try(aws_apigatewayv2_api.this[0].id, null)
}

output "api_log_group_name" {
  description = "CloudWatch log group of the HTTP API's access logs."
  value       = try(aws_cloudwatch_log_group.api[0].name, null)
}

################################################################################
# Network
################################################################################

output "s3_vpc_endpoint_id" {
  description = "ID of the S3 gateway endpoint, when created."
  value       = try(aws_vpc_endpoint.s3[0].id, null)
}
