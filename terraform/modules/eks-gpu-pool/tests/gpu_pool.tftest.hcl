# Plan-only tests with mocked providers: `terraform init && terraform test` in this module.

mock_provider "aws" {
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
}

run "defaults" {
  command = plan

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
}

run "bottlerocket_with_existing_state" {
  command = plan

  variables {
    ami_type            = "BOTTLEROCKET_x86_64_NVIDIA"
    create_shared_state = false
    redis_url           = "rediss://cache.example:6379"
    s3_bucket_name      = "existing-ccr-bucket"
    s3_sse_algorithm    = "AES256"
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
