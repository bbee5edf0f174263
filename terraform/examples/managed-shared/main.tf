provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Short-lived tokens from the AWS CLI, so no cluster credentials end up in the state.
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

locals {
  # Pods reach the cache and the database through the cluster security group, which EKS
  # puts on every managed node and Fargate pod.
  cluster_security_group_id = data.aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  vpc_id                    = data.aws_eks_cluster.this.vpc_config[0].vpc_id
  oidc_issuer               = replace(data.aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
  service_account           = "headroom-gateway"

  # modules/shared-state's connection object, consumed as one typed input everywhere.
  shared_state = module.shared_state.connection

  policy = yamldecode(file(coalesce(var.policy_file, "${path.module}/policy.yaml")))

  # helm/headroom-gateway values: the managed-shared profile
  # (helm/headroom-gateway/ci/managed-shared-values.yaml) with this account's resources.
  helm_values = {
    mode = "service"
    image = {
      repository = var.image_repository
      tag        = var.image_tag
    }
    auth = {
      existingSecret    = kubernetes_secret_v1.auth.metadata[0].name
      existingSecretKey = "proxy_token"
    }
    config = {
      clusterId     = var.name
      kompress      = "off"
      ccrTtlSeconds = local.shared_state.ccr_ttl_seconds
    }
    redis = {
      existingSecret    = kubernetes_secret_v1.redis.metadata[0].name
      existingSecretKey = "redis_url"
    }
    s3 = {
      bucket   = local.shared_state.s3.bucket_name
      prefix   = local.shared_state.s3.prefix
      region   = var.region
      sse      = local.shared_state.s3.sse_algorithm
      kmsKeyId = local.shared_state.s3.kms_key_arn != null ? local.shared_state.s3.kms_key_arn : ""
    }
    database = {
      existingSecret    = kubernetes_secret_v1.database.metadata[0].name
      existingSecretKey = "database_url"
    }
    providerKeys = length(local.provider_key_names) > 0 ? local.provider_key_values : tomap({})
    policy = {
      enabled = true
      content = local.policy
    }
    server = {
      nodeSelector = null
      gpu          = { enabled = false }
      resources = {
        requests = { cpu = "1", memory = "1Gi" }
        limits   = { cpu = "2", memory = "2Gi" }
      }
    }
    serviceAccount = {
      create = true
      name   = local.service_account
      annotations = {
        "eks.amazonaws.com/role-arn" = aws_iam_role.this.arn
      }
    }
    ingress = {
      enabled       = true
      className     = var.ingress.class_name
      host          = var.hostname
      tlsSecretName = var.ingress.tls_secret_name
      annotations   = var.ingress.annotations
    }
    autoscaling = {
      enabled                        = true
      minReplicas                    = var.replicas.min
      maxReplicas                    = var.replicas.max
      targetCPUUtilizationPercentage = 70
      inFlight                       = { enabled = true, averageValue = "8" }
      queueDepth                     = { enabled = true, averageValue = "2" }
    }
    podDisruptionBudget = {
      enabled      = true
      minAvailable = var.replicas.min - 1
    }
  }
}

################################################################################
# Shared state: ElastiCache Serverless (sessions) + S3 (CCR originals) + one KMS key
################################################################################

module "shared_state" {
  source = "../../modules/shared-state"

  name = var.name

  vpc_id                     = local.vpc_id
  subnet_ids                 = var.subnet_ids
  allowed_security_group_ids = [local.cluster_security_group_id]

  ccr_ttl_seconds = 3600
  tags            = var.tags
}

################################################################################
# IRSA: the gateway's ServiceAccount reads and writes CCR originals, nothing else
################################################################################

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "ServiceAccountAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.oidc_issuer}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${local.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${var.name}-irsa-"
  description        = "headroom-gateway managed-shared on ${var.cluster_name}: ${var.namespace}/${local.service_account}"
  assume_role_policy = data.aws_iam_policy_document.assume_role.json
}

resource "aws_iam_role_policy" "shared_state" {
  name_prefix = "shared-state-"
  role        = aws_iam_role.this.id
  policy      = local.shared_state.s3.access_policy_json
}

################################################################################
# The gateway: helm/headroom-gateway with the managed-shared profile
################################################################################

resource "helm_release" "this" {
  name             = var.release_name
  chart            = "${path.module}/../../../helm/headroom-gateway"
  namespace        = kubernetes_namespace_v1.this.metadata[0].name
  create_namespace = false
  wait             = true
  timeout          = 600
  cleanup_on_fail  = true
  max_history      = 10

  values = concat([yamlencode(local.helm_values)], var.helm_values)

  depends_on = [aws_iam_role_policy.shared_state, aws_db_instance.this]
}
