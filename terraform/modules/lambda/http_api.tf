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
