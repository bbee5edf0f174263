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
