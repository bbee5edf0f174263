data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  is_zip  = var.package_type == "Zip"
  from_s3 = var.create && local.is_zip && var.deploy_from_s3
  package_hash = (
    !local.is_zip ? null :
    var.source_code_hash != null ? var.source_code_hash :
    var.filename != null ? filebase64sha256(var.filename) : null
  )
  function_url = var.create && var.front_door == "function_url"
  http_api     = var.create && var.front_door == "http_api"

  cluster_id = coalesce(var.cluster_id, var.name)

  lambda_log_group_name = "/aws/lambda/${var.name}"
  api_log_group_name    = "/aws/apigateway/${var.name}"

  # One key (the shared state's) encrypts the log groups and the environment variables.
  kms_key_arn = var.shared_state.kms_key_arn

  # Whether redis and s3 are null is known at plan time (the shared-state module's connection
  # output is built that way), so the counts below are too.
  redis          = var.shared_state.redis
  s3             = var.shared_state.s3
  has_redis      = local.redis != null
  has_bucket     = local.s3 != null
  redis_sg_ids   = local.has_redis ? local.redis.security_group_ids : []
  s3_kms_key_arn = local.has_bucket ? local.s3.kms_key_arn : null

  s3_prefix_list_id = var.create_s3_vpc_endpoint ? try(aws_vpc_endpoint.s3[0].prefix_list_id, null) : try(data.aws_prefix_list.s3[0].id, null)

  # tests/CONTRACT.md: the variables the app reads. Contract keys win over environment_variables.
  environment = merge(
    var.environment_variables,
    {
      HEADROOM_PROFILE         = "lambda"
      HEADROOM_CLUSTER_ID      = local.cluster_id
      HEADROOM_CCR_TTL_SECONDS = tostring(var.shared_state.ccr_ttl_seconds)
      HEADROOM_KOMPRESS        = var.kompress.mode
      HEADROOM_LOG_LEVEL       = var.log_level
    },
    local.has_redis ? { HEADROOM_REDIS_URL = local.redis.url } : {},
    local.has_bucket ? {
      HEADROOM_S3_BUCKET = local.s3.bucket_name
      HEADROOM_S3_PREFIX = local.s3.prefix
      HEADROOM_S3_REGION = local.region
      HEADROOM_S3_SSE    = local.s3.sse_algorithm
    } : {},
    local.s3_kms_key_arn != null ? { HEADROOM_S3_KMS_KEY_ID = local.s3_kms_key_arn } : {},
    var.kompress.mode == "remote" ? { HEADROOM_KOMPRESS_ENDPOINT = var.kompress.endpoint } : {},
    var.session_ttl_seconds != null ? { HEADROOM_SESSION_TTL_SECONDS = tostring(var.session_ttl_seconds) } : {},
    # Lambda Web Adapter's mode must match the Function URL's (lambda/Dockerfile.stream sets it too).
    var.function_url_streaming ? { AWS_LWA_INVOKE_MODE = "response_stream" } : {},
  )

  tags = merge(var.tags, { "headroom.ai/component" = "lambda" })
}

################################################################################
# Lambda function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously only (Function URL / HTTP API); a dead-letter queue applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_272:Code signing is opt-in through var.code_signing_config_arn: it needs an AWS Signer profile and a signed zip, which `make lambda-zip` cannot produce, and container images cannot use it.
  count = var.create ? 1 : 0

  function_name = var.name
  description   = var.description
  role          = aws_iam_role.this[0].arn
  package_type  = var.package_type
  architectures = [var.architecture]

  filename         = local.is_zip && !local.from_s3 ? var.filename : null
  s3_bucket        = local.from_s3 ? aws_s3_object.package[0].bucket : null
  s3_key           = local.from_s3 ? aws_s3_object.package[0].key : null
  source_code_hash = local.package_hash
  runtime          = local.is_zip ? var.runtime : null
  handler          = local.is_zip ? var.handler : null
  image_uri        = local.is_zip ? null : var.image_uri

  code_signing_config_arn = local.is_zip ? var.code_signing_config_arn : null

  dynamic "image_config" {
    for_each = !local.is_zip && var.image_config != null ? [var.image_config] : []

    content {
      command           = image_config.value.command
      entry_point       = image_config.value.entry_point
      working_directory = image_config.value.working_directory
    }
  }

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = local.kms_key_arn

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  environment {
    variables = local.environment
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this[0].id]
  }

  tracing_config {
    mode = var.tracing_enabled ? "Active" : "PassThrough"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this[0].name
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = local.is_zip ? var.filename != null : var.image_uri != null
      error_message = "package_type Zip needs filename; package_type Image needs image_uri."
    }
    precondition {
      condition     = !var.function_url_streaming || (!local.is_zip && var.front_door == "function_url")
      error_message = "function_url_streaming needs package_type Image (lambda/Dockerfile.stream) and front_door function_url."
    }
  }

  # The role must carry its permissions (ENIs, logs) before Lambda validates it.
  depends_on = [
    aws_iam_role_policy.this,
    aws_iam_role_policy.shared_state,
  ]
}

################################################################################
# Deployment package in S3 (zips over the 50 MB direct-upload limit)
################################################################################

resource "aws_s3_object" "package" {
  count = local.from_s3 ? 1 : 0

  bucket = var.deployment_s3_bucket != null ? var.deployment_s3_bucket : local.s3.bucket_name
  # Content-addressed key: a new build is a new object, so Lambda always sees the change.
  key         = "${var.deployment_s3_key_prefix}${var.name}/${replace(local.package_hash, "/[+/=]/", "_")}.zip"
  source      = var.filename
  source_hash = local.package_hash
  kms_key_id  = var.deployment_s3_bucket == null ? local.s3_kms_key_arn : null

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.deployment_s3_bucket != null || local.has_bucket
      error_message = "deploy_from_s3 needs deployment_s3_bucket when shared_state.s3 is null."
    }
    precondition {
      condition     = var.deployment_s3_bucket == null && local.has_bucket ? !startswith(var.deployment_s3_key_prefix, local.s3.prefix) : true
      error_message = "deployment_s3_key_prefix must not lie under shared_state.s3.prefix: the lifecycle rule would expire the code."
    }
  }
}
