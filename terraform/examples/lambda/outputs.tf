output "function_name" {
  description = "Name of the Lambda function."
  value       = module.headroom_gateway.function_name
}

output "function_url" {
  description = "Function URL (SigV4-signed requests, service \"lambda\")."
  value       = module.headroom_gateway.function_url
}

output "api_endpoint" {
  description = "HTTP API endpoint (front_door = http_api)."
  value       = module.headroom_gateway.api_endpoint
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = module.headroom_gateway.log_group_name
}

output "bucket_name" {
  description = "Bucket holding CCR originals."
  value       = module.shared_state.bucket_name
}

output "redis_endpoint" {
  description = "ElastiCache Serverless endpoint."
  value       = module.shared_state.redis_endpoint
}
