{{/*
Names, labels and shared pieces. The named templates other charts include to add the
sidecar live in _sidecar.tpl.
*/}}

{{/* Chart name, overridable. */}}
{{- define "headroom-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "headroom-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name with a suffix, still within the 63-character limit. */}}
{{- define "headroom-gateway.suffixed" -}}
{{- printf "%s-%s" (include "headroom-gateway.fullname" .ctx | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix }}
{{- end }}

{{- define "headroom-gateway.webhookName" -}}
{{- include "headroom-gateway.suffixed" (dict "ctx" . "suffix" "webhook") }}
{{- end }}

{{- define "headroom-gateway.webhookTlsSecretName" -}}
{{- include "headroom-gateway.suffixed" (dict "ctx" . "suffix" "webhook-tls") }}
{{- end }}

{{- define "headroom-gateway.injectConfigMapName" -}}
{{- include "headroom-gateway.suffixed" (dict "ctx" . "suffix" "inject") }}
{{- end }}

{{- define "headroom-gateway.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "headroom-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "headroom-gateway.labels" -}}
helm.sh/chart: {{ include "headroom-gateway.chart" . }}
{{ include "headroom-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: headroom-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: stable across upgrades, so no chart version in them. */}}
{{- define "headroom-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "headroom-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "headroom-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "headroom-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference from an image block: registry/repository, then @digest or :tag. */}}
{{- define "headroom-gateway.imageRef" -}}
{{- $repo := .image.repository }}
{{- if .image.registry }}
{{- $repo = printf "%s/%s" .image.registry .image.repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repo .image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .defaultTag .image.tag) }}
{{- end }}
{{- end }}

{{- define "headroom-gateway.image" -}}
{{- include "headroom-gateway.imageRef" (dict "image" .Values.image "defaultTag" .Chart.AppVersion) }}
{{- end }}

{{/* The server's image: the GPU build on the GPU pool, the CPU build otherwise. */}}
{{- define "headroom-gateway.serverImage" -}}
{{- if .Values.server.gpu.enabled }}
{{- include "headroom-gateway.imageRef" (dict "image" .Values.gpuImage "defaultTag" (printf "%s-gpu" .Chart.AppVersion)) }}
{{- else }}
{{- include "headroom-gateway.image" . }}
{{- end }}
{{- end }}

{{/*
Gateway settings as an env map (name: value), from config, redis and s3; shared by the
server ConfigMap and the sidecar. Only non-empty settings, so the app's defaults apply.
*/}}
{{- define "headroom-gateway.settingsEnv" -}}
{{- $c := .Values.config }}
{{- $env := dict
  "HEADROOM_CLUSTER_ID" $c.clusterId
  "HEADROOM_LOG_LEVEL" $c.logLevel
  "HEADROOM_CCR_TTL_SECONDS" $c.ccrTtlSeconds
  "HEADROOM_SESSION_TTL_SECONDS" $c.sessionTtlSeconds
  "HEADROOM_MAX_BODY_BYTES" $c.maxBodyBytes
  "HEADROOM_DEADLINE_SECONDS" $c.deadlineSeconds
  "HEADROOM_KOMPRESS" $c.kompress
  "HEADROOM_KOMPRESS_MODEL_DIR" $c.kompressModelDir
  "HEADROOM_KOMPRESS_ENDPOINT" $c.kompressEndpoint
  "HEADROOM_ANTHROPIC_API_URL" $c.anthropicApiUrl
  "HEADROOM_OPENAI_API_URL" $c.openaiApiUrl
  "HEADROOM_PROXY_MODE" $c.proxyMode
  "HEADROOM_REDIS_URL" .Values.redis.url
  "HEADROOM_S3_BUCKET" .Values.s3.bucket
  "HEADROOM_S3_ENDPOINT_URL" .Values.s3.endpointUrl
  "HEADROOM_S3_REGION" .Values.s3.region
  "HEADROOM_S3_SSE" .Values.s3.sse
  "HEADROOM_S3_KMS_KEY_ID" .Values.s3.kmsKeyId
}}
{{- if .Values.s3.bucket }}
{{- $_ := set $env "HEADROOM_S3_PREFIX" .Values.s3.prefix }}
{{- end }}
{{- $out := dict }}
{{- /* config wins over a same-named extraEnv entry */}}
{{- range $k, $v := merge $env (deepCopy $c.extraEnv) }}
{{- if or $v (eq (toString $v) "0") }}
{{- $_ := set $out $k (include "headroom-gateway.envString" $v) }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* A value as an env string; integers read from YAML arrive as floats, print them whole. */}}
{{- define "headroom-gateway.envString" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* Checks that render-time values are usable; fails with a message saying what to set. */}}
{{- define "headroom-gateway.validate" -}}
{{- if eq .Values.mode "service" }}
{{- if and (not .Values.auth.existingSecret) (not .Values.auth.token) }}
{{- fail "headroom-gateway: mode=service binds 0.0.0.0 and needs a bearer token. Set auth.existingSecret to a Secret holding the token under auth.existingSecretKey (recommended), or auth.token." }}
{{- end }}
{{- if .Values.webhook.enabled }}
{{- fail "headroom-gateway: webhook.enabled applies to mode=sidecar; install the injection webhook as a separate release." }}
{{- end }}
{{- end }}
{{- if and .Values.auth.existingSecret .Values.auth.token }}
{{- fail "headroom-gateway: set either auth.existingSecret or auth.token, not both." }}
{{- end }}
{{- if and .Values.redis.existingSecret .Values.redis.url }}
{{- fail "headroom-gateway: set either redis.existingSecret or redis.url, not both." }}
{{- end }}
{{- if and .Values.database.existingSecret (ne .Values.mode "service") }}
{{- fail "headroom-gateway: database.existingSecret is for mode=service; sidecars read secrets from sidecar.existingSecret in their own namespace." }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "headroom-gateway: ingress.enabled needs ingress.host (the name developers set as ANTHROPIC_BASE_URL)." }}
{{- end }}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) }}
{{- fail "headroom-gateway: httpRoute.enabled needs httpRoute.parentRefs (the Gateway whose HTTPS listener terminates TLS)." }}
{{- end }}
{{- if and .Values.policy.enabled .Values.policy.existingConfigMap .Values.policy.content }}
{{- fail "headroom-gateway: set either policy.existingConfigMap or policy.content, not both." }}
{{- end }}
{{- if and (eq .Values.s3.sse "aws:kms") (not .Values.s3.kmsKeyId) }}
{{- fail "headroom-gateway: s3.sse=aws:kms needs s3.kmsKeyId." }}
{{- end }}
{{- if and (eq .Values.mode "sidecar") (or .Values.redis.existingSecret .Values.s3.existingSecret) }}
{{- fail "headroom-gateway: redis.existingSecret and s3.existingSecret are for mode=service; sidecars read secrets from sidecar.existingSecret in their own namespace." }}
{{- end }}
{{- end }}

{{/* Secret holding the proxy token: the existing one, or the chart's own from auth.token. */}}
{{- define "headroom-gateway.tokenSecretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else if .Values.auth.token }}
{{- include "headroom-gateway.fullname" . }}
{{- end }}
{{- end }}

{{- define "headroom-gateway.tokenSecretKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretKey }}
{{- else }}
{{- "proxy_token" }}
{{- end }}
{{- end }}

{{/* DNS names the API server may use for the webhook Service. */}}
{{- define "headroom-gateway.webhookDnsNames" -}}
{{- $svc := include "headroom-gateway.webhookName" . }}
{{- $ns := include "headroom-gateway.namespace" . }}
{{- toJson (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns)) }}
{{- end }}

{{/*
Self-signed webhook TLS material (base64 PEM: ca, cert, key). Reuses the Secret already in
the cluster when there is one, so upgrades keep the CA the API server trusts; otherwise
(first install, or `helm template`) generates a CA and a serving certificate.
*/}}
{{- define "headroom-gateway.webhookSelfSignedTls" -}}
{{- $name := include "headroom-gateway.webhookTlsSecretName" . }}
{{- $existing := lookup "v1" "Secret" (include "headroom-gateway.namespace" .) $name }}
{{- $data := dig "data" (dict) $existing }}
{{- if and (index $data "ca.crt") (index $data "tls.crt") (index $data "tls.key") }}
ca: {{ index $data "ca.crt" }}
cert: {{ index $data "tls.crt" }}
key: {{ index $data "tls.key" }}
{{- else }}
{{- $days := int .Values.webhook.tls.selfSigned.validityDays }}
{{- $names := include "headroom-gateway.webhookDnsNames" . | fromJsonArray }}
{{- $ca := genCA (printf "%s-ca" (include "headroom-gateway.webhookName" .)) $days }}
{{- $cert := genSignedCert (index $names 2) nil $names $days $ca }}
ca: {{ $ca.Cert | b64enc }}
cert: {{ $cert.Cert | b64enc }}
key: {{ $cert.Key | b64enc }}
{{- end }}
{{- end }}

{{/* ConfigMap holding the operator's policy file: the existing one, or the chart's own. */}}
{{- define "headroom-gateway.policyConfigMapName" -}}
{{- default (include "headroom-gateway.suffixed" (dict "ctx" . "suffix" "policy")) .Values.policy.existingConfigMap }}
{{- end }}
