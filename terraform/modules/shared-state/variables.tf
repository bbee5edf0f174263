################################################################################
# General
################################################################################

variable "create" {
  description = "Whether to create any resource at all (false turns the module into a no-op)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name prefix for every resource: lower-case letters, digits and hyphens, at most 32 characters (the S3 bucket prefix and the ElastiCache name derive from it)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (1-32 characters) without \"--\" (ElastiCache naming)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "ccr_ttl_seconds" {
  description = "Lifetime of CCR originals in seconds (HEADROOM_CCR_TTL_SECONDS). The S3 lifecycle rule expires objects under the prefix after ceil(ttl / 86400) days."
  type        = number
  default     = 3600

  validation {
    condition     = var.ccr_ttl_seconds > 0 && floor(var.ccr_ttl_seconds) == var.ccr_ttl_seconds
    error_message = "ccr_ttl_seconds must be a whole number greater than 0."
  }
}

################################################################################
# KMS
################################################################################

variable "create_kms_key" {
  description = "Create a customer managed KMS key (rotation on) for the bucket (when sse_algorithm is aws:kms) and the cache, unless kms_key_arn is given."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "Existing KMS key ARN for the bucket and the cache. When set no key is created; also used to scope the access policy when the bucket already exists."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws...:kms:...)."
  }
}

variable "cloudwatch_log_group_names" {
  description = "Log groups (names) CloudWatch Logs may encrypt with the key, e.g. the lambda module's log_group_names output, so one key serves the whole gateway."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.cloudwatch_log_group_names : can(regex("^[.\\-_/#A-Za-z0-9]{1,512}$", n))])
    error_message = "cloudwatch_log_group_names must be CloudWatch Logs log group names."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a created KMS key is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# ElastiCache Serverless (Redis / Valkey)
################################################################################

variable "create_redis" {
  description = "Create the ElastiCache Serverless cache that holds session replay state."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "VPC of the cache and its security group. Required when create_redis is true."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets, in at least two AZs, where the cache endpoints are placed. Required when create_redis is true."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.subnet_ids) != 1
    error_message = "subnet_ids must hold at least 2 subnets in different AZs (or none when create_redis is false)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups (the gateway's: Lambda function, EKS pods or nodes) allowed to reach the cache on TCP 6379-6380."
  type        = list(string)
  default     = []
}

variable "redis_engine" {
  description = "Cache engine: valkey (cheaper, Redis OSS compatible) or redis. TLS is always on for serverless caches."
  type        = string
  default     = "valkey"

  validation {
    condition     = contains(["valkey", "redis"], var.redis_engine)
    error_message = "redis_engine must be \"valkey\" or \"redis\"."
  }
}

variable "redis_major_engine_version" {
  description = "Major engine version (e.g. \"8\" for valkey, \"7\" for redis); null lets ElastiCache pick its default."
  type        = string
  default     = null
}

variable "redis_cache_usage_limits" {
  description = "Upper bounds for the serverless cache: data storage in GB and ElastiCache Processing Units per second. They cap cost; session state is small."
  type = object({
    data_storage_max_gb = optional(number, 5)
    ecpu_per_second_max = optional(number, 5000)
  })
  default = {}

  validation {
    condition = (
      var.redis_cache_usage_limits.data_storage_max_gb >= 1 &&
      var.redis_cache_usage_limits.data_storage_max_gb <= 5000 &&
      var.redis_cache_usage_limits.ecpu_per_second_max >= 1000 &&
      var.redis_cache_usage_limits.ecpu_per_second_max <= 15000000
    )
    error_message = "data_storage_max_gb must be 1-5000 and ecpu_per_second_max 1000-15000000."
  }
}

variable "redis_snapshot_retention_limit" {
  description = "Days of automatic snapshots to keep (0 disables). Session state can be rebuilt, so one day is enough."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_snapshot_retention_limit >= 0 && var.redis_snapshot_retention_limit <= 35
    error_message = "redis_snapshot_retention_limit must be between 0 and 35."
  }
}

variable "redis_daily_snapshot_time" {
  description = "Daily snapshot start time, HH:MM in UTC; null lets ElastiCache choose."
  type        = string
  default     = null

  validation {
    condition     = var.redis_daily_snapshot_time == null || can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.redis_daily_snapshot_time))
    error_message = "redis_daily_snapshot_time must be HH:MM (24-hour, UTC)."
  }
}

variable "redis_user_group_id" {
  description = "Optional ElastiCache user group for RBAC. The redis_url output carries no credentials; put them in the URL the gateway gets from a secret."
  type        = string
  default     = null
}

################################################################################
# S3 (CCR originals)
################################################################################

variable "create_bucket" {
  description = "Create the S3 bucket for CCR originals. When false, bucket_name names an existing bucket and the module only builds the access policy for it."
  type        = bool
  default     = true
}

variable "bucket_name" {
  description = "Bucket name. When creating, null derives a unique name from \"<name>-ccr-\"; when create_bucket is false it must name the existing bucket."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "s3_prefix" {
  description = "Key prefix for CCR originals (HEADROOM_S3_PREFIX). The lifecycle rule and the access policy are scoped to it."
  type        = string
  default     = "headroom-gateway/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.s3_prefix))
    error_message = "s3_prefix must be non-empty, must not start with \"/\" and must end with \"/\" (e.g. \"headroom-gateway/\")."
  }
}

variable "sse_algorithm" {
  description = "Default bucket encryption: aws:kms (customer managed key, the default) or AES256 (S3 managed keys, no KMS cost or permissions)."
  type        = string
  default     = "aws:kms"

  validation {
    condition     = contains(["aws:kms", "AES256"], var.sse_algorithm)
    error_message = "sse_algorithm must be \"aws:kms\" or \"AES256\"."
  }
}

variable "versioning_enabled" {
  description = "Enable bucket versioning. Noncurrent versions expire after one day, so it guards against overwrites within the TTL at little cost."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a bucket that still holds objects (CCR originals are transient)."
  type        = bool
  default     = false
}

variable "access_logging" {
  description = "Server access logging into an existing log bucket; null disables it."
  type = object({
    target_bucket = string
    target_prefix = optional(string, "s3-access/headroom-gateway/")
  })
  default = null
}
