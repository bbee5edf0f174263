variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of the node group, its roles and the shared state (at most 32 characters)."
  type        = string
  default     = "headroom-gpu"
}

variable "cluster_name" {
  description = "Existing EKS cluster (with an IAM OIDC provider for IRSA)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the GPU nodes and the cache (at least two AZs)."
  type        = list(string)
}

variable "image_repository" {
  description = "Repository of the GPU image built from sidecar/Dockerfile.gpu, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/headroom-gateway."
  type        = string
}

variable "image_tag" {
  description = "Tag of the GPU image."
  type        = string
}

variable "namespace" {
  description = "Namespace of the release (must exist and hold the token Secret)."
  type        = string
  default     = "headroom"
}

variable "token_secret_name" {
  description = "Existing Secret in namespace with key proxy_token: the bearer token clients send."
  type        = string
  default     = "headroom-gateway-token"
}

variable "instance_types" {
  description = "GPU instance types of the pool."
  type        = list(string)
  default     = ["g5.xlarge"]
}
