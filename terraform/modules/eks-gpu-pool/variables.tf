################################################################################
# General
################################################################################

variable "create" {
  description = "Whether to create any resource at all (false turns the module into a no-op)."
  type        = bool
  default     = true
}

variable "cluster_name" {
  description = "Name of the existing EKS cluster the GPU node group joins."
  type        = string
}

variable "name" {
  description = "Prefix of the node group, its IAM roles and launch template: lower-case letters, digits and hyphens, at most 32 characters."
  type        = string
  default     = "headroom-gpu"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (1-32 characters) without \"--\" (ElastiCache naming)."
  }
}

variable "tags" {
  description = "Tags added to every AWS resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Node group
################################################################################

variable "subnet_ids" {
  description = "Private subnets of the GPU nodes (pick AZs where the GPU instance types are offered)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids must hold at least one subnet."
  }
}

variable "ami_type" {
  description = "EKS-optimized accelerated AMI type (NVIDIA driver and container toolkit included)."
  type        = string
  default     = "AL2023_x86_64_NVIDIA"

  validation {
    condition = contains([
      "AL2023_x86_64_NVIDIA",
      "AL2023_ARM_64_NVIDIA",
      "BOTTLEROCKET_x86_64_NVIDIA",
      "BOTTLEROCKET_ARM_64_NVIDIA",
      "AL2_x86_64_GPU",
    ], var.ami_type)
    error_message = "ami_type must be a GPU AMI type: AL2023_x86_64_NVIDIA, AL2023_ARM_64_NVIDIA, BOTTLEROCKET_x86_64_NVIDIA, BOTTLEROCKET_ARM_64_NVIDIA or AL2_x86_64_GPU."
  }
}

variable "instance_types" {
  description = "NVIDIA GPU instance types (g and p families), in order of preference. Must match the AMI's architecture (g5g needs an ARM_64 AMI)."
  type        = list(string)
  default     = ["g5.xlarge"]

  validation {
    condition     = length(var.instance_types) > 0
    error_message = "instance_types must not be empty."
  }

  validation {
    condition     = alltrue([for t in var.instance_types : can(regex("^(g[0-9]+|gr[0-9]+|p[0-9]+)[a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "instance_types must be NVIDIA GPU instance types (g*/gr*/p* families, e.g. g5.xlarge, g6.2xlarge, p4d.24xlarge)."
  }
}

variable "capacity_type" {
  description = "ON_DEMAND or SPOT. Spot suits the pool: the gateway fails open and Kompress is an optimisation."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.capacity_type)
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "scaling" {
  description = "Node count bounds. desired_size is only the initial value: later changes by an autoscaler are ignored."
  type = object({
    min_size     = optional(number, 1)
    max_size     = optional(number, 2)
    desired_size = optional(number, 1)
  })
  default = {}

  validation {
    condition = (
      var.scaling.min_size >= 0 &&
      var.scaling.max_size >= 1 &&
      var.scaling.min_size <= var.scaling.desired_size &&
      var.scaling.desired_size <= var.scaling.max_size
    )
    error_message = "scaling needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }
}

variable "update_max_unavailable" {
  description = "Nodes replaced at once during a node group update."
  type        = number
  default     = 1

  validation {
    condition     = var.update_max_unavailable >= 1 && var.update_max_unavailable <= 100
    error_message = "update_max_unavailable must be between 1 and 100."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes version of the nodes; null follows the cluster."
  type        = string
  default     = null
}

variable "release_version" {
  description = "AMI release version; null uses the latest for the Kubernetes version."
  type        = string
  default     = null
}

variable "disk" {
  description = "Root (AL2023) or data (Bottlerocket) EBS volume of each node; always encrypted. GPU images are large, hence 100 GB."
  type = object({
    size_gb     = optional(number, 100)
    type        = optional(string, "gp3")
    iops        = optional(number, 3000)
    throughput  = optional(number, 125)
    kms_key_arn = optional(string)
  })
  default = {}

  validation {
    condition     = var.disk.size_gb >= 20 && var.disk.size_gb <= 16384 && contains(["gp3", "gp2", "io1", "io2"], var.disk.type)
    error_message = "disk.size_gb must be 20-16384 and disk.type one of gp3, gp2, io1, io2."
  }
}

variable "metadata_http_put_response_hop_limit" {
  description = "IMDSv2 hop limit. 1 keeps pods (which get AWS access through IRSA) off the node role's credentials; host-network pods are unaffected. Raise to 2 only for pods that must reach IMDS."
  type        = number
  default     = 1

  validation {
    condition     = var.metadata_http_put_response_hop_limit >= 1 && var.metadata_http_put_response_hop_limit <= 64
    error_message = "metadata_http_put_response_hop_limit must be between 1 and 64."
  }
}

variable "labels" {
  description = "Extra Kubernetes labels on the nodes (headroom.ai/pool=gpu is always set)."
  type        = map(string)
  default     = {}
}

variable "taints" {
  description = "Extra taints on the nodes (nvidia.com/gpu=true:NoSchedule is always set). effect: NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  type = list(object({
    key    = string
    value  = optional(string)
    effect = string
  }))
  default = []

  validation {
    condition     = alltrue([for t in var.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)])
    error_message = "Each taint effect must be NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE."
  }
}

variable "create_iam_role" {
  description = "Create the node IAM role (with AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryReadOnly); false uses iam_role_arn."
  type        = bool
  default     = true
}

variable "iam_role_arn" {
  description = "Existing node IAM role when create_iam_role is false."
  type        = string
  default     = null
}

variable "iam_role_additional_policies" {
  description = "Extra managed policies for the node role, as name => policy ARN (e.g. AmazonSSMManagedInstanceCore)."
  type        = map(string)
  default     = {}
}

################################################################################
# Helm release (chart helm/headroom-gateway, mode: service)
################################################################################

variable "create_helm_release" {
  description = "Install the headroom-gateway chart in mode: service on the pool."
  type        = bool
  default     = true
}

variable "chart_path" {
  description = "Path of the headroom-gateway chart; null uses the repository's helm/headroom-gateway relative to this module."
  type        = string
  default     = null
}

variable "release_name" {
  description = "Helm release name; object names derive from it (the chart's fullname)."
  type        = string
  default     = "headroom-gateway"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$", var.release_name))
    error_message = "release_name must be a DNS-1123 label of at most 53 characters."
  }
}

variable "namespace" {
  description = "Namespace of the release; it must already hold the token Secret."
  type        = string
  default     = "headroom"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label."
  }
}

variable "create_namespace" {
  description = "Create the namespace (restricted Pod Security). The token Secret must then be created in it before the release can become ready."
  type        = bool
  default     = false
}

variable "image" {
  description = "GPU image of the gateway (built from sidecar/Dockerfile.gpu and pushed to your registry): the chart's gpuImage values."
  type = object({
    registry   = optional(string, "")
    repository = string
    tag        = optional(string, "")
    digest     = optional(string, "")
  })

  validation {
    condition     = length(var.image.repository) > 0 && (var.image.digest == "" || can(regex("^sha256:[a-f0-9]{64}$", var.image.digest)))
    error_message = "image.repository must be set and image.digest, when set, must be sha256:<64 hex>."
  }
}

variable "replicas" {
  description = "Server replicas (one GPU each by default); keep max_size of scaling at least this."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number >= 1."
  }
}

variable "gpus_per_pod" {
  description = "nvidia.com/gpu limit of each server pod."
  type        = number
  default     = 1

  validation {
    condition     = var.gpus_per_pod >= 1 && floor(var.gpus_per_pod) == var.gpus_per_pod
    error_message = "gpus_per_pod must be a whole number >= 1."
  }
}

variable "token_secret_name" {
  description = "Existing Kubernetes Secret (in namespace) holding the bearer token the service requires (HEADROOM_PROXY_TOKEN)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.token_secret_name))
    error_message = "token_secret_name must be a valid Kubernetes object name."
  }
}

variable "token_secret_key" {
  description = "Key of the token in the Secret."
  type        = string
  default     = "proxy_token"
}

variable "service_account_name" {
  description = "ServiceAccount the chart creates for the server; the IRSA role trusts exactly this one."
  type        = string
  default     = "headroom-gateway"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account_name))
    error_message = "service_account_name must be a valid Kubernetes object name."
  }
}

variable "cluster_id" {
  description = "HEADROOM_CLUSTER_ID: namespace for shared state keys; null uses var.name."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_id == null || can(regex("^[A-Za-z0-9._-]{1,64}$", var.cluster_id))
    error_message = "cluster_id must be 1-64 characters of letters, digits, '.', '_' or '-'."
  }
}

variable "helm_values" {
  description = "Extra values documents (YAML strings) merged after the module's, e.g. autoscaling or serviceMonitor settings."
  type        = list(string)
  default     = []
}

variable "helm_timeout" {
  description = "Seconds Helm waits for the release to become ready (a GPU node must start and pull a large image)."
  type        = number
  default     = 1200

  validation {
    condition     = var.helm_timeout >= 60
    error_message = "helm_timeout must be at least 60 seconds."
  }
}

variable "nvidia_device_plugin" {
  description = "NVIDIA device plugin (advertises nvidia.com/gpu). install = null installs it except on Bottlerocket, whose NVIDIA AMIs ship it."
  type = object({
    install    = optional(bool)
    version    = optional(string, "0.17.1")
    repository = optional(string, "https://nvidia.github.io/k8s-device-plugin")
    namespace  = optional(string, "kube-system")
  })
  default = {}
}

################################################################################
# IRSA
################################################################################

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider; null derives it from the cluster's issuer (the provider must exist)."
  type        = string
  default     = null
}

################################################################################
# Shared state (Redis + S3), composed by the caller
################################################################################

variable "shared_state" {
  description = "Shared state the gateway uses: the shared-state module's `connection` output, or the same object built for an existing cache and bucket (use modules/shared-state with create_redis = false and create_bucket = false to get access_policy_json). redis = null runs without shared sessions (a Redis password goes through helm_values with redis.existingSecret); s3 = null keeps CCR originals in the pod's data directory. kms_key_arn encrypts nothing here (the cache and the bucket use it); s3.kms_key_arn becomes the chart's s3.kmsKeyId. redis.security_group_ids is unused: the cache must allow node_security_group_id."
  type = object({
    ccr_ttl_seconds = optional(number, 3600)
    kms_key_arn     = optional(string)
    redis = optional(object({
      url                = string
      security_group_ids = optional(list(string), [])
    }))
    s3 = optional(object({
      bucket_name        = string
      prefix             = optional(string, "headroom-gateway/")
      sse_algorithm      = optional(string, "aws:kms")
      kms_key_arn        = optional(string)
      access_policy_json = string
    }))
  })

  validation {
    condition     = var.shared_state.ccr_ttl_seconds > 0 && floor(var.shared_state.ccr_ttl_seconds) == var.shared_state.ccr_ttl_seconds
    error_message = "shared_state.ccr_ttl_seconds must be a whole number greater than 0."
  }

  validation {
    condition     = var.shared_state.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:", var.shared_state.kms_key_arn))
    error_message = "shared_state.kms_key_arn must be a KMS key ARN (arn:aws...:kms:...)."
  }

  validation {
    condition     = var.shared_state.redis == null || can(regex("^rediss?://", var.shared_state.redis.url))
    error_message = "shared_state.redis.url must start with redis:// or rediss://."
  }

  validation {
    condition = var.shared_state.s3 == null || try(
      can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.shared_state.s3.prefix)) &&
      contains(["aws:kms", "AES256"], var.shared_state.s3.sse_algorithm),
      false
    )
    error_message = "shared_state.s3.prefix must be non-empty, must not start with \"/\" and must end with \"/\"; shared_state.s3.sse_algorithm must be \"aws:kms\" or \"AES256\"."
  }
}
