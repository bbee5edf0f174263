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
