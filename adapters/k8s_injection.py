"""Mutating admission webhook logic: add the headroom-gateway sidecar to labelled pods.

Pure functions over plain dicts (standard library only), so the logic is tested without an
API server and the HTTPS shell (`adapters.k8s_webhook_server`) stays thin. The webhook must
never block pod creation: anything unexpected yields an allowed response without a patch,
and the chart registers it with `failurePolicy: Ignore`.

The container built here must stay identical to the Helm named templates
`headroom-gateway.sidecarContainer` / `headroom-gateway.nativeSidecarContainer`
(tests/packaging compares them), so both ways of adding the sidecar give the same pod.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ADMISSION_API_VERSION = "admission.k8s.io/v1"
INJECTED_ANNOTATION = "headroom.ai/injected"
#: Env var naming the JSON spec file the chart mounts into the webhook pod.
SPEC_FILE_ENV = "HEADROOM_INJECT_SPEC_FILE"
DEFAULT_SPEC_FILE = "/etc/headroom-gateway/inject/spec.json"

DATA_DIR = "/var/lib/headroom-gateway"
SECRETS_DIR = "/var/run/secrets/headroom"
DATA_VOLUME = "headroom-gateway-data"
TMP_VOLUME = "headroom-gateway-tmp"
SECRETS_VOLUME = "headroom-gateway-secrets"
RUN_AS = 10001
# Bounded scratch space: the sidecar must not be able to fill the node's disk.
DATA_SIZE_LIMIT = "1Gi"
TMP_SIZE_LIMIT = "256Mi"

#: Env names the sidecar sets itself; user env may not override them (the chart schema
#: rejects them too), so the pod never carries two conflicting definitions.
RESERVED_ENV = frozenset(
    {
        "HEADROOM_PROFILE",
        "HEADROOM_HOST",
        "HEADROOM_PORT",
        "HEADROOM_DATA_DIR",
        "HEADROOM_SECRETS_DIR",
    }
)


@dataclass(frozen=True)
class SidecarSpec:
    """What to inject: the chart renders it as JSON (`spec.json`) for the webhook pod."""

    image: str
    port: int = 8787
    resources: dict[str, Any] = field(default_factory=dict)
    env: list[dict[str, Any]] = field(default_factory=list)
    native: bool = True
    name: str = "headroom-gateway"
    image_pull_policy: str = "IfNotPresent"
    #: Secret in the pod's namespace mounted as HEADROOM_SECRETS_DIR (proxy_token, redis_url).
    secret_name: str | None = None

    def __post_init__(self) -> None:
        if not self.image:
            raise ValueError("sidecar spec: image is required")
        if not 0 < self.port < 65536:
            raise ValueError(f"sidecar spec: port {self.port} out of range")
        for item in self.env:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ValueError("sidecar spec: env items must be objects with a name")
            if item["name"] in RESERVED_ENV:
                raise ValueError(f"sidecar spec: env {item['name']} is set by the sidecar")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SidecarSpec:
        """Build from the chart's JSON (camelCase keys, as in Kubernetes objects)."""
        if not isinstance(data, Mapping):
            raise ValueError("sidecar spec must be a JSON object")
        known = {
            "image",
            "port",
            "resources",
            "env",
            "native",
            "name",
            "imagePullPolicy",
            "secretName",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"sidecar spec: unknown keys {sorted(unknown)}")
        return cls(
            image=str(data.get("image", "")),
            port=int(data.get("port", 8787)),
            resources=dict(data.get("resources") or {}),
            env=list(data.get("env") or []),
            native=bool(data.get("native", True)),
            name=str(data.get("name", "headroom-gateway")),
            image_pull_policy=str(data.get("imagePullPolicy", "IfNotPresent")),
            secret_name=data.get("secretName") or None,
        )


def load_spec(path: str | Path) -> SidecarSpec:
    """Read the spec file the chart mounts (see SPEC_FILE_ENV)."""
    return SidecarSpec.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _probe(spec: SidecarSpec, path: str, period: int, failures: int) -> dict[str, Any]:
    # The sidecar binds 127.0.0.1 and the kubelet probes from the pod IP, so an httpGet
    # probe cannot reach it; the image's own Python asks the loopback address instead.
    script = (
        f"import urllib.request as r; r.urlopen('http://127.0.0.1:{spec.port}{path}', timeout=2)"
    )
    return {
        "exec": {"command": ["python3", "-c", script]},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def sidecar_container(spec: SidecarSpec) -> dict[str, Any]:
    """The container object, regular or native (init container restarting Always)."""
    env: list[dict[str, Any]] = [
        {"name": "HEADROOM_PROFILE", "value": "sidecar"},
        {"name": "HEADROOM_HOST", "value": "127.0.0.1"},
        {"name": "HEADROOM_PORT", "value": str(spec.port)},
        {"name": "HEADROOM_DATA_DIR", "value": DATA_DIR},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": DATA_VOLUME, "mountPath": DATA_DIR},
        {"name": TMP_VOLUME, "mountPath": "/tmp"},
    ]
    if spec.secret_name:
        env.append({"name": "HEADROOM_SECRETS_DIR", "value": SECRETS_DIR})
        mounts.append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
    env.extend(spec.env)
    container: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": ["serve", "--host", "127.0.0.1", "--port", str(spec.port)],
        "env": env,
        "resources": spec.resources,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "startupProbe": _probe(spec, "/startup", 2, 30),
        "livenessProbe": _probe(spec, "/live", 10, 3),
        "readinessProbe": _probe(spec, "/ready", 5, 2),
        "volumeMounts": mounts,
    }
    if spec.native:
        container["restartPolicy"] = "Always"
    return container


def sidecar_volumes(spec: SidecarSpec) -> list[dict[str, Any]]:
    """Pod volumes the sidecar mounts: writable scratch (read-only rootfs) and secrets."""
    volumes: list[dict[str, Any]] = [
        {"name": DATA_VOLUME, "emptyDir": {"sizeLimit": DATA_SIZE_LIMIT}},
        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
    ]
    if spec.secret_name:
        # 0444: the injected pod may set no fsGroup, and uid 10001 must still read the files.
        volumes.append(
            {
                "name": SECRETS_VOLUME,
                "secret": {"secretName": spec.secret_name, "defaultMode": 0o444},
            }
        )
    return volumes


def _escape(key: str) -> str:
    """JSON Pointer escaping (RFC 6901) for annotation keys such as headroom.ai/injected."""
    return key.replace("~", "~0").replace("/", "~1")


def pod_patch(pod: Any, spec: SidecarSpec) -> tuple[list[dict[str, Any]], str]:
    """JSONPatch ops adding the sidecar to `pod`, or no ops and the reason why not."""
    if not isinstance(pod, dict):
        return [], "object is not a Pod"
    pod_spec = pod.get("spec")
    if not isinstance(pod_spec, dict) or not isinstance(pod_spec.get("containers"), list):
        return [], "pod has no spec.containers"
    metadata = pod.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(annotations, dict) and annotations.get(INJECTED_ANNOTATION) == "true":
        return [], "already injected"
    init = pod_spec.get("initContainers")
    containers = pod_spec["containers"] + (init if isinstance(init, list) else [])
    if spec.name in {c.get("name") for c in containers if isinstance(c, dict)}:
        return [], f"pod already has a container named {spec.name}"
    volumes = pod_spec.get("volumes")
    taken = {str(v.get("name")) for v in volumes or [] if isinstance(v, dict)}
    new_volumes = sidecar_volumes(spec)
    clash = sorted(taken & {str(v["name"]) for v in new_volumes})
    if clash:
        return [], f"pod already has volumes named {', '.join(clash)}"

    ops: list[dict[str, Any]] = []
    container = sidecar_container(spec)
    if spec.native:
        # First init container: later init containers and the app start once it is started.
        if isinstance(init, list):
            ops.append({"op": "add", "path": "/spec/initContainers/0", "value": container})
        else:
            ops.append({"op": "add", "path": "/spec/initContainers", "value": [container]})
    else:
        ops.append({"op": "add", "path": "/spec/containers/-", "value": container})
    if isinstance(volumes, list):
        ops.extend({"op": "add", "path": "/spec/volumes/-", "value": v} for v in new_volumes)
    else:
        ops.append({"op": "add", "path": "/spec/volumes", "value": new_volumes})
    if not isinstance(metadata, dict):
        ops.append(
            {
                "op": "add",
                "path": "/metadata",
                "value": {"annotations": {INJECTED_ANNOTATION: "true"}},
            }
        )
    elif not isinstance(annotations, dict):
        ops.append(
            {"op": "add", "path": "/metadata/annotations", "value": {INJECTED_ANNOTATION: "true"}}
        )
    else:
        ops.append(
            {
                "op": "add",
                "path": f"/metadata/annotations/{_escape(INJECTED_ANNOTATION)}",
                "value": "true",
            }
        )
    return ops, "injected"


def _is_pod_create(request: Mapping[str, Any]) -> str | None:
    """None when the request is a Pod CREATE, else why it is skipped."""
    kind = request.get("kind")
    if not isinstance(kind, Mapping) or kind.get("kind") != "Pod" or kind.get("group", ""):
        return "not a Pod"
    if request.get("subResource"):
        return f"subresource {request['subResource']} ignored"
    if request.get("operation") != "CREATE":
        return f"operation {request.get('operation')} ignored"
    return None


def admission_response(review: Any, spec: SidecarSpec) -> dict[str, Any]:
    """AdmissionReview v1 response to `review`; always allowed, patched for new Pods."""
    request = review.get("request") if isinstance(review, Mapping) else None
    uid = request.get("uid") if isinstance(request, Mapping) else None
    response: dict[str, Any] = {"uid": uid if isinstance(uid, str) else "", "allowed": True}
    if not isinstance(request, Mapping) or not isinstance(uid, str):
        message = "malformed AdmissionReview: no request.uid"
    elif review.get("apiVersion") != ADMISSION_API_VERSION:
        message = f"unsupported AdmissionReview apiVersion {review.get('apiVersion')!r}"
    else:
        skipped = _is_pod_create(request)
        if skipped is not None:
            message = skipped
        else:
            ops, message = pod_patch(request.get("object"), spec)
            if ops:
                response["patchType"] = "JSONPatch"
                response["patch"] = base64.b64encode(
                    json.dumps(ops, separators=(",", ":")).encode()
                ).decode("ascii")
    if "patch" not in response:
        # Ignored by the API server for allowed responses; kept for logs and tests.
        response["status"] = {"message": message}
    return {"apiVersion": ADMISSION_API_VERSION, "kind": "AdmissionReview", "response": response}
