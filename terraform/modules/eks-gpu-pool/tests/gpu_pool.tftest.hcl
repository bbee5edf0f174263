# Tests with mocked providers (no AWS account): `terraform init && terraform test` in this module.

mock_provider "aws" {
  # Valid-looking values where the provider checks them, for the apply runs below.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/headroom-gpu-mock" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_eks_cluster" {
    defaults = {
      vpc_config = [{
        vpc_id                    = "vpc-0123456789abcdef0"
        cluster_security_group_id = "sg-cluster"
        subnet_ids                = []
        security_group_ids        = []
        endpoint_private_access   = true
        endpoint_public_access    = false
        public_access_cidrs       = []
      }]
      identity = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE" }] }]
    }
  }
}

mock_provider "helm" {}
mock_provider "kubernetes" {}

variables {
  cluster_name      = "prod"
  subnet_ids        = ["subnet-a", "subnet-b"]
  image             = { repository = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/headroom-gateway", tag = "0.1.0-gpu" }
  token_secret_name = "headroom-gateway-token"
  # What modules/shared-state's connection output gives the examples.
  shared_state = {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001"
    redis = {
      url                = "rediss://hr.serverless.euw1.cache.amazonaws.com:6379"
      security_group_ids = ["sg-redis"]
    }
    s3 = {
      bucket_name        = "hr-ccr-bucket"
      kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001"
      access_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"CcrOriginalsReadWrite\"}]}"
    }
  }
}

run "defaults" {
  # apply (mocked): the release values hold the IRSA role ARN, unknown at plan time.
  command = apply

  assert {
    condition     = aws_eks_node_group.this[0].ami_type == "AL2023_x86_64_NVIDIA"
    error_message = "NVIDIA AL2023 AMI by default."
  }
  assert {
    condition     = aws_eks_node_group.this[0].labels["headroom.ai/pool"] == "gpu"
    error_message = "Nodes carry the label the chart selects."
  }
  assert {
    condition     = one([for t in aws_eks_node_group.this[0].taint : t.effect if t.key == "nvidia.com/gpu"]) == "NO_SCHEDULE"
    error_message = "Nodes carry the GPU taint the chart tolerates."
  }
  assert {
    condition     = aws_launch_template.this[0].metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 only."
  }
  assert {
    condition     = aws_launch_template.this[0].block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "Encrypted volume."
  }
  assert {
    condition     = length(helm_release.nvidia_device_plugin) == 1
    error_message = "AL2023 needs the NVIDIA device plugin."
  }
  assert {
    condition     = yamldecode(helm_release.this[0].values[0]).mode == "service"
    error_message = "The chart runs in mode: service."
  }
  assert {
    condition     = yamldecode(helm_release.this[0].values[0]).server.nodeSelector["headroom.ai/pool"] == "gpu"
    error_message = "The release selects the pool."
  }
  assert {
    condition     = yamldecode(helm_release.this[0].values[0]).s3.bucket == "hr-ccr-bucket" && yamldecode(helm_release.this[0].values[0]).s3.kmsKeyId == var.shared_state.s3.kms_key_arn
    error_message = "The shared state's bucket and key reach the release."
  }
  assert {
    condition     = aws_iam_role_policy.irsa_shared_state[0].policy == var.shared_state.s3.access_policy_json
    error_message = "The IRSA role carries the shared state's access policy."
  }
}

run "bottlerocket_with_existing_state" {
  # apply (mocked): the release values hold the IRSA role ARN, unknown at plan time.
  command = apply

  variables {
    ami_type = "BOTTLEROCKET_x86_64_NVIDIA"
    shared_state = {
      redis = { url = "rediss://cache.example:6379" }
      s3 = {
        bucket_name        = "existing-ccr-bucket"
        sse_algorithm      = "AES256"
        access_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
      }
    }
  }

  assert {
    condition     = aws_launch_template.this[0].block_device_mappings[0].device_name == "/dev/xvdb"
    error_message = "Bottlerocket images live on the data volume."
  }
  assert {
    condition     = length(helm_release.nvidia_device_plugin) == 0
    error_message = "Bottlerocket NVIDIA AMIs ship the device plugin."
  }
  assert {
    condition     = yamldecode(helm_release.this[0].values[0]).redis.url == "rediss://cache.example:6379"
    error_message = "The existing Redis URL reaches the release."
  }
}

run "without_shared_state_nothing_is_shared" {
  # apply (mocked): the release values hold the IRSA role ARN, unknown at plan time.
  command = apply

  variables {
    shared_state = {}
  }

  assert {
    condition     = length(aws_iam_role_policy.irsa_shared_state) == 0 && yamldecode(helm_release.this[0].values[0]).s3.bucket == "" && yamldecode(helm_release.this[0].values[0]).redis.url == ""
    error_message = "No S3 policy, bucket or Redis without shared state."
  }
}

run "rejects_a_non_gpu_ami" {
  command = plan

  variables {
    ami_type = "AL2023_x86_64_STANDARD"
  }

  expect_failures = [var.ami_type]
}

run "rejects_empty_instance_types" {
  command = plan

  variables {
    instance_types = []
  }

  expect_failures = [var.instance_types]
}

run "rejects_a_cpu_instance_type" {
  command = plan

  variables {
    instance_types = ["m7i.large"]
  }

  expect_failures = [var.instance_types]
}
