data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  create_redis  = var.create && var.create_redis
  create_bucket = var.create && var.create_bucket
  use_kms       = var.sse_algorithm == "aws:kms"

  # One key serves the bucket (SSE-KMS), the cache at rest and the consumers' log groups;
  # none when the caller brings one.
  create_kms_key = (
    var.create && var.create_kms_key && var.kms_key_arn == null &&
    ((local.create_bucket && local.use_kms) || local.create_redis || length(var.cloudwatch_log_group_names) > 0)
  )
  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : try(aws_kms_key.this[0].arn, null)
  # The key the bucket's objects are encrypted with, which consumers must be allowed to use.
  bucket_kms_key_arn = local.use_kms ? local.kms_key_arn : null

  # Decided from inputs only, so consumers' counts that depend on it are known at plan time.
  has_bucket  = var.create && (var.create_bucket || var.bucket_name != null)
  bucket_name = local.create_bucket ? try(aws_s3_bucket.this[0].id, null) : var.bucket_name
  bucket_arn  = local.bucket_name == null ? null : "arn:${local.partition}:s3:::${local.bucket_name}"

  # The lifecycle rule works in whole days: an original must outlive its TTL, never the reverse.
  ccr_expiration_days = ceil(var.ccr_ttl_seconds / 86400)

  redis_endpoint = try(aws_elasticache_serverless_cache.this[0].endpoint[0].address, null)
  redis_port     = try(aws_elasticache_serverless_cache.this[0].endpoint[0].port, null)
  # Serverless caches only accept TLS, hence rediss://.
  redis_url = local.redis_endpoint == null ? null : "rediss://${local.redis_endpoint}:${local.redis_port}"

  tags = merge(var.tags, { "headroom.ai/component" = "shared-state" })

  # The consumers' `shared_state` input (modules/lambda, modules/eks-gpu-pool), built so that
  # whether redis and s3 are null is known at plan time: their counts depend on it.
  connection = {
    ccr_ttl_seconds = var.ccr_ttl_seconds
    kms_key_arn     = local.kms_key_arn
    redis = local.create_redis ? {
      url                = local.redis_url
      security_group_ids = [try(aws_security_group.this[0].id, null)]
    } : null
    s3 = local.has_bucket ? {
      bucket_name        = local.bucket_name
      prefix             = var.s3_prefix
      sse_algorithm      = var.sse_algorithm
      kms_key_arn        = local.bucket_kms_key_arn
      access_policy_json = try(data.aws_iam_policy_document.access[0].json, null)
    } : null
  }

  # A key policy, not an identity policy: "Resource": "*" means this key. The account keeps
  # administration, and use is delegated to IAM (the access_policy_json output grants it).
  # CloudWatch Logs may use it for the consumers' log groups named in the inputs, no others.
  # Kept here as data so tests/packaging/test_terraform.py can inspect every statement.
  kms_key_policy = {
    Version   = "2012-10-17"
    Statement = concat(local.kms_account_statements, length(var.cloudwatch_log_group_names) > 0 ? [local.kms_logs_statement] : [])
  }

  kms_account_statements = [
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
  ]

  kms_logs_statement = {
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
          for n in var.cloudwatch_log_group_names : "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${n}"
        ]
      }
    }
  }
}

################################################################################
# KMS key
################################################################################

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "headroom-gateway ${var.name}: CCR originals in S3, session state in ElastiCache, the gateway's logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_in_days

  policy = jsonencode(local.kms_key_policy)

  tags = local.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name}-shared-state"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# ElastiCache Serverless (session replay state)
################################################################################

resource "aws_security_group" "this" {
  count = local.create_redis ? 1 : 0

  name_prefix = "${var.name}-redis-"
  description = "headroom-gateway ${var.name} ElastiCache Serverless: TLS 6379-6380 from the gateway only"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.vpc_id != null
      error_message = "vpc_id is required when create_redis is true."
    }
  }
}

# count, not for_each: the source groups are usually created in the same apply (unknown ids).
resource "aws_vpc_security_group_ingress_rule" "this" {
  count = local.create_redis ? length(var.allowed_security_group_ids) : 0

  security_group_id            = aws_security_group.this[0].id
  description                  = "Redis TLS (6379 primary, 6380 reader) from the gateway"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = var.allowed_security_group_ids[count.index]

  tags = local.tags
}

resource "aws_elasticache_serverless_cache" "this" {
  count = local.create_redis ? 1 : 0

  name                 = var.name
  description          = "headroom-gateway ${var.name}: session replay state"
  engine               = var.redis_engine
  major_engine_version = var.redis_major_engine_version

  subnet_ids         = var.subnet_ids
  security_group_ids = [aws_security_group.this[0].id]
  kms_key_id         = local.kms_key_arn
  user_group_id      = var.redis_user_group_id

  snapshot_retention_limit = var.redis_snapshot_retention_limit
  daily_snapshot_time      = var.redis_daily_snapshot_time

  cache_usage_limits {
    data_storage {
      maximum = var.redis_cache_usage_limits.data_storage_max_gb
      unit    = "GB"
    }
    ecpu_per_second {
      maximum = var.redis_cache_usage_limits.ecpu_per_second_max
    }
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(var.subnet_ids) >= 2
      error_message = "subnet_ids (at least 2 private subnets) is required when create_redis is true."
    }
  }
}

################################################################################
# S3 bucket (CCR originals)
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:CCR originals are a short-lived cache (TTL hours) rebuilt on demand; replicating them to another region buys nothing.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events: originals are read back by key only and expire by lifecycle.
  count = local.create_bucket ? 1 : 0

  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? "${var.name}-ccr-" : null
  force_destroy = var.force_destroy

  tags = local.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = local.bucket_kms_key_arn
    }
    # Bucket keys cut KMS requests (and cost) by orders of magnitude for many small objects.
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count = local.create_bucket && var.versioning_enabled ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "expire-ccr-originals"
    status = "Enabled"

    filter {
      prefix = var.s3_prefix
    }

    expiration {
      days = local.ccr_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Bucket-wide: a half-finished upload is never readable, wherever it was going.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # With versioning, expiry leaves a delete marker per object; clear them once alone
  # (a no-op on an unversioned bucket).
  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"

    filter {
      prefix = var.s3_prefix
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  # Lifecycle rules on a versioned bucket need versioning settled first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = local.create_bucket && var.access_logging != null ? 1 : 0

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.access_logging.target_bucket
  target_prefix = var.access_logging.target_prefix
}

data "aws_iam_policy_document" "bucket" {
  count = local.create_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[0].arn,
      "${aws_s3_bucket.this[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyOutdatedTls"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[0].arn,
      "${aws_s3_bucket.this[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.bucket[0].json

  # A policy put before the public access block can be rejected as public.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Least-privilege access policy for the gateway (attached by consumer modules)
################################################################################

data "aws_iam_policy_document" "access" {
  count = local.has_bucket ? 1 : 0

  statement {
    sid    = "CcrOriginalsReadWrite"
    effect = "Allow"
    actions = [
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${local.bucket_arn}/${var.s3_prefix}*"]
  }

  statement {
    sid       = "CcrOriginalsList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.s3_prefix}*"]
    }
  }

  dynamic "statement" {
    for_each = local.bucket_kms_key_arn != null ? [local.bucket_kms_key_arn] : []

    content {
      sid    = "CcrOriginalsKms"
      effect = "Allow"
      actions = [
        "kms:Decrypt",
        "kms:GenerateDataKey",
      ]
      resources = [statement.value]

      # Only through S3, so the grant cannot be used to decrypt anything else with this key.
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}
