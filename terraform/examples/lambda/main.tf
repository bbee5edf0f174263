provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

locals {
  # The artifact `make lambda-zip` writes at the repository root.
  filename = var.filename != null ? var.filename : "${path.module}/../../../dist/headroom-gateway-lambda-${var.architecture}.zip"
}

# Redis (ElastiCache Serverless, valkey) + S3 bucket, and one KMS key for them and the
# function's logs. The two modules reference each other's outputs (security group, log group
# names) without a cycle: neither output depends on the other module's inputs.
module "shared_state" {
  source = "../../modules/shared-state"

  name = var.name

  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  allowed_security_group_ids = [module.headroom_gateway.security_group_id]
  cloudwatch_log_group_names = module.headroom_gateway.log_group_names

  ccr_ttl_seconds = 3600
}

module "headroom_gateway" {
  source = "../../modules/lambda"

  name           = var.name
  package_type   = "Zip"
  filename       = local.filename
  deploy_from_s3 = var.deploy_from_s3
  architecture   = var.architecture

  vpc_id                 = var.vpc_id
  subnet_ids             = var.private_subnet_ids
  create_s3_vpc_endpoint = var.create_s3_vpc_endpoint
  route_table_ids        = var.private_route_table_ids

  front_door                     = var.front_door
  function_url_invoke_principals = var.function_url_invoke_principals
  http_api_authorizer = var.front_door == "http_api" ? {
    type         = "jwt"
    jwt_issuer   = var.jwt_issuer
    jwt_audience = var.jwt_audience
  } : null

  shared_state = module.shared_state.connection
}
