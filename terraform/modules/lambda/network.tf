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

# count over a list whose length is known at plan time, though its ids may not be yet.
resource "aws_vpc_security_group_egress_rule" "redis" {
  count = var.create ? length(local.redis_sg_ids) : 0

  security_group_id            = aws_security_group.this[0].id
  description                  = "Redis TLS (6379 primary, 6380 reader) to the shared-state cache"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = local.redis_sg_ids[count.index]

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
