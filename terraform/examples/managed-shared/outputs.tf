output "url" {
  description = "Where developers point their agents: ANTHROPIC_BASE_URL / OPENAI_BASE_URL."
  value       = "https://${var.hostname}"
}

output "claude_code_env" {
  description = "What a developer exports to use the gateway from Claude Code (the token is the operator_token_secret's proxy_token)."
  value       = "export ANTHROPIC_BASE_URL=https://${var.hostname}\nexport ANTHROPIC_CUSTOM_HEADERS='X-Headroom-Proxy-Token: <gateway token>'"
}

output "namespace" {
  description = "Namespace of the release."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}

output "policy_configmap" {
  description = "ConfigMap holding the central policy; pods apply an edit within seconds, without a restart."
  value       = "${var.release_name}-headroom-gateway-policy"
}

output "operator_token_secret" {
  description = "Secret (in namespace) holding the operator token, key proxy_token."
  value       = kubernetes_secret_v1.auth.metadata[0].name
}

output "irsa_role_arn" {
  description = "IAM role of the gateway's ServiceAccount (S3 originals)."
  value       = aws_iam_role.this.arn
}

output "bucket_name" {
  description = "Bucket holding CCR originals."
  value       = module.shared_state.bucket_name
}

output "redis_endpoint" {
  description = "ElastiCache Serverless endpoint (sessions)."
  value       = module.shared_state.redis_endpoint
}

output "database_endpoint" {
  description = "RDS PostgreSQL endpoint (usage ledger)."
  value       = aws_db_instance.this.endpoint
}
