data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_eks_cluster" "this" {
  count = var.create ? 1 : 0

  name = var.cluster_name
}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  # The Helm chart's mode: service schedules onto exactly these (server.nodeSelector and the
  # toleration in server.gpu.tolerations); tests/packaging/test_terraform.py checks both sides.
  pool_label = { "headroom.ai/pool" = "gpu" }
  gpu_taint = {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }

  # nvidia.com/gpu.present is what the NVIDIA device plugin's default affinity selects on
  # when GPU feature discovery is not installed.
  node_labels = merge(var.labels, { "nvidia.com/gpu.present" = "true" }, local.pool_label)

  bottlerocket = startswith(var.ami_type, "BOTTLEROCKET")
  # Bottlerocket keeps images on its second (data) volume; AL2/AL2023 on the root volume.
  image_volume_device = local.bottlerocket ? "/dev/xvdb" : "/dev/xvda"

  install_device_plugin = var.create && coalesce(var.nvidia_device_plugin.install, !local.bottlerocket)

  vpc_id                     = try(data.aws_eks_cluster.this[0].vpc_config[0].vpc_id, null)
  cluster_security_group_id  = try(data.aws_eks_cluster.this[0].vpc_config[0].cluster_security_group_id, null)
  oidc_issuer                = try(replace(data.aws_eks_cluster.this[0].identity[0].oidc[0].issuer, "https://", ""), "")
  oidc_provider_arn          = var.oidc_provider_arn != null ? var.oidc_provider_arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.oidc_issuer}"
  node_role_arn              = var.create_iam_role ? try(aws_iam_role.node[0].arn, null) : var.iam_role_arn
  chart_path                 = var.chart_path != null ? var.chart_path : "${path.module}/../../../helm/headroom-gateway"
  cluster_id                 = coalesce(var.cluster_id, var.name)
  release_contains_chartname = length(regexall("headroom-gateway", var.release_name)) > 0
  fullname                   = local.release_contains_chartname ? var.release_name : "${var.release_name}-headroom-gateway"

  # Whether redis and s3 are null is known at plan time (the shared-state module's connection
  # output is built that way), so counts are too.
  redis      = var.shared_state.redis
  s3         = var.shared_state.s3
  has_redis  = local.redis != null
  has_bucket = local.s3 != null
  s3_kms_key = local.has_bucket ? local.s3.kms_key_arn : null

  tags = merge(var.tags, { "headroom.ai/component" = "eks-gpu-pool" })

  # Values of the headroom-gateway chart (helm/headroom-gateway/values.yaml) in mode: service.
  # nodeSelector and the GPU toleration are passed explicitly so the pool and the chart agree
  # whatever the chart's defaults become.
  helm_values = {
    mode = "service"

    gpuImage = {
      registry   = var.image.registry
      repository = var.image.repository
      tag        = var.image.tag
      digest     = var.image.digest
    }

    auth = {
      existingSecret    = var.token_secret_name
      existingSecretKey = var.token_secret_key
    }

    config = {
      clusterId     = local.cluster_id
      ccrTtlSeconds = var.shared_state.ccr_ttl_seconds
    }

    redis = {
      url = local.has_redis ? local.redis.url : ""
    }

    s3 = {
      bucket   = local.has_bucket ? local.s3.bucket_name : ""
      prefix   = local.has_bucket ? local.s3.prefix : ""
      region   = local.has_bucket ? local.region : ""
      sse      = local.has_bucket ? local.s3.sse_algorithm : ""
      kmsKeyId = local.s3_kms_key != null ? local.s3_kms_key : ""
    }

    server = {
      replicaCount = var.replicas
      nodeSelector = local.pool_label
      gpu = {
        enabled = true
        count   = var.gpus_per_pod
        tolerations = [{
          key      = local.gpu_taint.key
          operator = "Exists"
          effect   = "NoSchedule"
        }]
      }
    }

    serviceAccount = {
      create = true
      name   = var.service_account_name
      annotations = {
        "eks.amazonaws.com/role-arn" = try(aws_iam_role.irsa[0].arn, "")
      }
    }
  }
}

################################################################################
# Node IAM role
################################################################################

data "aws_iam_policy_document" "node_assume_role" {
  count = var.create && var.create_iam_role ? 1 : 0

  statement {
    sid     = "Ec2AssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  count = var.create && var.create_iam_role ? 1 : 0

  name_prefix        = "${var.name}-node-"
  description        = "headroom-gateway GPU node group ${var.name} on ${var.cluster_name}"
  assume_role_policy = data.aws_iam_policy_document.node_assume_role[0].json

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = var.create && var.create_iam_role ? merge(
    {
      AmazonEKSWorkerNodePolicy          = "arn:${local.partition}:iam::aws:policy/AmazonEKSWorkerNodePolicy"
      AmazonEKS_CNI_Policy               = "arn:${local.partition}:iam::aws:policy/AmazonEKS_CNI_Policy"
      AmazonEC2ContainerRegistryReadOnly = "arn:${local.partition}:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
    },
    var.iam_role_additional_policies,
  ) : {}

  role       = aws_iam_role.node[0].name
  policy_arn = each.value
}

################################################################################
# Launch template: IMDSv2 only, encrypted volume, pool security group
################################################################################

resource "aws_security_group" "node" {
  count = var.create ? 1 : 0

  name_prefix = "${var.name}-node-"
  description = "headroom-gateway GPU pool ${var.name}: identifies the pool's nodes to the shared-state cache (pass node_security_group_id to its allowed_security_group_ids); the cluster security group carries node traffic"
  vpc_id      = local.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-node" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_launch_template" "this" {
  count = var.create ? 1 : 0

  name_prefix            = "${var.name}-"
  description            = "headroom-gateway GPU node group ${var.name}"
  update_default_version = true

  # Setting groups here stops EKS from adding the cluster security group, so it is listed too.
  vpc_security_group_ids = [local.cluster_security_group_id, aws_security_group.node[0].id]

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = var.metadata_http_put_response_hop_limit
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = local.image_volume_device

    ebs {
      volume_size           = var.disk.size_gb
      volume_type           = var.disk.type
      iops                  = contains(["gp3", "io1", "io2"], var.disk.type) ? var.disk.iops : null
      throughput            = var.disk.type == "gp3" ? var.disk.throughput : null
      encrypted             = true
      kms_key_id            = var.disk.kms_key_arn
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  dynamic "tag_specifications" {
    for_each = toset(["instance", "volume", "network-interface"])

    content {
      resource_type = tag_specifications.value
      tags          = merge(local.tags, { Name = "${var.name}-gpu-node" })
    }
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Node group
################################################################################

resource "aws_eks_node_group" "this" {
  count = var.create ? 1 : 0

  cluster_name           = var.cluster_name
  node_group_name_prefix = "${var.name}-"
  node_role_arn          = local.node_role_arn
  subnet_ids             = var.subnet_ids

  ami_type        = var.ami_type
  capacity_type   = var.capacity_type
  instance_types  = var.instance_types
  version         = var.kubernetes_version
  release_version = var.release_version

  scaling_config {
    min_size     = var.scaling.min_size
    max_size     = var.scaling.max_size
    desired_size = var.scaling.desired_size
  }

  update_config {
    max_unavailable = var.update_max_unavailable
  }

  launch_template {
    id      = aws_launch_template.this[0].id
    version = aws_launch_template.this[0].latest_version
  }

  labels = local.node_labels

  # Keeps everything but the gateway (and GPU daemonsets, which tolerate it) off the pool.
  taint {
    key    = local.gpu_taint.key
    value  = local.gpu_taint.value
    effect = local.gpu_taint.effect
  }

  dynamic "taint" {
    for_each = var.taints

    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [scaling_config[0].desired_size]

    precondition {
      condition     = local.node_role_arn != null
      error_message = "iam_role_arn is required when create_iam_role is false."
    }
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

################################################################################
# IRSA role for the gateway's ServiceAccount
################################################################################

data "aws_iam_policy_document" "irsa_assume_role" {
  count = var.create ? 1 : 0

  statement {
    sid     = "ServiceAccountAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account_name}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  count = var.create ? 1 : 0

  name_prefix        = "${var.name}-irsa-"
  description        = "headroom-gateway service on ${var.cluster_name}: ${var.namespace}/${var.service_account_name}"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume_role[0].json

  tags = local.tags
}

resource "aws_iam_role_policy" "irsa_shared_state" {
  count = var.create && local.has_bucket ? 1 : 0

  name_prefix = "shared-state-"
  role        = aws_iam_role.irsa[0].id
  policy      = var.shared_state.s3.access_policy_json
}

################################################################################
# Kubernetes: namespace, NVIDIA device plugin, the gateway release
################################################################################

resource "kubernetes_namespace_v1" "this" {
  count = var.create && var.create_helm_release && var.create_namespace ? 1 : 0

  metadata {
    name = var.namespace

    labels = {
      "pod-security.kubernetes.io/enforce" = "restricted"
      "pod-security.kubernetes.io/audit"   = "restricted"
      "pod-security.kubernetes.io/warn"    = "restricted"
    }
  }
}

resource "helm_release" "nvidia_device_plugin" {
  count = local.install_device_plugin ? 1 : 0

  name       = "${var.name}-nvidia-device-plugin"
  repository = var.nvidia_device_plugin.repository
  chart      = "nvidia-device-plugin"
  version    = var.nvidia_device_plugin.version
  namespace  = var.nvidia_device_plugin.namespace

  values = [yamlencode({
    nodeSelector = local.pool_label
    tolerations = [{
      key      = local.gpu_taint.key
      operator = "Exists"
      effect   = "NoSchedule"
    }]
  })]

  depends_on = [aws_eks_node_group.this]
}

resource "helm_release" "this" {
  count = var.create && var.create_helm_release ? 1 : 0

  name             = var.release_name
  chart            = local.chart_path
  namespace        = var.namespace
  create_namespace = false
  wait             = true
  timeout          = var.helm_timeout
  cleanup_on_fail  = true
  max_history      = 10

  values = concat([yamlencode(local.helm_values)], var.helm_values)

  depends_on = [
    aws_eks_node_group.this,
    helm_release.nvidia_device_plugin,
    kubernetes_namespace_v1.this,
    aws_iam_role_policy.irsa_shared_state,
  ]
}
