# The example's composition with mocked providers: `terraform init && terraform test` here.
# shared_state and headroom_gateway reference each other's outputs (security group, log group
# names, connection); this plans without a cycle and with every count known, then applies.

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
  # Valid-looking values where the provider or the modules check them.
  mock_resource "aws_elasticache_serverless_cache" {
    defaults = { endpoint = [{ address = "hr.serverless.euw1.cache.amazonaws.com", port = 6379 }] }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/headroom-gateway-mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/headroom-gateway" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001" }
  }
}

variables {
  vpc_id                  = "vpc-0123456789abcdef0"
  private_subnet_ids      = ["subnet-a", "subnet-b"]
  private_route_table_ids = ["rtb-a"]
  filename                = "tests/fixture.zip"
}

run "plans_without_a_cycle" {
  command = plan

  assert {
    condition     = length(module.shared_state.connection.redis.security_group_ids) == 1 && module.shared_state.connection.s3.prefix == "headroom-gateway/"
    error_message = "The connection carries the cache and the bucket."
  }
  assert {
    condition     = module.headroom_gateway.log_group_names == ["/aws/lambda/headroom-gateway", "/aws/apigateway/headroom-gateway"]
    error_message = "The log group names the shared key's policy admits are known at plan time."
  }
}

run "applies" {
  assert {
    condition     = module.shared_state.connection.redis.security_group_ids[0] == module.shared_state.redis_security_group_id
    error_message = "The function gets egress to the cache's security group."
  }
  assert {
    condition     = module.shared_state.connection.redis.url == "rediss://hr.serverless.euw1.cache.amazonaws.com:6379"
    error_message = "The function gets the cache's TLS URL."
  }
  assert {
    condition     = output.bucket_name == module.shared_state.connection.s3.bucket_name && output.function_name == "headroom-gateway"
    error_message = "One bucket, created by shared_state and used by the function."
  }
}
