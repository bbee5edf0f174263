# Plan-only tests with mocked providers: `terraform init && terraform test` in this module.
# No AWS credentials or network beyond the provider download are needed.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name                       = "hr-test"
  vpc_id                     = "vpc-0123456789abcdef0"
  subnet_ids                 = ["subnet-a", "subnet-b"]
  allowed_security_group_ids = ["sg-gateway"]
}

run "defaults_create_cache_bucket_and_key" {
  command = plan

  assert {
    condition     = aws_elasticache_serverless_cache.this[0].engine == "valkey"
    error_message = "The default engine is valkey."
  }
  assert {
    condition     = length(aws_kms_key.this) == 1 && aws_kms_key.this[0].enable_key_rotation
    error_message = "A rotating KMS key is created by default."
  }
  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : r.expiration[0].days if r.id == "expire-ccr-originals"]) == 1
    error_message = "A 3600 s TTL expires after 1 day."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.this) == 1
    error_message = "One ingress rule per allowed security group."
  }
  assert {
    condition     = output.connection.redis != null && length(output.connection.redis.security_group_ids) == 1 && output.connection.s3.prefix == "headroom-gateway/"
    error_message = "The connection output carries the cache and the bucket for the gateway modules."
  }
  assert {
    condition     = length(jsondecode(aws_kms_key.this[0].policy).Statement) == 2
    error_message = "Without log groups the key policy has no CloudWatch Logs statement."
  }
}

run "log_groups_may_use_the_key" {
  command = plan

  variables {
    cloudwatch_log_group_names = ["/aws/lambda/hr-test"]
  }

  assert {
    condition     = one([for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"] if s.Sid == "CloudWatchLogsEncryptsTheseLogGroups"]) == ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hr-test"]
    error_message = "CloudWatch Logs may use the key for the named log groups only."
  }
}

run "ttl_rounds_up_to_whole_days" {
  command = plan

  variables {
    ccr_ttl_seconds = 86401
  }

  assert {
    condition     = output.ccr_expiration_days == 2
    error_message = "86401 s must expire after 2 days."
  }
}

run "aes256_without_cache_creates_no_key" {
  command = plan

  variables {
    sse_algorithm = "AES256"
    create_redis  = false
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && output.bucket_kms_key_arn == null
    error_message = "AES256 without a cache needs no KMS key."
  }
  assert {
    condition     = output.redis_url == null && output.connection.redis == null
    error_message = "No cache, no URL."
  }
}

run "existing_bucket_only_builds_the_policy" {
  command = plan

  variables {
    create_redis  = false
    create_bucket = false
    bucket_name   = "existing-ccr-bucket"
    sse_algorithm = "AES256"
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && length(data.aws_iam_policy_document.access) == 1
    error_message = "An existing bucket gets the access policy and nothing else."
  }
  assert {
    condition     = output.bucket_arn == "arn:aws:s3:::existing-ccr-bucket"
    error_message = "The ARN is derived from the existing name."
  }
}

run "rejects_a_zero_ttl" {
  command = plan

  variables {
    ccr_ttl_seconds = 0
  }

  expect_failures = [var.ccr_ttl_seconds]
}

run "rejects_a_prefix_without_trailing_slash" {
  command = plan

  variables {
    s3_prefix = "headroom"
  }

  expect_failures = [var.s3_prefix]
}
