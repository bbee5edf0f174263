################################################################################
# Node group
################################################################################

output "node_group_id" {
  description = "EKS node group ID (cluster_name:node_group_name)."
  value       = try(aws_eks_node_group.this[0].id, null)
}

output "node_group_arn" {
  description = "ARN of the GPU node group."
  value       = try(aws_eks_node_group.this[0].arn, null)
}

output "node_group_status" {
  description = "Status of the GPU node group."
  value       = try(aws_eks_node_group.this[0].status, null)
}

output "node_labels" {
  description = "Kubernetes labels of the pool's nodes (the chart's server.nodeSelector uses headroom.ai/pool)."
  value       = local.node_labels
}

output "node_taint" {
  description = "The GPU taint every pool node carries (Kubernetes effect NoSchedule)."
  value       = local.gpu_taint
}

output "node_iam_role_arn" {
  description = "ARN of the node IAM role."
  value       = local.node_role_arn
}

output "node_security_group_id" {
  description = "Security group identifying the pool's nodes (allowed into the cache)."
  value       = try(aws_security_group.node[0].id, null)
}

output "launch_template_id" {
  description = "ID of the node group's launch template."
  value       = try(aws_launch_template.this[0].id, null)
}

################################################################################
# Gateway service
################################################################################

output "irsa_role_arn" {
  description = "IAM role of the gateway's ServiceAccount (annotated eks.amazonaws.com/role-arn)."
  value       = try(aws_iam_role.irsa[0].arn, null)
}

output "helm_release_name" {
  description = "Name of the headroom-gateway release."
  value       = try(helm_release.this[0].name, null)
}

output "helm_release_namespace" {
  description = "Namespace of the headroom-gateway release."
  value       = try(helm_release.this[0].namespace, null)
}

output "service_url" {
  description = "In-cluster URL of the gateway service, also the HEADROOM_KOMPRESS_ENDPOINT for CPU sidecars."
  value       = var.create && var.create_helm_release ? "http://${local.fullname}.${var.namespace}.svc:8787" : null
}
