variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of every AWS resource (the shared state, the database, the IAM role); at most 32 characters."
  type        = string
  default     = "headroom-shared"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.name))
    error_message = "name must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (1-32 characters)."
  }
}

variable "cluster_name" {
  description = "Existing EKS cluster (with an IAM OIDC provider for IRSA); the gateway runs on its CPU nodes."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cluster's VPC for the cache and the database (at least two AZs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids needs at least two subnets in different AZs (RDS Multi-AZ, ElastiCache)."
  }
}

variable "hostname" {
  description = "Host name developers use: ANTHROPIC_BASE_URL=https://<hostname>."
  type        = string
  default     = "headroom.acme.internal"
}

variable "ingress" {
  description = "Ingress of the gateway: class, the Secret holding the TLS certificate for hostname (e.g. issued by cert-manager), extra annotations."
  type = object({
    class_name      = optional(string, "nginx")
    tls_secret_name = optional(string, "headroom-gateway-tls")
    annotations     = optional(map(string), {})
  })
  default = {}
}

variable "image_repository" {
  description = "Repository of the CPU image built from sidecar/Dockerfile, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/headroom-gateway."
  type        = string
}

variable "image_tag" {
  description = "Tag of the CPU image."
  type        = string
}

variable "namespace" {
  description = "Namespace created for the release (Pod Security Standard: restricted)."
  type        = string
  default     = "headroom"
}

variable "release_name" {
  description = "Helm release name; the policy ConfigMap is <release>-headroom-gateway-policy."
  type        = string
  default     = "headroom"
}

variable "replicas" {
  description = "Minimum and maximum replicas of the HPA."
  type = object({
    min = number
    max = number
  })
  default = { min = 3, max = 20 }

  validation {
    condition     = var.replicas.min >= 2 && var.replicas.max >= var.replicas.min
    error_message = "replicas.min must be at least 2 (the PDB keeps min - 1 available) and max >= min."
  }
}

variable "policy_file" {
  description = "Path of the operator's central policy YAML; null = policy.yaml beside this example."
  type        = string
  default     = null
}

variable "database" {
  description = "RDS PostgreSQL of the usage ledger: instance class, storage in GiB, major engine version. Multi-AZ and deletion protection are always on."
  type = object({
    instance_class    = optional(string, "db.t4g.medium")
    allocated_storage = optional(number, 50)
    engine_version    = optional(string, "16")
  })
  default = {}
}

variable "provider_keys" {
  description = "The organisation's provider keys for managed proxy callers (a developer holds only a gateway key; this key goes upstream in its place). Kept in a Kubernetes Secret and, like the database password, in Terraform state: keep the state encrypted. Null: managed calls get 503, developers' own keys still work."
  type = object({
    anthropic = optional(string)
    openai    = optional(string)
  })
  default   = null
  sensitive = true
}

variable "helm_values" {
  description = "Further values files (YAML strings) for the chart, applied after this example's."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}
