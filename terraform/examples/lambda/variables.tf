variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the function and prefix of every resource."
  type        = string
  default     = "headroom-gateway"
}

variable "vpc_id" {
  description = "Existing VPC with private subnets."
  type        = string
}

variable "private_subnet_ids" {
  description = "At least two private subnets (different AZs) for the function and the cache."
  type        = list(string)
}

variable "private_route_table_ids" {
  description = "Route tables of the private subnets, for the S3 gateway endpoint."
  type        = list(string)
}

variable "create_s3_vpc_endpoint" {
  description = "Create the S3 gateway endpoint; set false when the VPC already has one on these route tables."
  type        = bool
  default     = true
}

variable "architecture" {
  description = "x86_64 or arm64; selects dist/headroom-gateway-lambda-<arch>.zip."
  type        = string
  default     = "x86_64"
}

variable "filename" {
  description = "Deployment zip; null uses dist/headroom-gateway-lambda-<architecture>.zip from `make lambda-zip` at the repository root."
  type        = string
  default     = null
}

variable "deploy_from_s3" {
  description = "Upload the zip to the CCR bucket (outside its expiring prefix) and deploy from there; needed when the zip is over Lambda's 50 MB direct-upload limit."
  type        = bool
  default     = true
}

variable "front_door" {
  description = "function_url (IAM-signed callers) or http_api (JWT authorizer below)."
  type        = string
  default     = "function_url"
}

variable "function_url_invoke_principals" {
  description = "IAM role ARNs or account IDs allowed to call the Function URL (e.g. your LiteLLM task role)."
  type        = list(string)
  default     = []
}

variable "jwt_issuer" {
  description = "JWT issuer URL for front_door = http_api (e.g. an OIDC provider or a Cognito user pool)."
  type        = string
  default     = null
}

variable "jwt_audience" {
  description = "Accepted JWT audiences for front_door = http_api."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default = {
    "app.kubernetes.io/part-of" = "headroom-gateway"
  }
}
