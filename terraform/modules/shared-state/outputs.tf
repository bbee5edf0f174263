################################################################################
# For the gateway modules
################################################################################

output "connection" {
  description = "The shared_state input of modules/lambda and modules/eks-gpu-pool: CCR TTL, KMS key, redis (url, security groups to reach it) and s3 (bucket, prefix, encryption, access policy); redis/s3 are null when not created or given."
  value       = local.connection
}

################################################################################
# ElastiCache
################################################################################

output "redis_endpoint" {
  description = "Address of the serverless cache's primary endpoint (null when not created)."
  value       = local.redis_endpoint
}

output "redis_port" {
  description = "Port of the primary endpoint (6379); the reader endpoint listens on 6380."
  value       = local.redis_port
}

output "redis_reader_endpoint" {
  description = "Address of the serverless cache's reader endpoint."
  value       = try(aws_elasticache_serverless_cache.this[0].reader_endpoint[0].address, null)
}

output "redis_url" {
  description = "HEADROOM_REDIS_URL for the gateway: rediss://<endpoint>:<port> (TLS is always on for serverless caches)."
  value       = local.redis_url
}

output "redis_arn" {
  description = "ARN of the serverless cache."
  value       = try(aws_elasticache_serverless_cache.this[0].arn, null)
}

output "redis_security_group_id" {
  description = "Security group of the cache; consumers open egress to it on 6379-6380."
  value       = try(aws_security_group.this[0].id, null)
}

################################################################################
# S3
################################################################################

output "bucket_name" {
  description = "HEADROOM_S3_BUCKET: the bucket holding CCR originals."
  value       = local.bucket_name
}

output "bucket_arn" {
  description = "ARN of the CCR originals bucket."
  value       = local.bucket_arn
}

output "s3_prefix" {
  description = "HEADROOM_S3_PREFIX: the key prefix the lifecycle rule and the access policy cover."
  value       = var.s3_prefix
}

output "sse_algorithm" {
  description = "HEADROOM_S3_SSE: the bucket's default encryption (aws:kms or AES256)."
  value       = var.sse_algorithm
}

output "kms_key_arn" {
  description = "KMS key encrypting the bucket (aws:kms only) and the cache; null when S3/AWS managed keys are used."
  value       = local.kms_key_arn
}

output "bucket_kms_key_arn" {
  description = "HEADROOM_S3_KMS_KEY_ID: the key S3 objects are encrypted with, or null for AES256."
  value       = local.bucket_kms_key_arn
}

output "ccr_ttl_seconds" {
  description = "HEADROOM_CCR_TTL_SECONDS the lifecycle rule was derived from."
  value       = var.ccr_ttl_seconds
}

output "ccr_expiration_days" {
  description = "Days after which the lifecycle rule expires CCR originals: ceil(ccr_ttl_seconds / 86400)."
  value       = local.ccr_expiration_days
}

################################################################################
# IAM
################################################################################

output "access_policy_json" {
  description = "Least-privilege IAM policy JSON for the gateway: object read/write/delete under the prefix, prefix-scoped listing and, with SSE-KMS, use of the key through S3 only."
  value       = try(data.aws_iam_policy_document.access[0].json, null)
}
