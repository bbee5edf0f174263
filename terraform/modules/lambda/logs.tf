################################################################################
# Log groups: the function's and the HTTP API's access logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  count = var.create ? 1 : 0

  name              = local.lambda_log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = local.kms_key_arn

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "api" {
  count = local.http_api ? 1 : 0

  name              = local.api_log_group_name
  retention_in_days = var.cloudwatch_logs_retention_in_days
  kms_key_id        = local.kms_key_arn

  tags = local.tags
}
