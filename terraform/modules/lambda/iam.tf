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

  # Environment variables are encrypted with the shared state's key; only Lambda may use it for
  # the role, and only to decrypt.
  dynamic "statement" {
    for_each = local.kms_key_arn != null ? ["DecryptEnvironment"] : []

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
  policy      = var.shared_state.s3.access_policy_json
}

resource "aws_iam_role_policy_attachment" "xray" {
  count = var.create && var.tracing_enabled ? 1 : 0

  role       = aws_iam_role.this[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}
