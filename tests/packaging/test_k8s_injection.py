"""The injection webhook on real gateway pods, with the sidecar the chart renders.

The spec comes from the chart's inject ConfigMap (real `helm template`), read through a file
as the webhook pod reads its mount. Pods are built from the Envoy and LiteLLM Deployments in
fixtures/ the way the ReplicaSet controller creates them; the JSONPatch is applied with the
`jsonpatch` library and the result validated with kubernetes-validate --strict, so a patch
the API server would reject fails here.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.k8s.injection import (
    INJECTED_ANNOTATION,
    InjectSpec,
    admission_response,
    load_spec,
    pod_patch,
)
from tests.packaging.k8s_support import (
    FIXTURES,
    consumer_chart,
    find,
    inject_spec_json,
    min_kube_version,
    render,
    render_shape,
    shape_values,
    validate_object,
)

jsonpatch = pytest.importorskip("jsonpatch", reason="jsonpatch missing: pip install -e '.[dev]'")
pytest.importorskip("kubernetes_validate", reason="kubernetes-validate missing: .[dev]")

pytestmark = pytest.mark.packaging

GATEWAYS = ["envoy-gateway-deployment.yaml", "litellm-deployment.yaml"]
#: sidecar-native: native, Secret mounted, env from the downward API; sidecar: regular.
SHAPES = {"sidecar-native": True, "sidecar": False}
VERSIONS = (min_kube_version(), "1.33.0")


def chart_spec(shape: str, tmp_path: Path) -> tuple[InjectSpec, dict[str, Any]]:
    """The spec the webhook loads for `shape`, and the raw JSON the chart rendered."""
    path = tmp_path / "spec.json"
    path.write_text(inject_spec_json(render_shape(shape)))
    return load_spec(path), json.loads(path.read_text())


@pytest.fixture
def spec(tmp_path: Path) -> InjectSpec:
    return chart_spec("sidecar-native", tmp_path)[0]


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


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fixture", GATEWAYS)
def test_patch_injects_the_chart_sidecar_into_real_gateway_pod(
    fixture: str, shape: str, tmp_path: Path
) -> None:
    spec, rendered = chart_spec(shape, tmp_path)
    native = SHAPES[shape]
    assert spec.native is native
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

    # Exactly what the chart rendered is inserted; the pod's own containers stay as they are.
    spec_out = patched["spec"]
    sidecar = rendered["container"]
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
    assert spec_out["volumes"] == original["spec"]["volumes"] + rendered["volumes"]
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
    assert spec.container == sidecar, "patching must not change the shared spec"


def test_injected_container_is_hardened_and_probed_on_loopback(spec: InjectSpec) -> None:
    container = spec.container
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
    assert "valueFrom" in env["POD_NAMESPACE"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts) == {"/var/lib/headroom-gateway", "/tmp", "/var/run/secrets/headroom"}
    assert mounts["/var/run/secrets/headroom"]["readOnly"] is True
    values = yaml.safe_load(shape_values("sidecar-native").read_text())
    assert container["resources"] == values["sidecar"]["resources"]
    secret = next(v for v in spec.volumes if v["name"] == "headroom-gateway-secrets")
    assert secret["secret"] == {"secretName": "headroom-gateway-sidecar", "defaultMode": 0o444}


def test_pod_without_volumes_or_metadata_gets_them_created(spec: InjectSpec) -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
    }
    ops, message = pod_patch(pod, spec)
    assert message == "injected"
    patched = jsonpatch.apply_patch(pod, ops)
    assert patched["metadata"] == {"annotations": {INJECTED_ANNOTATION: "true"}}
    assert [v["name"] for v in patched["spec"]["volumes"]] == [
        "headroom-gateway-data",
        "headroom-gateway-tmp",
        "headroom-gateway-secrets",
    ]
    assert patched["spec"]["containers"] == pod["spec"]["containers"]
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
def test_malformed_review_is_allowed_without_patch(
    review_doc: Any, message: str, spec: InjectSpec
) -> None:
    result = admission_response(review_doc, spec)
    response = result["response"]
    assert response["allowed"] is True
    assert "patch" not in response and "patchType" not in response
    assert message in response["status"]["message"]
    json.dumps(result)  # always serialisable


def test_other_requests_are_allowed_without_patch(spec: InjectSpec) -> None:
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
        response = admission_response(request, spec)["response"]
        assert response["uid"] == request["request"]["uid"]
        assert response["allowed"] is True
        assert "patch" not in response, expected
        assert response["status"]["message"] == expected


def test_existing_container_or_volume_names_are_never_overwritten(spec: InjectSpec) -> None:
    pod = pod_from(deployment("litellm-deployment.yaml"))
    named = copy.deepcopy(pod)
    named["spec"]["containers"].append({"name": "headroom-gateway", "image": "own:1"})
    assert pod_patch(named, spec) == ([], "pod already has a container named headroom-gateway")
    clash = copy.deepcopy(pod)
    clash["spec"]["volumes"].append({"name": "headroom-gateway-tmp", "emptyDir": {}})
    ops, message = pod_patch(clash, spec)
    assert ops == [] and "headroom-gateway-tmp" in message


def test_spec_file_that_is_not_the_chart_shape_is_refused(tmp_path: Path) -> None:
    """A broken ConfigMap stops the webhook at start-up instead of patching pods badly."""
    _, rendered = chart_spec("sidecar-native", tmp_path)
    unknown = {**rendered, "hostNetwork": True}
    no_image = {
        **rendered,
        "container": {k: v for k, v in rendered["container"].items() if k != "image"},
    }
    no_volume = {**rendered, "volumes": rendered["volumes"][:1]}
    cases: dict[str, Any] = {
        "must be a JSON object": ["not", "an", "object"],
        "unknown keys": unknown,
        "container must be an object": {"volumes": []},
        "container.image is required": no_image,
        "volumeMounts of no volume": no_volume,
        "each volume must be an object with a name": {**rendered, "volumes": [{"emptyDir": {}}]},
    }
    for match, data in cases.items():
        (tmp_path / "bad.json").write_text(json.dumps(data))
        with pytest.raises(ValueError, match=match):
            load_spec(tmp_path / "bad.json")


# --- the chart is the one definition ------------------------------------------------------


def test_a_chart_value_changes_what_the_webhook_injects(tmp_path: Path) -> None:
    """The webhook has no container definition of its own: a chart value reaches the pod."""
    objects = render(sets=["sidecar.port=9797", "sidecar.name=compressor"])
    path = tmp_path / "spec.json"
    path.write_text(inject_spec_json(objects))
    pod = pod_from(deployment("litellm-deployment.yaml"))
    ops, message = pod_patch(pod, load_spec(path))
    assert message == "injected"
    [sidecar] = jsonpatch.apply_patch(pod, ops)["spec"]["initContainers"]
    assert sidecar["name"] == "compressor"
    assert sidecar["args"][-1] == "9797"
    assert "127.0.0.1:9797/ready" in sidecar["readinessProbe"]["exec"]["command"][2]


@pytest.mark.parametrize("shape", ["sidecar-webhook-selfsigned", "sidecar-webhook-certmanager"])
def test_webhook_pod_mounts_the_spec_the_chart_renders(shape: str) -> None:
    objects = render_shape(shape)
    values = yaml.safe_load(shape_values(shape).read_text())
    spec = InjectSpec.from_dict(json.loads(inject_spec_json(objects)))
    assert spec.native is values["sidecar"]["native"]
    webhook = find(objects, "Deployment", "hr-headroom-gateway-webhook")
    pod_spec = webhook["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod_spec["containers"][0]["env"]}
    mounts = {m["name"]: m["mountPath"] for m in pod_spec["containers"][0]["volumeMounts"]}
    assert Path(env["HEADROOM_INJECT_SPEC_FILE"]).parent == Path(mounts["inject-spec"])
    assert Path(env["HEADROOM_INJECT_SPEC_FILE"]).name == "spec.json"


@pytest.mark.parametrize("native", [True, False], ids=["native", "regular"])
def test_webhook_and_named_templates_add_the_same_container(native: bool, tmp_path: Path) -> None:
    """Both ways of adding the sidecar (include in a gateway chart, webhook) agree exactly."""
    flag = str(native).lower()
    objects = render(
        chart=consumer_chart(tmp_path),
        sets=[f"nativeSidecar={flag}", f"headroom-gateway.sidecar.native={flag}"],
        release="hr",
        namespace="llm-gateway",
    )
    spec = InjectSpec.from_dict(json.loads(inject_spec_json(objects)))
    gateway = find(objects, "Deployment", "hr-envoy")
    assert_valid(gateway)
    pod_spec = gateway["spec"]["template"]["spec"]
    included = (
        pod_spec["initContainers"][0]
        if native
        else next(c for c in pod_spec["containers"] if c["name"] == "headroom-gateway")
    )
    assert included == spec.container
    chart_volumes = [v for v in pod_spec["volumes"] if v["name"].startswith("headroom-gateway")]
    assert chart_volumes == spec.volumes
