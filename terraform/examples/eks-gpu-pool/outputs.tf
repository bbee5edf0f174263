output "node_group_id" {
  description = "The GPU node group."
  value       = module.gpu_pool.node_group_id
}

output "service_url" {
  description = "In-cluster URL of the gateway (also HEADROOM_KOMPRESS_ENDPOINT for CPU sidecars)."
  value       = module.gpu_pool.service_url
}

output "irsa_role_arn" {
  description = "IAM role of the gateway's ServiceAccount."
  value       = module.gpu_pool.irsa_role_arn
}

output "bucket_name" {
  description = "Bucket holding CCR originals."
  value       = module.shared_state.bucket_name
}

output "redis_endpoint" {
  description = "ElastiCache Serverless endpoint."
  value       = module.shared_state.redis_endpoint
}
