{{/*
Named templates for charts that add the sidecar to their own gateway pods. With this chart
as a dependency (mode: sidecar), pass the subchart's context:

  containers:
    - name: envoy
      ...
    {{- include "headroom-gateway.sidecarContainer" (index .Subcharts "headroom-gateway") | nindent 4 }}
  volumes:
    {{- include "headroom-gateway.sidecarVolumes" (index .Subcharts "headroom-gateway") | nindent 4 }}

or, for a native sidecar (Kubernetes >= 1.29), under initContainers:

  initContainers:
    {{- include "headroom-gateway.nativeSidecarContainer" (index .Subcharts "headroom-gateway") | nindent 4 }}

The webhook injects the same container: these templates are the only definition of it.
"headroom-gateway.sidecarSpec" renders the container and its volumes as JSON into ConfigMap
<fullname>-inject, and adapters/k8s/injection.py only inserts what it reads there.
*/}}

{{/* The sidecar's parameters from the values (image, port, env...): the container below is built from them. */}}
{{- define "headroom-gateway.sidecarParams" -}}
{{- $env := list }}
{{- range $name, $value := (include "headroom-gateway.settingsEnv" . | fromYaml) }}
{{- $env = append $env (dict "name" $name "value" $value) }}
{{- end }}
{{- $env = concat $env .Values.sidecar.extraEnv }}
{{- $spec := dict
  "name" .Values.sidecar.name
  "image" (include "headroom-gateway.image" .)
  "imagePullPolicy" .Values.image.pullPolicy
  "port" (int .Values.sidecar.port)
  "resources" .Values.sidecar.resources
  "env" $env
}}
{{- if .Values.sidecar.existingSecret }}
{{- $_ := set $spec "secretName" .Values.sidecar.existingSecret }}
{{- end }}
{{- toJson $spec }}
{{- end }}

{{/*
Exec probe against the loopback address: the sidecar binds 127.0.0.1 and the kubelet probes
from the pod IP, so an httpGet probe could not reach it. Uses the image's own python3.
*/}}
{{- define "headroom-gateway.sidecarProbe" -}}
exec:
  command:
    - python3
    - -c
    - {{ printf "import urllib.request as r; r.urlopen('http://127.0.0.1:%s%s', timeout=2)" .port .path | quote }}
periodSeconds: {{ .period }}
timeoutSeconds: 3
failureThreshold: {{ .failures }}
{{- end }}

{{/* One container list item; .native adds restartPolicy: Always (native sidecar). */}}
{{- define "headroom-gateway.sidecarContainerItem" -}}
{{- $spec := include "headroom-gateway.sidecarParams" .ctx | fromJson }}
{{- $port := int64 $spec.port | toString -}}
- name: {{ $spec.name }}
  image: {{ $spec.image | quote }}
  imagePullPolicy: {{ $spec.imagePullPolicy }}
  args: ["serve", "--host", "127.0.0.1", "--port", {{ $port | quote }}]
  env:
    - name: HEADROOM_PROFILE
      value: sidecar
    - name: HEADROOM_HOST
      value: 127.0.0.1
    - name: HEADROOM_PORT
      value: {{ $port | quote }}
    - name: HEADROOM_DATA_DIR
      value: /var/lib/headroom-gateway
    {{- if $spec.secretName }}
    - name: HEADROOM_SECRETS_DIR
      value: /var/run/secrets/headroom
    {{- end }}
    {{- with $spec.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  resources:
    {{- toYaml $spec.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    privileged: false
    capabilities:
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
  startupProbe:
    {{- include "headroom-gateway.sidecarProbe" (dict "port" $port "path" "/startup" "period" 2 "failures" 30) | nindent 4 }}
  livenessProbe:
    {{- include "headroom-gateway.sidecarProbe" (dict "port" $port "path" "/live" "period" 10 "failures" 3) | nindent 4 }}
  readinessProbe:
    {{- include "headroom-gateway.sidecarProbe" (dict "port" $port "path" "/ready" "period" 5 "failures" 2) | nindent 4 }}
  volumeMounts:
    - name: headroom-gateway-data
      mountPath: /var/lib/headroom-gateway
    - name: headroom-gateway-tmp
      mountPath: /tmp
    {{- if $spec.secretName }}
    - name: headroom-gateway-secrets
      mountPath: /var/run/secrets/headroom
      readOnly: true
    {{- end }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
{{- end }}

{{/* The sidecar as a regular container (a list item for spec.containers). */}}
{{- define "headroom-gateway.sidecarContainer" -}}
{{- include "headroom-gateway.sidecarContainerItem" (dict "ctx" . "native" false) }}
{{- end }}

{{/* The sidecar as a native sidecar (a list item for spec.initContainers, put it first). */}}
{{- define "headroom-gateway.nativeSidecarContainer" -}}
{{- include "headroom-gateway.sidecarContainerItem" (dict "ctx" . "native" true) }}
{{- end }}

{{/* Pod volumes the sidecar mounts (list items for spec.volumes). */}}
{{- define "headroom-gateway.sidecarVolumes" -}}
- name: headroom-gateway-data
  emptyDir:
    sizeLimit: 1Gi
- name: headroom-gateway-tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .Values.sidecar.existingSecret }}
- name: headroom-gateway-secrets
  secret:
    secretName: {{ .Values.sidecar.existingSecret }}
    # 0444: the gateway pod may set no fsGroup, and uid 10001 must still read the files.
    defaultMode: 0444
{{- end }}
{{- end }}

{{/*
What the webhook injects, as JSON: {"container": <one container>, "volumes": [<volumes>]}.
The container is native (an init container with restartPolicy: Always) when sidecar.native.
*/}}
{{- define "headroom-gateway.sidecarSpec" -}}
{{- $container := include "headroom-gateway.sidecarContainerItem" (dict "ctx" . "native" .Values.sidecar.native) | fromYamlArray | first }}
{{- $volumes := include "headroom-gateway.sidecarVolumes" . | fromYamlArray }}
{{- toJson (dict "container" $container "volumes" $volumes) }}
{{- end }}
