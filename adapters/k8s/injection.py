"""Mutating admission webhook logic: insert the chart-rendered sidecar into labelled pods.

The Helm chart owns the sidecar: its named template `headroom-gateway.sidecarSpec` renders
the container and the volumes it mounts as JSON (ConfigMap `<fullname>-inject`, mounted
into the webhook pod). This module only builds the JSON Patch that inserts them, so the
webhook and the gateway charts that include the named templates add the same container.

Pure functions over plain dicts (standard library only), so the logic is tested without an
API server and the HTTPS shell (`adapters.k8s.webhook_server`) stays thin. The webhook must
never block pod creation: anything unexpected yields an allowed response without a patch,
and the chart registers it with `failurePolicy: Ignore`.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADMISSION_API_VERSION = "admission.k8s.io/v1"
INJECTED_ANNOTATION = "headroom.ai/injected"
#: Env var naming the JSON spec file the chart mounts into the webhook pod.
SPEC_FILE_ENV = "HEADROOM_INJECT_SPEC_FILE"
DEFAULT_SPEC_FILE = "/etc/headroom-gateway/inject/spec.json"

JsonObject = dict[str, Any]


def _named(item: Any, what: str) -> str:
    """The non-empty `name` of a JSON object, or ValueError naming `what` is wrong."""
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, str) or not name:
        raise ValueError(f"sidecar spec: {what} must be an object with a name")
    return name


@dataclass(frozen=True)
class InjectSpec:
    """What to inject, exactly as the chart rendered it (`spec.json`)."""

    container: JsonObject
    volumes: list[JsonObject]

    def __post_init__(self) -> None:
        # Checked at start-up, so a broken ConfigMap stops the webhook pod (visible in its
        # status) instead of producing patches the API server rejects pod by pod.
        _named(self.container, "container")
        image = self.container.get("image")
        if not isinstance(image, str) or not image:
            raise ValueError("sidecar spec: container.image is required")
        if not isinstance(self.volumes, list):
            raise ValueError("sidecar spec: volumes must be a list")
        names = [_named(v, "each volume") for v in self.volumes]
        mounts = self.container.get("volumeMounts") or []
        if not isinstance(mounts, list):
            raise ValueError("sidecar spec: container.volumeMounts must be a list")
        missing = sorted({_named(m, "each volumeMount") for m in mounts} - set(names))
        if missing:
            raise ValueError(f"sidecar spec: volumeMounts of no volume: {missing}")

    @property
    def name(self) -> str:
        return str(self.container["name"])

    @property
    def image(self) -> str:
        return str(self.container["image"])

    @property
    def native(self) -> bool:
        """A native sidecar is an init container that restarts Always (Kubernetes >= 1.29)."""
        return self.container.get("restartPolicy") == "Always"

    @classmethod
    def from_dict(cls, data: Any) -> InjectSpec:
        """Build from the chart's JSON: {"container": {...}, "volumes": [...]}."""
        if not isinstance(data, Mapping):
            raise ValueError("sidecar spec must be a JSON object")
        unknown = set(data) - {"container", "volumes"}
        if unknown:
            raise ValueError(f"sidecar spec: unknown keys {sorted(unknown)}")
        container = data.get("container")
        if not isinstance(container, dict):
            raise ValueError("sidecar spec: container must be an object")
        volumes = data.get("volumes", [])
        return cls(container=container, volumes=volumes)


def load_spec(path: str | Path) -> InjectSpec:
    """Read the spec file the chart mounts (see SPEC_FILE_ENV)."""
    return InjectSpec.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _escape(key: str) -> str:
    """JSON Pointer escaping (RFC 6901) for annotation keys such as headroom.ai/injected."""
    return key.replace("~", "~0").replace("/", "~1")


def _annotation_op(metadata: Any, annotations: Any) -> JsonObject:
    """The op marking the pod injected, creating metadata/annotations when absent."""
    marker = {INJECTED_ANNOTATION: "true"}
    if not isinstance(metadata, dict):
        return {"op": "add", "path": "/metadata", "value": {"annotations": marker}}
    if not isinstance(annotations, dict):
        return {"op": "add", "path": "/metadata/annotations", "value": marker}
    path = f"/metadata/annotations/{_escape(INJECTED_ANNOTATION)}"
    return {"op": "add", "path": path, "value": "true"}


def pod_patch(pod: Any, spec: InjectSpec) -> tuple[list[JsonObject], str]:
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
    clash = sorted(taken & {str(v["name"]) for v in spec.volumes})
    if clash:
        return [], f"pod already has volumes named {', '.join(clash)}"

    # Copies: the ops end up in a response and must not alias the spec shared by threads.
    container = copy.deepcopy(spec.container)
    new_volumes = copy.deepcopy(spec.volumes)
    ops: list[JsonObject] = []
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
    elif new_volumes:
        ops.append({"op": "add", "path": "/spec/volumes", "value": new_volumes})
    ops.append(_annotation_op(metadata, annotations))
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


def admission_response(review: Any, spec: InjectSpec) -> JsonObject:
    """AdmissionReview v1 response to `review`; always allowed, patched for new Pods."""
    request = review.get("request") if isinstance(review, Mapping) else None
    uid = request.get("uid") if isinstance(request, Mapping) else None
    response: JsonObject = {"uid": uid if isinstance(uid, str) else "", "allowed": True}
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
