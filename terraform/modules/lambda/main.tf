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

  create_kms_key = var.create && var.create_kms_key && var.kms_key_arn == null
  kms_key_arn    = var.kms_key_arn != null ? var.kms_key_arn : try(aws_kms_key.this[0].arn, null)

  # Decided from inputs only, so counts and the environment's keys are known at plan time.
  has_redis    = var.create_shared_state || var.redis_url != null
  has_bucket   = var.create_shared_state || var.s3_bucket_name != null
  has_redis_sg = var.create_shared_state || var.redis_security_group_id != null

  redis_url         = var.create_shared_state ? module.shared_state.redis_url : var.redis_url
  redis_sg_id       = var.create_shared_state ? module.shared_state.redis_security_group_id : var.redis_security_group_id
  bucket_name       = module.shared_state.bucket_name
  s3_sse            = module.shared_state.sse_algorithm
  s3_kms_key_arn    = module.shared_state.bucket_kms_key_arn
  s3_kms_known      = var.s3_sse_algorithm == "aws:kms" && (var.create_shared_state || var.s3_kms_key_arn != null)
  s3_prefix_list_id = var.create_s3_vpc_endpoint ? try(aws_vpc_endpoint.s3[0].prefix_list_id, null) : try(data.aws_prefix_list.s3[0].id, null)

  # tests/CONTRACT.md: the variables the app reads. Contract keys win over environment_variables.
  environment = merge(
    var.environment_variables,
    {
      HEADROOM_PROFILE         = "lambda"
      HEADROOM_CLUSTER_ID      = local.cluster_id
      HEADROOM_CCR_TTL_SECONDS = tostring(var.ccr_ttl_seconds)
      HEADROOM_S3_PREFIX       = var.s3_prefix
      HEADROOM_KOMPRESS        = var.kompress.mode
      HEADROOM_LOG_LEVEL       = var.log_level
    },
    local.has_redis ? { HEADROOM_REDIS_URL = local.redis_url } : {},
    local.has_bucket ? {
      HEADROOM_S3_BUCKET = local.bucket_name
      HEADROOM_S3_REGION = local.region
      HEADROOM_S3_SSE    = local.s3_sse
    } : {},
    local.has_bucket && local.s3_kms_known ? { HEADROOM_S3_KMS_KEY_ID = local.s3_kms_key_arn } : {},
    var.kompress.mode == "remote" ? { HEADROOM_KOMPRESS_ENDPOINT = var.kompress.endpoint } : {},
    var.session_ttl_seconds != null ? { HEADROOM_SESSION_TTL_SECONDS = tostring(var.session_ttl_seconds) } : {},
    # Lambda Web Adapter's mode must match the Function URL's (lambda/Dockerfile.stream sets it too).
    var.function_url_streaming ? { AWS_LWA_INVOKE_MODE = "response_stream" } : {},
  )

  tags = merge(var.tags, { "headroom.ai/component" = "lambda" })

  # A key policy: "Resource": "*" means this key. CloudWatch Logs may use it only for this
  # module's two log groups. Kept here as data so the packaging tests can inspect it.
  kms_key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action = [
          "kms:CancelKeyDeletion",
          "kms:Create*",
          "kms:Delete*",
          "kms:Describe*",
          "kms:Disable*",
          "kms:Enable*",
          "kms:Get*",
          "kms:List*",
          "kms:Put*",
          "kms:RetireGrant",
          "kms:Revoke*",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:Update*",
        ]
        Resource = "*"
      },
      {
        Sid       = "AccountDelegatesUseToIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action = [
          "kms:Decrypt",
          "kms:Encrypt",
          "kms:GenerateDataKey*",
          "kms:ReEncrypt*",
        ]
        Resource = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheseLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action = [
          "kms:Decrypt*",
          "kms:Describe*",
          "kms:Encrypt*",
          "kms:GenerateDataKey*",
          "kms:ReEncrypt*",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = [
              "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.lambda_log_group_name}",
              "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.api_log_group_name}",
            ]
          }
        }
      },
    ]
  }
}

################################################################################
# Shared state: Redis + S3 (or only the access policy for an existing bucket)
################################################################################

module "shared_state" {
  source = "../shared-state"

  create = var.create
  name   = var.name
  tags   = var.tags

  create_redis               = var.create_shared_state
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.create_shared_state ? var.subnet_ids : []
  allowed_security_group_ids = var.create ? [aws_security_group.this[0].id] : []

  redis_engine               = var.shared_state.redis_engine
  redis_major_engine_version = var.shared_state.redis_major_engine_version
  redis_cache_usage_limits = {
    data_storage_max_gb = var.shared_state.redis_data_storage_max_gb
    ecpu_per_second_max = var.shared_state.redis_ecpu_per_second_max
  }
  redis_snapshot_retention_limit = var.shared_state.redis_snapshot_retention_limit

  create_bucket      = var.create_shared_state
  bucket_name        = var.create_shared_state ? var.shared_state.bucket_name : var.s3_bucket_name
  s3_prefix          = var.s3_prefix
  ccr_ttl_seconds    = var.ccr_ttl_seconds
  sse_algorithm      = var.s3_sse_algorithm
  versioning_enabled = var.shared_state.versioning_enabled
  force_destroy      = var.shared_state.force_destroy
  access_logging     = var.shared_state.access_logging

  create_kms_key = var.create_shared_state
  kms_key_arn    = var.s3_kms_key_arn
}

################################################################################
# KMS key: log groups and environment variables
################################################################################

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "headroom-gateway ${var.name}: Lambda logs and environment variables"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode(local.kms_key_policy)

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-lambda"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Log group
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  count = var.create ? 1 : 0

  name              = local.lambda_log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = local.kms_key_arn

  tags = local.tags
}

################################################################################
# IAM role
################################################################################

data "aws_iam_policy_document" "assume_role" {
  count = var.create ? 1 : 0

  statement {
    sid     = "LambdaAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name_prefix        = "${var.name}-"
  description        = "headroom-gateway ${var.name} Lambda execution role"
  assume_role_policy = data.aws_iam_policy_document.assume_role[0].json

  tags = local.tags
}

data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0

  # Basic execution, narrowed to this function's own log group (the group itself is created here).
  statement {
    sid    = "WriteOwnLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }

  # VPC access: Lambda creates the function's ENIs with this role, only in the given subnets
  # and with the function's own security group.
  statement {
    sid     = "CreateEnisInOwnSubnets"
    effect  = "Allow"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
      [for s in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${s}"],
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${aws_security_group.this[0].id}"],
    )
  }

  statement {
    sid    = "ManageOwnEnis"
    effect = "Allow"
    actions = [
      "ec2:AssignPrivateIpAddresses",
      "ec2:DeleteNetworkInterface",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
  }

  # Environment variables are encrypted with the module's key; only Lambda may use it for
  # the role, and only to decrypt.
  dynamic "statement" {
    for_each = local.create_kms_key || var.kms_key_arn != null ? ["DecryptEnvironment"] : []

    content {
      sid       = statement.value
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [local.kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["lambda.${local.region}.amazonaws.com"]
      }
    }
  }

  # Describe calls support no resource-level permissions.
  statement {
    sid    = "DescribeNetwork"
    effect = "Allow"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  count = var.create ? 1 : 0

  name_prefix = "execution-"
  role        = aws_iam_role.this[0].id
  policy      = data.aws_iam_policy_document.this[0].json
}

resource "aws_iam_role_policy" "shared_state" {
  count = var.create && local.has_bucket ? 1 : 0

  name_prefix = "shared-state-"
  role        = aws_iam_role.this[0].id
  policy      = module.shared_state.access_policy_json
}

resource "aws_iam_role_policy_attachment" "xray" {
  count = var.create && var.tracing_enabled ? 1 : 0

  role       = aws_iam_role.this[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

################################################################################
# Network: function security group, S3 gateway endpoint
################################################################################

resource "aws_security_group" "this" {
  count = var.create ? 1 : 0

  name_prefix = "${var.name}-fn-"
  description = "headroom-gateway ${var.name} Lambda: egress to Redis and S3 only, no ingress"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-fn" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "redis" {
  count = var.create && local.has_redis_sg ? 1 : 0

  security_group_id            = aws_security_group.this[0].id
  description                  = "Redis TLS (6379 primary, 6380 reader) to the shared-state cache"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = local.redis_sg_id

  tags = local.tags
}

data "aws_prefix_list" "s3" {
  count = var.create && !var.create_s3_vpc_endpoint ? 1 : 0

  name = "com.amazonaws.${local.region}.s3"
}

resource "aws_vpc_security_group_egress_rule" "s3" {
  count = var.create ? 1 : 0

  security_group_id = aws_security_group.this[0].id
  description       = "HTTPS to S3 through the gateway endpoint (S3 prefix list)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = local.s3_prefix_list_id

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "additional" {
  for_each = var.create ? { for i, r in var.additional_egress_rules : tostring(i) => r } : {}

  security_group_id            = aws_security_group.this[0].id
  description                  = each.value.description
  ip_protocol                  = each.value.ip_protocol
  from_port                    = each.value.from_port
  to_port                      = each.value.to_port
  cidr_ipv4                    = each.value.cidr_ipv4
  referenced_security_group_id = each.value.referenced_security_group_id
  prefix_list_id               = each.value.prefix_list_id

  tags = local.tags
}

resource "aws_vpc_endpoint" "s3" {
  count = var.create && var.create_s3_vpc_endpoint ? 1 : 0

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids

  tags = merge(local.tags, { Name = "${var.name}-s3" })

  lifecycle {
    precondition {
      condition     = length(var.route_table_ids) > 0
      error_message = "route_table_ids is required when create_s3_vpc_endpoint is true."
    }
  }
}

################################################################################
# Deployment package in S3 (zips over the 50 MB direct-upload limit)
################################################################################

resource "aws_s3_object" "package" {
  count = local.from_s3 ? 1 : 0

  bucket = var.deployment_s3_bucket != null ? var.deployment_s3_bucket : module.shared_state.bucket_name
  # Content-addressed key: a new build is a new object, so Lambda always sees the change.
  key         = "${var.deployment_s3_key_prefix}${var.name}/${replace(local.package_hash, "/[+/=]/", "_")}.zip"
  source      = var.filename
  source_hash = local.package_hash
  kms_key_id  = var.deployment_s3_bucket == null ? module.shared_state.bucket_kms_key_arn : null

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.deployment_s3_bucket != null || var.create_shared_state
      error_message = "deploy_from_s3 needs deployment_s3_bucket when create_shared_state is false."
    }
    precondition {
      condition     = !startswith(var.deployment_s3_key_prefix, var.s3_prefix)
      error_message = "deployment_s3_key_prefix must not lie under s3_prefix: the lifecycle rule would expire the code."
    }
  }
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
# Front door: Function URL (AWS_IAM)
################################################################################

resource "aws_lambda_function_url" "this" {
  count = local.function_url ? 1 : 0

  function_name      = aws_lambda_function.this[0].function_name
  authorization_type = "AWS_IAM"
  invoke_mode        = var.function_url_streaming ? "RESPONSE_STREAM" : "BUFFERED"
}

# Function URLs created since October 2025 need both actions in the resource policy.
resource "aws_lambda_permission" "function_url" {
  for_each = local.function_url ? toset(var.function_url_invoke_principals) : toset([])

  statement_id           = "InvokeFunctionUrl-${substr(sha256(each.value), 0, 16)}"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this[0].function_name
  principal              = each.value
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "function_url_invoke" {
  for_each = local.function_url ? toset(var.function_url_invoke_principals) : toset([])

  statement_id  = "InvokeFunction-${substr(sha256(each.value), 0, 16)}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[0].function_name
  principal     = each.value
}

################################################################################
# Front door: API Gateway HTTP API with a JWT or Lambda REQUEST authorizer
################################################################################

resource "aws_apigatewayv2_api" "this" {
  count = local.http_api ? 1 : 0

  name          = var.name
  description   = "headroom-gateway ${var.name}"
  protocol_type = "HTTP"

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.http_api_authorizer != null
      error_message = "front_door = \"http_api\" needs http_api_authorizer (jwt or lambda); the API is never left open."
    }
  }
}

resource "aws_apigatewayv2_integration" "this" {
  count = local.http_api ? 1 : 0

  api_id                 = aws_apigatewayv2_api.this[0].id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this[0].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(var.timeout * 1000, 30000)
}

resource "aws_apigatewayv2_authorizer" "this" {
  count = local.http_api ? 1 : 0

  api_id           = aws_apigatewayv2_api.this[0].id
  name             = "${var.name}-${var.http_api_authorizer.type}"
  authorizer_type  = var.http_api_authorizer.type == "jwt" ? "JWT" : "REQUEST"
  identity_sources = var.http_api_authorizer.identity_sources

  dynamic "jwt_configuration" {
    for_each = var.http_api_authorizer.type == "jwt" ? [var.http_api_authorizer] : []

    content {
      issuer   = jwt_configuration.value.jwt_issuer
      audience = jwt_configuration.value.jwt_audience
    }
  }

  authorizer_uri                    = var.http_api_authorizer.type == "lambda" ? "arn:${local.partition}:apigateway:${local.region}:lambda:path/2015-03-31/functions/${var.http_api_authorizer.lambda_arn}/invocations" : null
  authorizer_payload_format_version = var.http_api_authorizer.type == "lambda" ? "2.0" : null
  enable_simple_responses           = var.http_api_authorizer.type == "lambda" ? var.http_api_authorizer.enable_simple_responses : null
  authorizer_result_ttl_in_seconds  = var.http_api_authorizer.type == "lambda" ? var.http_api_authorizer.result_ttl_seconds : null
}

resource "aws_apigatewayv2_route" "this" {
  for_each = local.http_api ? toset(var.http_api_routes) : toset([])

  api_id             = aws_apigatewayv2_api.this[0].id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.this[0].id}"
  authorization_type = var.http_api_authorizer.type == "jwt" ? "JWT" : "CUSTOM"
  authorizer_id      = aws_apigatewayv2_authorizer.this[0].id
}

resource "aws_cloudwatch_log_group" "api" {
  count = local.http_api ? 1 : 0

  name              = local.api_log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = local.kms_key_arn

  tags = local.tags
}

resource "aws_apigatewayv2_stage" "this" {
  count = local.http_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.this[0].id
  name        = "$default"
  auto_deploy = true

  # Metadata only: request and response bodies (prompts, tool output) are never logged.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api[0].arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
    })
  }

  default_route_settings {
    throttling_burst_limit   = var.http_api_throttling.burst_limit
    throttling_rate_limit    = var.http_api_throttling.rate_limit
    detailed_metrics_enabled = true
  }

  tags = local.tags
}

resource "aws_lambda_permission" "http_api" {
  count = local.http_api ? 1 : 0

  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[0].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this[0].execution_arn}/*/*"
}

resource "aws_lambda_permission" "authorizer" {
  count = local.http_api && try(var.http_api_authorizer.type, null) == "lambda" ? 1 : 0

  statement_id  = "AllowHttpApiAuthorizer-${var.name}"
  action        = "lambda:InvokeFunction"
  function_name = var.http_api_authorizer.lambda_arn
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this[0].execution_arn}/authorizers/${aws_apigatewayv2_authorizer.this[0].id}"
}
