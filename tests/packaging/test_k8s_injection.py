"""The injection webhook's logic on real gateway pods: patch, apply, validate, idempotency.

Pods are built from the Envoy and LiteLLM Deployments in fixtures/ the way the ReplicaSet
controller creates them; the JSONPatch is applied with the `jsonpatch` library and the
result validated with kubernetes-validate --strict, so a patch the API server would reject
fails here.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.k8s_injection import (
    INJECTED_ANNOTATION,
    SidecarSpec,
    admission_response,
    load_spec,
    pod_patch,
    sidecar_container,
    sidecar_volumes,
)
from tests.packaging.k8s_support import (
    FIXTURES,
    HELM,
    INSTALL_HINT,
    consumer_chart,
    find,
    min_kube_version,
    render,
    render_shape,
    validate_object,
)

jsonpatch = pytest.importorskip("jsonpatch", reason="jsonpatch missing: pip install -e '.[dev]'")
pytest.importorskip("kubernetes_validate", reason="kubernetes-validate missing: .[dev]")

pytestmark = pytest.mark.packaging

GATEWAYS = ["envoy-gateway-deployment.yaml", "litellm-deployment.yaml"]
SPEC = SidecarSpec(
    image="registry.example/headroom-gateway:0.1.0",
    resources={
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    },
    env=[
        {"name": "HEADROOM_REDIS_URL", "value": "redis://redis.redis.svc:6379/0"},
        {
            "name": "HEADROOM_CLUSTER_ID",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        },
    ],
    secret_name="headroom-gateway-sidecar",
)
VERSIONS = (min_kube_version(), "1.33.0")


def deployment(fixture: str) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((FIXTURES / fixture).read_text())
    return manifest


def pod_from(dep: dict[str, Any]) -> dict[str, Any]:
    """The Pod the ReplicaSet controller submits for `dep` (what the webhook receives)."""
    template = copy.deepcopy(dep["spec"]["template"])
    metadata = template.get("metadata", {})
    metadata["generateName"] = f"{dep['metadata']['name']}-7c9d8b6f5d-"
    metadata["namespace"] = dep["metadata"]["namespace"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def review(obj: Any, *, kind: str = "Pod", operation: str = "CREATE") -> dict[str, Any]:
    resource = "pods" if kind == "Pod" else kind.lower() + "s"
    group = "" if kind == "Pod" else "apps"
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": resource},
            "requestKind": {"group": group, "version": "v1", "kind": kind},
            "requestResource": {"group": group, "version": "v1", "resource": resource},
            "namespace": "llm-gateway",
            "operation": operation,
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def decoded_patch(response: dict[str, Any]) -> list[dict[str, Any]]:
    assert response["patchType"] == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return ops


def assert_valid(obj: dict[str, Any]) -> None:
    errors = validate_object(obj, VERSIONS)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("native", [True, False], ids=["native", "regular"])
@pytest.mark.parametrize("fixture", GATEWAYS)
def test_patch_injects_sidecar_into_real_gateway_pod(fixture: str, native: bool) -> None:
    spec = dataclasses.replace(SPEC, native=native)
    dep = deployment(fixture)
    pod = pod_from(dep)
    original = copy.deepcopy(pod)
    request = review(pod)

    result = admission_response(request, spec)

    assert result["apiVersion"] == "admission.k8s.io/v1"
    assert result["kind"] == "AdmissionReview"
    response = result["response"]
    assert response["uid"] == request["request"]["uid"]
    assert response["allowed"] is True
    patched = jsonpatch.apply_patch(pod, decoded_patch(response))
    assert pod == original, "the webhook must not mutate its input"
    assert_valid(patched)

    spec_out = patched["spec"]
    sidecar = sidecar_container(spec)
    if native:
        # First init container, so it is started before the other init containers and the app.
        assert spec_out["initContainers"][0] == sidecar
        assert spec_out["initContainers"][0]["restartPolicy"] == "Always"
        assert spec_out["initContainers"][1:] == original["spec"].get("initContainers", [])
        assert spec_out["containers"] == original["spec"]["containers"]
    else:
        assert spec_out["containers"][:-1] == original["spec"]["containers"]
        assert spec_out["containers"][-1] == sidecar
        assert "restartPolicy" not in sidecar
        assert spec_out.get("initContainers") == original["spec"].get("initContainers")
    assert spec_out["volumes"] == original["spec"]["volumes"] + sidecar_volumes(spec)
    annotations = patched["metadata"]["annotations"]
    assert annotations[INJECTED_ANNOTATION] == "true"
    for key, value in original["metadata"].get("annotations", {}).items():
        assert annotations[key] == value
    assert patched["metadata"]["labels"] == original["metadata"]["labels"]

    # The same patch applied to the Deployment's pod template also validates.
    dep["spec"]["template"]["spec"] = spec_out
    dep["spec"]["template"]["metadata"]["annotations"] = annotations
    assert_valid(dep)

    # A second pass (reinvocation, or a pod created from a patched template) changes nothing.
    again = admission_response(review(patched), spec)["response"]
    assert "patch" not in again
    assert again["allowed"] is True
    assert again["status"]["message"] == "already injected"


def test_injected_container_is_hardened_and_probed_on_loopback() -> None:
    container = sidecar_container(SPEC)
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["args"] == ["serve", "--host", "127.0.0.1", "--port", "8787"]
    for probe, path in (
        ("startupProbe", "/startup"),
        ("livenessProbe", "/live"),
        ("readinessProbe", "/ready"),
    ):
        command = container[probe]["exec"]["command"]
        assert command[:2] == ["python3", "-c"]
        assert f"'http://127.0.0.1:8787{path}'" in command[2]
    env = {e["name"]: e for e in container["env"]}
    assert env["HEADROOM_HOST"]["value"] == "127.0.0.1"
    assert env["HEADROOM_PROFILE"]["value"] == "sidecar"
    assert env["HEADROOM_DATA_DIR"]["value"] == "/var/lib/headroom-gateway"
    assert env["HEADROOM_SECRETS_DIR"]["value"] == "/var/run/secrets/headroom"
    assert "valueFrom" in env["HEADROOM_CLUSTER_ID"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts) == {"/var/lib/headroom-gateway", "/tmp", "/var/run/secrets/headroom"}
    assert mounts["/var/run/secrets/headroom"]["readOnly"] is True
    assert container["resources"] == SPEC.resources


def test_pod_without_volumes_or_metadata_gets_them_created() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    }
    ops, message = pod_patch(pod, SPEC)
    assert message == "injected"
    patched = jsonpatch.apply_patch(pod, ops)
    assert patched["metadata"] == {"annotations": {INJECTED_ANNOTATION: "true"}}
    assert [v["name"] for v in patched["spec"]["volumes"]] == [
        "headroom-gateway-data",
        "headroom-gateway-tmp",
        "headroom-gateway-secrets",
    ]
    patched["metadata"]["name"] = "app"  # the API server fills in a name before validation
    assert_valid(patched)


@pytest.mark.parametrize(
    ("review_doc", "message"),
    [
        ("not an object", "malformed"),
        ({}, "malformed"),
        (
            {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {"operation": "CREATE"},
            },
            "malformed",
        ),
        (
            {
                "apiVersion": "admission.k8s.io/v1beta1",
                "kind": "AdmissionReview",
                "request": {"uid": "u1"},
            },
            "unsupported",
        ),
    ],
    ids=["string", "empty", "no-uid", "v1beta1"],
)
def test_malformed_review_is_allowed_without_patch(review_doc: Any, message: str) -> None:
    result = admission_response(review_doc, SPEC)
    response = result["response"]
    assert response["allowed"] is True
    assert "patch" not in response and "patchType" not in response
    assert message in response["status"]["message"]
    json.dumps(result)  # always serialisable


def test_other_requests_are_allowed_without_patch() -> None:
    dep = deployment("envoy-gateway-deployment.yaml")
    pod = pod_from(dep)
    cases = {
        "not a Pod": review(dep, kind="Deployment"),
        "operation UPDATE ignored": review(pod, operation="UPDATE"),
        "pod has no spec.containers": review({"apiVersion": "v1", "kind": "Pod"}),
        "object is not a Pod": review(["not", "a", "pod"]),
    }
    bad_sub = review(pod)
    bad_sub["request"]["subResource"] = "ephemeralcontainers"
    cases["subresource ephemeralcontainers ignored"] = bad_sub
    for expected, request in cases.items():
        response = admission_response(request, SPEC)["response"]
        assert response["uid"] == request["request"]["uid"]
        assert response["allowed"] is True
        assert "patch" not in response, expected
        assert response["status"]["message"] == expected


def test_existing_container_or_volume_names_are_never_overwritten() -> None:
    pod = pod_from(deployment("litellm-deployment.yaml"))
    named = copy.deepcopy(pod)
    named["spec"]["containers"].append({"name": "headroom-gateway", "image": "own:1"})
    assert pod_patch(named, SPEC) == ([], "pod already has a container named headroom-gateway")
    clash = copy.deepcopy(pod)
    clash["spec"]["volumes"].append({"name": "headroom-gateway-tmp", "emptyDir": {}})
    ops, message = pod_patch(clash, SPEC)
    assert ops == [] and "headroom-gateway-tmp" in message


def test_spec_rejects_reserved_env_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match="HEADROOM_HOST"):
        SidecarSpec(image="x:1", env=[{"name": "HEADROOM_HOST", "value": "0.0.0.0"}])
    with pytest.raises(ValueError, match="unknown keys"):
        SidecarSpec.from_dict({"image": "x:1", "hostNetwork": True})
    with pytest.raises(ValueError, match="image"):
        SidecarSpec.from_dict({})


# --- agreement with the chart ------------------------------------------------------------

needs_helm = pytest.mark.skipif(HELM is None, reason=f"helm not found: {INSTALL_HINT}")


def _inject_spec(objects: list[dict[str, Any]], tmp_path: Path) -> SidecarSpec:
    config_map = find(objects, "ConfigMap", "hr-headroom-gateway-inject")
    path = tmp_path / "spec.json"
    path.write_text(config_map["data"]["spec.json"])
    return load_spec(path)


@needs_helm
@pytest.mark.parametrize("shape", ["sidecar-webhook-selfsigned", "sidecar-webhook-certmanager"])
def test_webhook_reads_the_spec_the_chart_renders(shape: str, tmp_path: Path) -> None:
    objects = render_shape(shape)
    spec = _inject_spec(objects, tmp_path)
    values = yaml.safe_load((tmp_path / "spec.json").read_text())
    assert spec.native is values["native"]
    webhook = find(objects, "Deployment", "hr-headroom-gateway-webhook")
    pod_spec = webhook["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod_spec["containers"][0]["env"]}
    mounts = {m["name"]: m["mountPath"] for m in pod_spec["containers"][0]["volumeMounts"]}
    assert Path(env["HEADROOM_INJECT_SPEC_FILE"]).parent == Path(mounts["inject-spec"])
    assert Path(env["HEADROOM_INJECT_SPEC_FILE"]).name == "spec.json"


@needs_helm
@pytest.mark.parametrize("native", [True, False], ids=["native", "regular"])
def test_webhook_and_named_templates_add_the_same_container(native: bool, tmp_path: Path) -> None:
    """Both ways of adding the sidecar (include in a gateway chart, webhook) agree exactly."""
    chart = consumer_chart(tmp_path)
    objects = render(
        chart=chart,
        sets=[f"nativeSidecar={str(native).lower()}"],
        release="hr",
        namespace="llm-gateway",
    )
    spec = _inject_spec(objects, tmp_path)
    gateway = find(objects, "Deployment", "hr-envoy")
    assert_valid(gateway)
    pod_spec = gateway["spec"]["template"]["spec"]
    included = (
        pod_spec["initContainers"][0]
        if native
        else next(c for c in pod_spec["containers"] if c["name"] == "headroom-gateway")
    )
    webhook_spec = dataclasses.replace(spec, native=native)
    assert included == sidecar_container(webhook_spec)
    chart_volumes = [v for v in pod_spec["volumes"] if v["name"].startswith("headroom-gateway")]
    assert chart_volumes == sidecar_volumes(webhook_spec)
