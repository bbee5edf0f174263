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

  # Redis (ElastiCache Serverless, valkey) + S3 bucket with a KMS key, created here.
  create_shared_state = true
  ccr_ttl_seconds     = 3600
}
