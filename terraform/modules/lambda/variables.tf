################################################################################
# General
################################################################################

variable "create" {
  description = "Whether to create any resource at all (false turns the module into a no-op)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Function name, also the prefix of every other resource: lower-case letters, digits and hyphens, at most 32 characters."
  type        = string
  default     = "headroom-gateway"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.name)) && !strcontains(var.name, "--")
    error_message = "name must match ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ (1-32 characters) without \"--\" (ElastiCache naming)."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = "headroom-gateway: context compression for LLM agent traffic (CPU-only)"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Code: zip (python3.12 runtime) or container image
################################################################################

variable "package_type" {
  description = "How the code ships: Zip (filename, built by `make lambda-zip`) or Image (image_uri in ECR)."
  type        = string
  default     = "Zip"

  validation {
    condition     = contains(["Zip", "Image"], var.package_type)
    error_message = "package_type must be \"Zip\" or \"Image\"."
  }
}

variable "filename" {
  description = "Path to the deployment zip (dist/headroom-gateway-lambda-<arch>.zip from `make lambda-zip`). Required for package_type Zip."
  type        = string
  default     = null
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the zip, to force an update when it changes; null computes it from filename."
  type        = string
  default     = null
}

variable "deploy_from_s3" {
  description = "Upload the zip to S3 and deploy it from there: required when it is over Lambda's 50 MB direct-upload limit (build_zip.py says so)."
  type        = bool
  default     = false
}

variable "deployment_s3_bucket" {
  description = "Bucket for the uploaded zip (deploy_from_s3); null uses shared_state.s3.bucket_name, outside the CCR prefix."
  type        = string
  default     = null
}

variable "deployment_s3_key_prefix" {
  description = "Key prefix of uploaded zips; must not lie under s3_prefix, whose objects expire with the CCR TTL."
  type        = string
  default     = "lambda-artifacts/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.deployment_s3_key_prefix))
    error_message = "deployment_s3_key_prefix must be non-empty, must not start with \"/\" and must end with \"/\"."
  }
}

variable "image_uri" {
  description = "ECR image URI (with tag or digest) of the Lambda container image. Required for package_type Image."
  type        = string
  default     = null
}

variable "image_config" {
  description = "Overrides for the container image's entry point, command and working directory (package_type Image only)."
  type = object({
    command           = optional(list(string))
    entry_point       = optional(list(string))
    working_directory = optional(string)
  })
  default = null
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration (AWS Signer) that the zip must satisfy; package_type Zip only."
  type        = string
  default     = null

  validation {
    condition     = var.code_signing_config_arn == null || can(regex("^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:", var.code_signing_config_arn))
    error_message = "code_signing_config_arn must be a Lambda code signing config ARN."
  }
}

variable "runtime" {
  description = "Lambda runtime for package_type Zip. The artifact's wheels are built for python3.12 (glibc 2.34)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13 (headroom-ai wheels need glibc >= 2.28)."
  }
}

variable "handler" {
  description = "Handler for package_type Zip: module.function inside the zip."
  type        = string
  default     = "handler.handler"
}

variable "architecture" {
  description = "Instruction set of the function; must match the artifact (headroom-gateway-lambda-<arch>.zip or the image's platform)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

################################################################################
# Sizing
################################################################################

variable "memory_size" {
  description = "Memory in MB; CPU share grows with it (1769 MB = one vCPU). Compression of large tool outputs is CPU bound."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Function timeout in seconds. Keep it above HEADROOM_DEADLINE_SECONDS (10) so the app fails open before Lambda kills it; an HTTP API caps integrations at 30 s."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "ephemeral_storage_size" {
  description = "Size of /tmp in MB (HEADROOM_DATA_DIR lives there)."
  type        = number
  default     = 512

  validation {
    condition     = var.ephemeral_storage_size >= 512 && var.ephemeral_storage_size <= 10240
    error_message = "ephemeral_storage_size must be between 512 and 10240 MB."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) the function: bounds cost and the load on Redis. -1 removes the reservation (needed on new accounts whose quota is 10)."
  type        = number
  default     = 20

  validation {
    condition     = var.reserved_concurrent_executions >= -1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be a whole number >= -1."
  }
}

################################################################################
# Gateway settings (tests/CONTRACT.md)
################################################################################

variable "cluster_id" {
  description = "HEADROOM_CLUSTER_ID: namespace for shared state keys; null uses var.name."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_id == null || can(regex("^[A-Za-z0-9._-]{1,64}$", var.cluster_id))
    error_message = "cluster_id must be 1-64 characters of letters, digits, '.', '_' or '-'."
  }
}

variable "session_ttl_seconds" {
  description = "HEADROOM_SESSION_TTL_SECONDS: lifetime of session replay state; null keeps the app default (7200)."
  type        = number
  default     = null

  validation {
    condition     = var.session_ttl_seconds == null || try(var.session_ttl_seconds > 0, false)
    error_message = "session_ttl_seconds must be greater than 0."
  }
}

variable "log_level" {
  description = "HEADROOM_LOG_LEVEL. Request content is never logged at any level."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "kompress" {
  description = "HEADROOM_KOMPRESS for a CPU-only function: mode \"off\", or \"remote\" with endpoint (HEADROOM_KOMPRESS_ENDPOINT, e.g. the GPU pool's Service behind an internal load balancer)."
  type = object({
    mode     = optional(string, "off")
    endpoint = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["off", "remote"], var.kompress.mode)
    error_message = "kompress.mode must be \"off\" or \"remote\" (the function has no GPU)."
  }

  validation {
    condition     = var.kompress.mode != "remote" || can(regex("^https?://", var.kompress.endpoint))
    error_message = "kompress.endpoint (http:// or https:// URL) is required when kompress.mode is \"remote\"."
  }
}

variable "environment_variables" {
  description = "Extra environment variables (e.g. HEADROOM_DEADLINE_SECONDS). The contract variables this module sets take precedence."
  type        = map(string)
  default     = {}
}

################################################################################
# Network
################################################################################

variable "vpc_id" {
  description = "VPC of the function, the cache and the optional S3 gateway endpoint."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the function's ENIs and the cache (at least 2, in different AZs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must hold at least 2 private subnets in different AZs."
  }
}

variable "create_s3_vpc_endpoint" {
  description = "Create an S3 gateway VPC endpoint on route_table_ids. Without it (or a NAT) a function in private subnets cannot reach S3."
  type        = bool
  default     = false
}

variable "route_table_ids" {
  description = "Route tables of the private subnets, for the S3 gateway endpoint."
  type        = list(string)
  default     = []
}

variable "additional_egress_rules" {
  description = "Extra egress from the function's security group, e.g. to a remote Kompress endpoint. Each rule names exactly one destination."
  type = list(object({
    description                  = string
    from_port                    = number
    to_port                      = number
    ip_protocol                  = optional(string, "tcp")
    cidr_ipv4                    = optional(string)
    referenced_security_group_id = optional(string)
    prefix_list_id               = optional(string)
  }))
  default = []

  validation {
    condition = alltrue([
      for r in var.additional_egress_rules :
      length(compact([r.cidr_ipv4, r.referenced_security_group_id, r.prefix_list_id])) == 1 && r.cidr_ipv4 != "0.0.0.0/0"
    ])
    error_message = "Each additional egress rule needs exactly one of cidr_ipv4, referenced_security_group_id, prefix_list_id, and 0.0.0.0/0 is not allowed."
  }
}

################################################################################
# Logs, tracing
################################################################################

variable "cloudwatch_logs_retention_in_days" {
  description = "Retention of the function's and the HTTP API's log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_logs_retention_in_days)
    error_message = "cloudwatch_logs_retention_in_days must be one of the values CloudWatch Logs allows (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "tracing_enabled" {
  description = "Active X-Ray tracing of invocations."
  type        = bool
  default     = true
}

################################################################################
# Front door
################################################################################

variable "front_door" {
  description = "How clients reach the function: \"function_url\" (IAM-authenticated, SigV4-signed callers) or \"http_api\" (API Gateway HTTP API with a JWT or Lambda authorizer)."
  type        = string
  default     = "function_url"

  validation {
    condition     = contains(["function_url", "http_api"], var.front_door)
    error_message = "front_door must be \"function_url\" or \"http_api\"."
  }
}

variable "function_url_streaming" {
  description = "Stream responses through the Function URL (invoke_mode RESPONSE_STREAM) so the transparent proxy's SSE reaches clients as it is produced. Needs package_type Image built from lambda/Dockerfile.stream (AWS Lambda Web Adapter) and front_door function_url; raise timeout to cover a whole model turn (up to 900). false: BUFFERED, the Mangum handler of lambda/Dockerfile or the zip."
  type        = bool
  default     = false
}

variable "function_url_invoke_principals" {
  description = "IAM principals (ARNs or 12-digit account IDs) granted lambda:InvokeFunctionUrl and lambda:InvokeFunction by the function's resource policy. Same-account principals can instead be granted both in their identity policies."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for p in var.function_url_invoke_principals : can(regex("^([0-9]{12}|arn:aws[a-zA-Z-]*:iam::[0-9]{12}:.+)$", p))
    ])
    error_message = "function_url_invoke_principals must be 12-digit account IDs or IAM ARNs; \"*\" is not allowed."
  }
}

variable "http_api_authorizer" {
  description = "Authorizer for front_door = \"http_api\": type \"jwt\" (jwt_issuer + jwt_audience) or \"lambda\" (lambda_arn of a REQUEST authorizer using payload 2.0)."
  type = object({
    type                    = string
    jwt_issuer              = optional(string)
    jwt_audience            = optional(list(string), [])
    lambda_arn              = optional(string)
    identity_sources        = optional(list(string), ["$request.header.Authorization"])
    result_ttl_seconds      = optional(number, 300)
    enable_simple_responses = optional(bool, true)
  })
  default = null

  validation {
    condition     = var.http_api_authorizer == null || try(contains(["jwt", "lambda"], var.http_api_authorizer.type), false)
    error_message = "http_api_authorizer.type must be \"jwt\" or \"lambda\"."
  }

  validation {
    condition = var.http_api_authorizer == null || try(
      var.http_api_authorizer.type != "jwt" || (
        can(regex("^https://", var.http_api_authorizer.jwt_issuer)) && length(var.http_api_authorizer.jwt_audience) > 0
      ),
      false
    )
    error_message = "A jwt authorizer needs jwt_issuer (https:// URL) and at least one jwt_audience."
  }

  validation {
    condition = var.http_api_authorizer == null || try(
      var.http_api_authorizer.type != "lambda" || can(regex("^arn:aws[a-zA-Z-]*:lambda:", var.http_api_authorizer.lambda_arn)),
      false
    )
    error_message = "A lambda authorizer needs lambda_arn (the authorizer function's ARN)."
  }

  validation {
    condition = var.http_api_authorizer == null || try(
      var.http_api_authorizer.result_ttl_seconds >= 0 && var.http_api_authorizer.result_ttl_seconds <= 3600,
      false
    )
    error_message = "http_api_authorizer.result_ttl_seconds must be between 0 and 3600."
  }
}

variable "http_api_routes" {
  description = "Route keys of the HTTP API, all behind the authorizer."
  type        = list(string)
  default = [
    "POST /v1/compress",
    "GET /v1/retrieve/{hash}",
    "POST /v1/retrieve/tool_call",
    "GET /live",
    "GET /ready",
    "GET /startup",
    "GET /metrics",
  ]

  validation {
    condition     = length(var.http_api_routes) > 0 && alltrue([for r in var.http_api_routes : can(regex("^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /", r))])
    error_message = "http_api_routes must be non-empty route keys like \"POST /v1/compress\"."
  }
}

variable "http_api_throttling" {
  description = "Default route throttling of the HTTP API stage."
  type = object({
    burst_limit = optional(number, 100)
    rate_limit  = optional(number, 50)
  })
  default = {}

  validation {
    condition     = var.http_api_throttling.burst_limit >= 0 && var.http_api_throttling.rate_limit >= 0
    error_message = "http_api_throttling limits must be >= 0."
  }
}

################################################################################
# Shared state (Redis + S3), composed by the caller
################################################################################

variable "shared_state" {
  description = "Shared state the gateway uses: the shared-state module's `connection` output, or the same object built for an existing cache and bucket (use modules/shared-state with create_redis = false and create_bucket = false to get access_policy_json). redis = null runs without shared sessions; s3 = null keeps CCR originals local (not shared between instances). kms_key_arn encrypts the log groups and the environment variables too: its policy must let CloudWatch Logs use it for log_group_names (modules/shared-state does with cloudwatch_log_group_names)."
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
