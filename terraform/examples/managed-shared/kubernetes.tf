################################################################################
# Namespace and the Secrets the chart reads (as files, never env vars)
################################################################################

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = var.namespace

    labels = {
      "pod-security.kubernetes.io/enforce" = "restricted"
      "pod-security.kubernetes.io/audit"   = "restricted"
      "pod-security.kubernetes.io/warn"    = "restricted"
    }
  }
}

# The gateway token: the operator's (GET /stats, /v1/config, /dashboard's fetches) and the one
# agents send as X-Headroom-Proxy-Token through the proxy.
resource "random_password" "token" {
  length  = 48
  special = false
}

resource "kubernetes_secret_v1" "auth" {
  metadata {
    name      = "headroom-gateway-auth"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }

  data = {
    proxy_token = random_password.token.result
  }
}

resource "kubernetes_secret_v1" "redis" {
  metadata {
    name      = "headroom-gateway-redis"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }

  data = {
    redis_url = local.shared_state.redis.url
  }
}

resource "kubernetes_secret_v1" "database" {
  metadata {
    name      = "headroom-gateway-database"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }

  data = {
    database_url = "postgresql://${aws_db_instance.this.username}:${random_password.database.result}@${aws_db_instance.this.endpoint}/${aws_db_instance.this.db_name}?sslmode=require"
  }
}

# The organisation's provider keys, when given: the chart mounts them for managed callers.
locals {
  provider_keys = var.provider_keys == null ? {} : {
    for name, key in {
      anthropic_api_key = var.provider_keys.anthropic
      openai_api_key    = var.provider_keys.openai
    } : name => key if key != null && key != "" # an unset variable expanded to "" is no key
  }
  # Which keys were given, never what they are: safe to show in a plan and to count on.
  provider_key_names = nonsensitive(toset(keys(local.provider_keys)))

  # The chart's providerKeys when keys were given; otherwise the chart's own defaults stay,
  # so an operator's Secret made by hand (set through var.helm_values) keeps its mount.
  provider_key_values = {
    existingSecret = one(kubernetes_secret_v1.provider_keys[*].metadata[0].name)
    anthropicKey   = contains(local.provider_key_names, "anthropic_api_key") ? "anthropic_api_key" : ""
    openaiKey      = contains(local.provider_key_names, "openai_api_key") ? "openai_api_key" : ""
  }
}

resource "kubernetes_secret_v1" "provider_keys" {
  count = length(local.provider_key_names) > 0 ? 1 : 0

  metadata {
    name      = "headroom-gateway-provider-keys"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
  }

  data = local.provider_keys
}
