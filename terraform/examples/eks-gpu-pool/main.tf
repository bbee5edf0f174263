provider "aws" {
  region = var.region
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

# Short-lived tokens from the AWS CLI, so no credentials end up in the state.
provider "helm" {
  kubernetes = {
    host                   = data.aws_eks_cluster.this.endpoint
    cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", var.cluster_name, "--region", var.region]
    }
  }
}

provider "kubernetes" {
  host                   = data.aws_eks_cluster.this.endpoint
  cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", var.cluster_name, "--region", var.region]
  }
}

# Redis (ElastiCache Serverless, valkey) + S3 bucket with a KMS key; only the pool's nodes
# reach the cache, and the service reaches S3 through IRSA.
module "shared_state" {
  source = "../../modules/shared-state"

  name = var.name

  vpc_id                     = data.aws_eks_cluster.this.vpc_config[0].vpc_id
  subnet_ids                 = var.subnet_ids
  allowed_security_group_ids = [module.gpu_pool.node_security_group_id]

  ccr_ttl_seconds = 3600
}

module "gpu_pool" {
  source = "../../modules/eks-gpu-pool"

  name           = var.name
  cluster_name   = var.cluster_name
  subnet_ids     = var.subnet_ids
  instance_types = var.instance_types
  scaling = {
    min_size     = 1
    max_size     = 2
    desired_size = 1
  }

  image = {
    repository = var.image_repository
    tag        = var.image_tag
  }
  replicas          = 1
  namespace         = var.namespace
  token_secret_name = var.token_secret_name

  shared_state = module.shared_state.connection
}
