# Plan-only tests with mocked providers: `terraform init && terraform test` in this module.

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
  vpc_id           = "vpc-0123456789abcdef0"
  subnet_ids       = ["subnet-a", "subnet-b"]
  filename         = "tests/fixture.zip"
  source_code_hash = "bm90LWEtcmVhbC16aXA="
  # What modules/shared-state's connection output gives the examples.
  shared_state = {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001"
    redis = {
      url                = "rediss://hr.serverless.euw1.cache.amazonaws.com:6379"
      security_group_ids = ["sg-redis"]
    }
    s3 = {
      bucket_name        = "hr-ccr-bucket"
      kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001"
      access_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"CcrOriginalsReadWrite\"}]}"
    }
  }
}

run "function_url_is_the_default_front_door" {
  command = plan

  assert {
    condition     = aws_lambda_function_url.this[0].authorization_type == "AWS_IAM"
    error_message = "The Function URL requires IAM auth."
  }
  assert {
    condition     = length(aws_apigatewayv2_api.this) == 0
    error_message = "No HTTP API by default."
  }
  assert {
    condition     = aws_lambda_function.this[0].runtime == "python3.12" && aws_lambda_function.this[0].handler == "handler.handler"
    error_message = "Zip package on python3.12 with handler.handler."
  }
  assert {
    condition     = aws_lambda_function.this[0].memory_size == 1024 && aws_lambda_function.this[0].timeout == 30
    error_message = "Defaults are 1024 MB and 30 s."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_PROFILE"] == "lambda"
    error_message = "HEADROOM_PROFILE=lambda."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_KOMPRESS"] == "off"
    error_message = "Kompress is off on a CPU-only function."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_CCR_TTL_SECONDS"] == "3600"
    error_message = "The CCR TTL reaches the function."
  }
  assert {
    condition     = aws_lambda_function.this[0].tracing_config[0].mode == "Active"
    error_message = "X-Ray tracing is on by default."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_REDIS_URL"] == var.shared_state.redis.url && aws_lambda_function.this[0].environment[0].variables["HEADROOM_S3_BUCKET"] == "hr-ccr-bucket"
    error_message = "The shared state's Redis URL and bucket reach the function."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_S3_KMS_KEY_ID"] == var.shared_state.s3.kms_key_arn && aws_lambda_function.this[0].environment[0].variables["HEADROOM_S3_PREFIX"] == "headroom-gateway/"
    error_message = "The bucket's key and prefix reach the function."
  }
  assert {
    condition     = aws_iam_role_policy.shared_state[0].policy == var.shared_state.s3.access_policy_json
    error_message = "The role carries the shared state's access policy."
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.redis) == 1 && aws_vpc_security_group_egress_rule.redis[0].referenced_security_group_id == "sg-redis"
    error_message = "Egress to the cache's security group."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this[0].kms_key_id == var.shared_state.kms_key_arn && aws_lambda_function.this[0].kms_key_arn == var.shared_state.kms_key_arn
    error_message = "The shared state's key encrypts the logs and the environment."
  }
}

run "http_api_with_jwt_authorizer" {
  command = plan

  variables {
    front_door = "http_api"
    http_api_authorizer = {
      type         = "jwt"
      jwt_issuer   = "https://issuer.example.com"
      jwt_audience = ["headroom-gateway"]
    }
  }

  assert {
    condition     = aws_apigatewayv2_authorizer.this[0].authorizer_type == "JWT"
    error_message = "A JWT authorizer."
  }
  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.this : r.authorization_type == "JWT"])
    error_message = "Every route is authorized."
  }
  assert {
    condition     = length(aws_lambda_function_url.this) == 0
    error_message = "No Function URL behind an HTTP API."
  }
}

run "http_api_with_lambda_authorizer_and_existing_state" {
  command = plan

  variables {
    front_door = "http_api"
    shared_state = {
      redis = { url = "rediss://cache.example:6379" }
      s3 = {
        bucket_name        = "existing-ccr-bucket"
        sse_algorithm      = "AES256"
        access_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
      }
    }
    kompress = { mode = "remote", endpoint = "http://kompress.internal:8787" }
    http_api_authorizer = {
      type       = "lambda"
      lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:authorizer"
    }
  }

  assert {
    condition     = aws_apigatewayv2_authorizer.this[0].authorizer_type == "REQUEST"
    error_message = "A Lambda REQUEST authorizer."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_KOMPRESS_ENDPOINT"] == "http://kompress.internal:8787"
    error_message = "The remote Kompress endpoint reaches the function."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["HEADROOM_S3_BUCKET"] == "existing-ccr-bucket"
    error_message = "The existing bucket reaches the function."
  }
  assert {
    condition     = length(aws_vpc_security_group_egress_rule.redis) == 0
    error_message = "No cache security group given, no egress rule to one."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this[0].environment[0].variables), "HEADROOM_S3_KMS_KEY_ID")
    error_message = "AES256: no KMS key id."
  }
}

run "large_zip_deploys_from_the_shared_state_bucket" {
  command = plan

  variables {
    deploy_from_s3 = true
  }

  assert {
    condition     = length(aws_s3_object.package) == 1 && aws_lambda_function.this[0].filename == null
    error_message = "The zip is uploaded to S3 instead of sent directly."
  }
  assert {
    condition     = startswith(aws_s3_object.package[0].key, "lambda-artifacts/headroom-gateway/")
    error_message = "Uploaded zips live outside the expiring CCR prefix."
  }
}

run "rejects_an_artifact_prefix_under_the_ccr_prefix" {
  command = plan

  variables {
    deploy_from_s3           = true
    deployment_s3_key_prefix = "headroom-gateway/lambda/"
  }

  expect_failures = [aws_s3_object.package]
}

run "without_shared_state_nothing_is_shared" {
  command = plan

  variables {
    shared_state = {}
  }

  assert {
    condition     = length(aws_iam_role_policy.shared_state) == 0 && length(aws_vpc_security_group_egress_rule.redis) == 0
    error_message = "No bucket policy and no cache egress without shared state."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this[0].environment[0].variables), "HEADROOM_REDIS_URL") && !contains(keys(aws_lambda_function.this[0].environment[0].variables), "HEADROOM_S3_BUCKET")
    error_message = "Neither Redis nor S3 is configured."
  }
}

run "rejects_a_zero_ccr_ttl" {
  command = plan

  variables {
    shared_state = { ccr_ttl_seconds = 0 }
  }

  expect_failures = [var.shared_state]
}

run "container_image_on_arm64" {
  command = plan

  variables {
    package_type = "Image"
    filename     = null
    image_uri    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/headroom-gateway:lambda"
    architecture = "arm64"
  }

  assert {
    condition     = aws_lambda_function.this[0].package_type == "Image" && aws_lambda_function.this[0].runtime == null
    error_message = "An image function has no runtime."
  }
}

run "streaming_function_url_for_the_proxy" {
  command = plan

  variables {
    package_type           = "Image"
    filename               = null
    image_uri              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/headroom-gateway:lambda-stream"
    function_url_streaming = true
    timeout                = 900
  }

  assert {
    condition     = aws_lambda_function_url.this[0].invoke_mode == "RESPONSE_STREAM"
    error_message = "The Function URL streams."
  }
  assert {
    condition     = aws_lambda_function.this[0].environment[0].variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    error_message = "Lambda Web Adapter streams too."
  }
}

run "buffered_function_url_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_function_url.this[0].invoke_mode == "BUFFERED" && !contains(keys(aws_lambda_function.this[0].environment[0].variables), "AWS_LWA_INVOKE_MODE")
    error_message = "Mangum answers buffered invocations."
  }
}

run "rejects_streaming_from_the_zip" {
  command = plan

  variables {
    function_url_streaming = true
  }

  expect_failures = [aws_lambda_function.this]
}

run "rejects_an_unknown_architecture" {
  command = plan

  variables {
    architecture = "i386"
  }

  expect_failures = [var.architecture]
}

run "rejects_an_unknown_front_door" {
  command = plan

  variables {
    front_door = "alb"
  }

  expect_failures = [var.front_door]
}

run "rejects_a_retention_cloudwatch_does_not_accept" {
  command = plan

  variables {
    cloudwatch_logs_retention_in_days = 10
  }

  expect_failures = [var.cloudwatch_logs_retention_in_days]
}
