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
  description = "Security group of the function's ENIs; an existing cache must allow ingress from it on 6379-6380."
  value       = try(aws_security_group.this[0].id, null)
}

output "kms_key_arn" {
  description = "KMS key encrypting the log groups and the environment variables."
  value       = local.kms_key_arn
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
# Shared state
################################################################################

output "bucket_name" {
  description = "HEADROOM_S3_BUCKET the function uses (null when none)."
  value       = local.has_bucket ? local.bucket_name : null
}

output "redis_endpoint" {
  description = "Address of the created cache (null when an existing redis_url is used)."
  value       = module.shared_state.redis_endpoint
}

output "redis_url" {
  description = "HEADROOM_REDIS_URL the function uses."
  value       = local.has_redis ? local.redis_url : null
  sensitive   = true
}

output "redis_security_group_id" {
  description = "Security group of the created cache."
  value       = module.shared_state.redis_security_group_id
}

output "s3_vpc_endpoint_id" {
  description = "ID of the S3 gateway endpoint, when created."
  value       = try(aws_vpc_endpoint.s3[0].id, null)
}
