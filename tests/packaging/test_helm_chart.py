"""The Helm chart, rendered by the real helm for every deployment shape in helm/.../ci/.

Per shape: `helm lint --strict`, `helm template`, every object validated (kubernetes-validate
--strict for built-in kinds against the chart's minimum and the newest bundled Kubernetes;
hand-written subset schemas for the ServiceMonitor / cert-manager CRD kinds, see
k8s_support.CRD_SCHEMAS), one checkov scan over all shapes, and assertions on what the
runtime contract (tests/CONTRACT.md) needs from the objects.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.packaging.k8s_support import (
    CHART,
    CHECKOV,
    CI_SHAPES,
    HELM,
    INSTALL_HINT,
    NAMESPACE,
    HelmError,
    consumer_chart,
    find,
    helm,
    kinds,
    min_kube_version,
    render,
    render_shape,
    render_text,
    shape_values,
    validate_object,
)

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(HELM is None, reason=f"helm not found: {INSTALL_HINT}"),
]

WEBHOOK_SHAPES = ["sidecar-webhook-certmanager", "sidecar-webhook-selfsigned"]
SERVICE_SHAPES = [s for s in CI_SHAPES if s.startswith(("service-", "managed-shared"))]
DIGEST = "sha256:" + "ab" * 32


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(workload)["containers"] if c["name"] == name)


def test_every_documented_shape_has_a_ci_file() -> None:
    assert set(CI_SHAPES) >= {
        "sidecar",
        "sidecar-native",
        "sidecar-webhook-certmanager",
        "sidecar-webhook-selfsigned",
        "service-gpu",
        "service-existing-secrets",
        "managed-shared",
        "managed-shared-gateway-api",
    }


# --- lint, render, validate --------------------------------------------------------------


@pytest.mark.parametrize("shape", ["default", *CI_SHAPES])
def test_lint_strict(shape: str) -> None:
    args = ["lint", "--strict", str(CHART), "--namespace", NAMESPACE]
    if shape != "default":
        args += ["--values", str(shape_values(shape))]
    out = helm(*args)
    assert "0 chart(s) failed" in out, out


@pytest.mark.parametrize("shape", CI_SHAPES)
def test_rendered_objects_validate(shape: str) -> None:
    import kubernetes_validate

    objects = render_shape(shape)
    assert objects, f"{shape} rendered nothing"
    versions = (min_kube_version(), kubernetes_validate.latest_version())
    errors = [e for obj in objects for e in validate_object(obj, versions)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("shape", CI_SHAPES)
def test_conventions_on_every_object(shape: str) -> None:
    for obj in render_shape(shape):
        meta = obj["metadata"]
        where = f"{obj['kind']}/{meta['name']}"
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "headroom-gateway", where
        assert labels["app.kubernetes.io/instance"] == "hr", where
        assert labels["helm.sh/chart"] == "headroom-gateway-0.1.0", where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where
        assert "app.kubernetes.io/component" in labels, where
        if obj["kind"] != "MutatingWebhookConfiguration":
            assert meta["namespace"] == NAMESPACE, f"{where}: namespace must be explicit"
        selector = obj.get("spec", {}).get("selector")
        if isinstance(selector, dict):
            match = selector.get("matchLabels", selector)
            assert "helm.sh/chart" not in match, f"{where}: selectors outlive chart versions"
            assert "app.kubernetes.io/version" not in match, where


def test_sidecar_shapes_render_only_the_inject_spec() -> None:
    """The inject spec is the rendered container and its volumes (what the webhook inserts)."""
    for shape in ("sidecar", "sidecar-native"):
        objects = render_shape(shape)
        assert kinds(objects) == ["ConfigMap"]
        spec = json.loads(objects[0]["data"]["spec.json"])
        assert sorted(spec) == ["container", "volumes"]
        native = spec["container"].get("restartPolicy") == "Always"
        assert native is (shape == "sidecar-native")
    native_spec = json.loads(render_shape("sidecar-native")[0]["data"]["spec.json"])
    assert (
        native_spec["container"]["image"]
        == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/headroom-gateway:0.1.0"
    )
    secrets = [v["secret"]["secretName"] for v in native_spec["volumes"] if "secret" in v]
    assert secrets == ["headroom-gateway-sidecar"]
    plain = json.loads(render_shape("sidecar")[0]["data"]["spec.json"])
    env = {e["name"]: e["value"] for e in plain["container"]["env"]}
    assert env["HEADROOM_KOMPRESS"] == "remote"
    assert env["HEADROOM_REDIS_URL"] == "redis://redis-master.redis.svc:6379/0"
    assert env["HEADROOM_CLUSTER_ID"] == "prod-eu"
    assert plain["container"]["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    assert not any("secret" in v for v in plain["volumes"])


# --- checkov ---------------------------------------------------------------------------

# Checks skipped for every scanned shape; each entry is the reason, printed on failure.
CHECKOV_SKIPS = {
    "CKV_K8S_43": (
        "Image digest: the chart pins images by an immutable version tag (appVersion); a "
        "digest exists only once the image is built and pushed. image.digest / "
        "gpuImage.digest pin it in production (test_digest_pins_the_image)."
    ),
    "CKV_K8S_15": (
        "imagePullPolicy Always: with a fixed tag or a digest IfNotPresent is safe, and "
        "Always would add a registry round trip, and a registry dependency, to the start of "
        "every gateway pod the sidecar is injected into. checkov passes this check by "
        "itself once a digest is set."
    ),
}


def sidecar_only_workload(tmp_path: Path) -> list[dict[str, Any]]:
    """The sidecar container as the named template renders it, in a minimal hardened
    Deployment plus NetworkPolicy, so checkov scans the container we inject into other
    people's pods (their own containers are not ours to scan)."""
    objects = render(chart=consumer_chart(tmp_path), namespace="llm-gateway")
    gateway = find(objects, "Deployment", "hr-envoy")
    sidecar = container(gateway, "headroom-gateway")
    volumes = [v for v in pod_spec(gateway)["volumes"] if v["name"].startswith("headroom")]
    labels = {"app.kubernetes.io/name": "sidecar-only"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sidecar-only", "namespace": "llm-gateway", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "serviceAccountName": "gateway",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [sidecar],
                    "volumes": volumes,
                },
            },
        },
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "sidecar-only", "namespace": "llm-gateway"},
        "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"]},
    }
    return [deployment, policy]


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One checkov run over every shape (checkov takes seconds to start)."""
    if CHECKOV is None:
        pytest.skip(f"checkov not found: {INSTALL_HINT}")
    workdir = tmp_path_factory.mktemp("checkov")
    scan = workdir / "rendered"
    scan.mkdir()
    for shape in CI_SHAPES:
        (scan / f"{shape}.yaml").write_text(render_text([shape_values(shape)]))
    extra = sidecar_only_workload(workdir)
    (scan / "sidecar-container.yaml").write_text(yaml.safe_dump_all(extra))
    proc = subprocess.run(
        [
            CHECKOV,
            "--directory",
            str(scan),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--compact",
            "--skip-download",
            "--skip-check",
            ",".join(CHECKOV_SKIPS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    kubernetes: dict[str, Any] = next(r for r in reports if r.get("check_type") == "kubernetes")
    assert kubernetes["summary"]["parsing_errors"] == 0, kubernetes["summary"]
    return kubernetes


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["results"]["failed_checks"]
    lines = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})" for c in failed
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(lines)


def test_checkov_scanned_every_shape(checkov_report: dict[str, Any]) -> None:
    scanned = {Path(c["file_path"]).stem for c in checkov_report["results"]["passed_checks"]}
    workload_shapes = {
        s for s in CI_SHAPES if s.startswith(("service", "sidecar-webhook", "managed-shared"))
    }
    assert workload_shapes | {"sidecar-container"} <= scanned
    skipped = {c["check_id"] for c in checkov_report["results"]["skipped_checks"]}
    assert skipped <= set(CHECKOV_SKIPS)


# --- Pod Security Standards -----------------------------------------------------------------

RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(spec: dict[str, Any], containers: list[dict[str, Any]]) -> list[str]:
    """What keeps `containers` in a pod with `spec` out of the `restricted` Pod Security
    Standard, so namespaces enforcing it admit the server, the webhook and the sidecar."""
    problems = []
    pod_sc = spec.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(flag)
    for volume in spec.get("volumes", []):
        kind = (set(volume) - {"name"}).pop()
        if kind not in RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} is {kind}")
    for c in containers:
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append(f"{name}: capabilities not dropped")
        if set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities added")
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{name}: runs as root")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile")
    return problems


@pytest.mark.parametrize(
    "shape", [s for s in CI_SHAPES if s.startswith(("service", "sidecar-w", "managed"))]
)
def test_workloads_meet_the_restricted_pod_security_standard(shape: str) -> None:
    for deploy in (o for o in render_shape(shape) if o["kind"] == "Deployment"):
        spec = pod_spec(deploy)
        assert not restricted_violations(spec, spec["containers"]), deploy["metadata"]["name"]


@pytest.mark.parametrize("native", [False, True], ids=["regular", "native"])
def test_sidecar_meets_the_restricted_pod_security_standard(native: bool, tmp_path: Path) -> None:
    """Only the sidecar and its volumes: the gateway's own containers are its owner's call."""
    objects = render(chart=consumer_chart(tmp_path), sets=[f"nativeSidecar={str(native).lower()}"])
    spec = pod_spec(find(objects, "Deployment"))
    sidecar = [
        c
        for c in spec.get("initContainers", []) + spec["containers"]
        if c["name"] == "headroom-gateway"
    ]
    ours = {"volumes": [v for v in spec["volumes"] if v["name"].startswith("headroom-gateway")]}
    assert len(sidecar) == 1
    assert not restricted_violations(ours, sidecar)


# --- service mode --------------------------------------------------------------------------


def test_service_gpu_shape() -> None:
    objects = render_shape("service-gpu")
    assert kinds(objects) == sorted(
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ]
    )
    deploy = find(objects, "Deployment")
    spec = pod_spec(deploy)
    server = container(deploy, "server")

    assert server["image"] == "headroom-gateway:0.1.0-gpu"
    assert spec["nodeSelector"] == {"headroom.ai/pool": "gpu"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec[
        "tolerations"
    ]
    assert server["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "replicas" not in deploy["spec"], "the HPA owns the replica count"

    config = find(objects, "ConfigMap")["data"]
    assert config["HEADROOM_PROFILE"] == "service"
    assert config["HEADROOM_KOMPRESS"] == "auto"
    assert config["HEADROOM_HOST"] == "0.0.0.0"
    assert config["HEADROOM_PORT"] == "8787"
    assert config["HEADROOM_DATA_DIR"] == "/var/lib/headroom-gateway"
    assert config["HEADROOM_S3_SSE"] == "aws:kms"
    assert server["envFrom"] == [{"configMapRef": {"name": "hr-headroom-gateway"}}]
    assert server["args"] == ["serve", "--host", "0.0.0.0", "--port", "8787"]
    assert server["ports"] == [{"name": "http", "containerPort": 8787, "protocol": "TCP"}]

    checksum = deploy["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert re.fullmatch(r"[0-9a-f]{64}", checksum)
    sa = find(objects, "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam")


@pytest.mark.parametrize("shape", SERVICE_SHAPES)
def test_service_probes_security_and_writable_paths(shape: str) -> None:
    deploy = find(render_shape(shape), "Deployment")
    spec = pod_spec(deploy)
    server = container(deploy, "server")
    for probe, path in (
        ("startupProbe", "/startup"),
        ("livenessProbe", "/live"),
        ("readinessProbe", "/ready"),
    ):
        assert server[probe]["httpGet"] == {"path": path, "port": "http"}
    sc = server["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in server["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    for path in ("/var/lib/headroom-gateway", "/tmp"):
        assert "emptyDir" in volumes[mounts[path]], f"{path} must be an emptyDir"
    # No secret ever travels as an env var (CKV_K8S_35): files only.
    assert not [e for e in server.get("env", []) if "secretKeyRef" in str(e)]
    assert not [e for e in server.get("envFrom", []) if "secretRef" in e]


def test_token_comes_from_the_existing_secret_as_a_file() -> None:
    objects = render_shape("service-existing-secrets")
    deploy = find(objects, "Deployment")
    config = find(objects, "ConfigMap")["data"]
    server = container(deploy, "server")
    volumes = {v["name"]: v for v in pod_spec(deploy)["volumes"]}
    mounts = {m["name"]: m for m in server["volumeMounts"]}

    assert "Secret" not in kinds(objects), "an existing Secret is used, not created"
    assert config["HEADROOM_SECRETS_DIR"] == mounts["secrets"]["mountPath"]
    assert mounts["secrets"]["readOnly"] is True
    sources = volumes["secrets"]["projected"]["sources"]
    assert sources == [
        {
            "secret": {
                "name": "headroom-gateway-auth",
                "items": [{"key": "token", "path": "proxy_token"}],
            }
        },
        {
            "secret": {
                "name": "headroom-gateway-redis",
                "items": [{"key": "url", "path": "redis_url"}],
            }
        },
    ]
    assert "HEADROOM_PROXY_TOKEN" not in config and "HEADROOM_REDIS_URL" not in config
    assert config["AWS_SHARED_CREDENTIALS_FILE"] == "/var/run/secrets/aws/credentials"
    assert volumes["aws-credentials"]["secret"]["secretName"] == "headroom-gateway-s3"
    assert mounts["aws-credentials"]["mountPath"] == "/var/run/secrets/aws"
    assert config["HEADROOM_S3_ENDPOINT_URL"] == "https://s3.internal.example:9000"

    # CPU service: CPU image, no GPU resources or tolerations.
    assert server["image"] == "headroom-gateway:0.1.0"
    assert "nvidia.com/gpu" not in json.dumps(server["resources"])
    assert "tolerations" not in pod_spec(deploy)
    monitor = find(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["authorization"]["credentials"] == {
        "name": "headroom-gateway-auth",
        "key": "token",
    }
    pdb = find(objects, "PodDisruptionBudget")["spec"]
    assert pdb["maxUnavailable"] == 1 and "minAvailable" not in pdb


def test_inline_token_creates_a_secret_and_rolls_pods_on_change() -> None:
    base = ["mode=service", "auth.token=s3cret"]
    objects = render(sets=base)
    secret = find(objects, "Secret")
    assert secret["data"]["proxy_token"] == "czNjcmV0"
    deploy = find(objects, "Deployment")
    volumes = {v["name"]: v for v in pod_spec(deploy)["volumes"]}
    projected = volumes["secrets"]["projected"]["sources"][0]["secret"]
    assert projected == {
        "name": "hr-headroom-gateway",
        "items": [{"key": "proxy_token", "path": "proxy_token"}],
    }
    other = find(render(sets=[*base[:1], "auth.token=rotated"]), "Deployment")
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    assert (
        other["spec"]["template"]["metadata"]["annotations"]["checksum/secret"]
        != annotations["checksum/secret"]
    )
    moved = find(render(sets=[*base, "config.clusterId=other"]), "Deployment")
    assert (
        moved["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        != annotations["checksum/config"]
    )


def test_service_mode_without_token_fails_with_a_clear_message() -> None:
    with pytest.raises(HelmError) as error:
        render(sets=["mode=service"])
    message = str(error.value)
    assert "mode=service binds 0.0.0.0 and needs a bearer token" in message
    assert "auth.existingSecret" in message


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["mode=service", "auth.token=a", "auth.existingSecret=b"], "either auth.existingSecret"),
        (["redis.url=redis://r:6379", "redis.existingSecret=r"], "either redis.existingSecret"),
        (["s3.sse=aws:kms"], "needs s3.kmsKeyId"),
        (["mode=service", "auth.token=a", "webhook.enabled=true"], "applies to mode=sidecar"),
        (
            [
                "mode=service",
                "auth.token=a",
                "autoscaling.enabled=true",
                "autoscaling.targetCPUUtilizationPercentage=0",
            ],
            "needs a metric",
        ),
        (["mode=sidecar", "redis.existingSecret=r"], "sidecar.existingSecret"),
        (
            ["sidecar.extraEnv[0].name=HEADROOM_HOST", "sidecar.extraEnv[0].value=0.0.0.0"],
            "extraEnv",
        ),
        (["unknownKey=1"], "additional properties"),
        (["mode=gateway"], "mode"),
    ],
)
def test_bad_values_fail_rendering(sets: list[str], message: str) -> None:
    with pytest.raises(HelmError, match=re.escape(message)):
        render(sets=sets)


def test_hpa_scales_on_cpu_and_in_flight_requests() -> None:
    hpa = find(render_shape("service-gpu"), "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "hr-headroom-gateway",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert metrics["Resource"]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 70},
    }
    assert metrics["Pods"]["pods"] == {
        "metric": {"name": "headroom_requests_in_flight"},
        "target": {"type": "AverageValue", "averageValue": "8"},
    }


def test_pdb_service_monitor_and_network_policy_select_the_server() -> None:
    objects = render_shape("service-gpu")
    server_labels = find(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = find(objects, "Service")

    def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    pdb = find(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert selects(pdb["spec"]["selector"]["matchLabels"], server_labels)
    assert selects(service["spec"]["selector"], server_labels)
    monitor = find(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    endpoint = monitor["spec"]["endpoints"][0]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"

    policy = find(objects, "NetworkPolicy")
    assert selects(policy["spec"]["podSelector"]["matchLabels"], server_labels)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ingress = policy["spec"]["ingress"]
    assert ingress == [
        {
            "ports": [{"port": "http", "protocol": "TCP"}],
            "from": [{"namespaceSelector": {"matchLabels": {"headroom.ai/clients": "true"}}}],
        }
    ]
    egress_ports = [p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]]
    assert egress_ports == [53, 53, 6379, 443]


def test_optional_features_are_off_by_default() -> None:
    objects = render(sets=["mode=service", "auth.existingSecret=tok"])
    assert kinds(objects) == sorted(
        ["ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"]
    )
    assert find(objects, "Deployment")["spec"]["replicas"] == 1
    assert kinds(render()) == ["ConfigMap"], "default (sidecar) renders only the inject spec"


def test_digest_pins_the_image() -> None:
    objects = render(
        sets=[
            "mode=service",
            "auth.existingSecret=tok",
            "server.gpu.enabled=false",
            "image.registry=reg.example",
            f"image.digest={DIGEST}",
        ]
    )
    assert (
        container(find(objects, "Deployment"), "server")["image"]
        == f"reg.example/headroom-gateway@{DIGEST}"
    )
    spec = json.loads(render(sets=[f"image.digest={DIGEST}"])[0]["data"]["spec.json"])
    assert spec["container"]["image"] == f"headroom-gateway@{DIGEST}"


# --- managed-shared ------------------------------------------------------------------------


def test_managed_shared_profile() -> None:
    """One org-operated fleet: CPU service, shared Redis + S3 + PostgreSQL from existing
    Secrets, TLS Ingress, HPA on in-flight and queue depth, PDB, policy ConfigMap."""
    objects = render_shape("managed-shared")
    assert kinds(objects) == sorted(
        ["ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress",
         "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"]
    )  # fmt: skip
    deploy = find(objects, "Deployment")
    spec, server = pod_spec(deploy), container(deploy, "server")
    assert server["image"] == "headroom-gateway:0.1.0"
    assert "nvidia.com/gpu" not in json.dumps(deploy) and "nodeSelector" not in spec
    assert "Secret" not in kinds(objects), "every credential comes from an existing Secret"

    volumes = {v["name"]: v for v in spec["volumes"]}
    files = {
        item["path"]: (source["secret"]["name"], item["key"])
        for source in volumes["secrets"]["projected"]["sources"]
        for item in source["secret"]["items"]
    }
    assert files == {
        "proxy_token": ("headroom-gateway-auth", "proxy_token"),
        "redis_url": ("headroom-gateway-redis", "redis_url"),
        "database_url": ("headroom-gateway-database", "database_url"),
        "anthropic_api_key": ("headroom-gateway-provider-keys", "anthropic_api_key"),
        "openai_api_key": ("headroom-gateway-provider-keys", "openai_api_key"),
    }
    from adapters.settings import Settings

    assert {"anthropic_api_key", "openai_api_key"} <= set(Settings.model_fields), (
        "each mounted file is named after the setting it fills"
    )

    config = find(objects, "ConfigMap", "hr-headroom-gateway")["data"]
    mounts = {m["name"]: m for m in server["volumeMounts"]}
    assert "subPath" not in mounts["policy"], "a subPath mount never sees ConfigMap updates"
    policy_map = find(objects, "ConfigMap", "hr-headroom-gateway-policy")
    assert volumes["policy"]["configMap"]["name"] == "hr-headroom-gateway-policy"
    assert config["HEADROOM_POLICY_FILE"] == mounts["policy"]["mountPath"] + "/policy.yaml"
    assert config["HEADROOM_S3_BUCKET"] == "acme-headroom-ccr"
    assert config["HEADROOM_KOMPRESS"] == "off"
    assert "HEADROOM_DATABASE_URL" not in config and "HEADROOM_REDIS_URL" not in config

    from adapters.policy_file import parse_policy

    policy = parse_policy(policy_map["data"]["policy.yaml"].encode())  # what the pods load
    assert policy.for_team("incident-room").kill_switch is True
    assert policy.for_team("payments").protected_tools == {"Deploy", "VaultRead"}

    ingress = find(objects, "Ingress")["spec"]
    assert ingress["tls"] == [
        {"hosts": ["headroom.acme.internal"], "secretName": "headroom-acme-internal-tls"}
    ]
    [rule] = ingress["rules"]
    assert rule["host"] == "headroom.acme.internal"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "hr-headroom-gateway", "port": {"name": "http"}}
    hpa = find(objects, "HorizontalPodAutoscaler")["spec"]
    pods_metrics = {m["pods"]["metric"]["name"]: m["pods"]["target"]["averageValue"]
                    for m in hpa["metrics"] if m["type"] == "Pods"}  # fmt: skip
    assert pods_metrics == {
        "headroom_requests_in_flight": "8",
        "headroom_requests_queued": "2",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    assert find(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == 2


def test_a_policy_edit_does_not_roll_the_pods() -> None:
    """Pods reload the policy themselves; a checksum annotation would restart them all."""
    values = [shape_values("managed-shared")]
    before = render(values)
    after = render(values, sets=["policy.content.teams.payments.kill_switch=true"])
    annotations = [find(o, "Deployment")["spec"]["template"]["metadata"]["annotations"]
                   for o in (before, after)]  # fmt: skip
    assert annotations[0] == annotations[1]
    changed = find(after, "ConfigMap", "hr-headroom-gateway-policy")["data"]["policy.yaml"]
    assert "kill_switch: true" in changed.split("payments:", 1)[1]


def test_managed_shared_behind_a_gateway_api_route() -> None:
    objects = render_shape("managed-shared-gateway-api")
    assert "Ingress" not in kinds(objects)
    route = find(objects, "HTTPRoute")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["parentRefs"] == [
        {"name": "shared-gateway", "namespace": "gateway-system", "sectionName": "https"}
    ]
    assert route["spec"]["hostnames"] == ["headroom.acme.internal"]
    service = find(objects, "Service")
    [backend] = route["spec"]["rules"][0]["backendRefs"]
    assert backend == {
        "name": service["metadata"]["name"],
        "port": service["spec"]["ports"][0]["port"],
    }


def test_an_existing_policy_configmap_is_mounted_not_created() -> None:
    sets = ["policy.enabled=true", "policy.existingConfigMap=org-policy", "policy.key=org.yaml"]
    objects = render(sets=["mode=service", "auth.existingSecret=tok", *sets])
    assert kinds(objects).count("ConfigMap") == 1
    deploy = find(objects, "Deployment")
    volumes = {v["name"]: v for v in pod_spec(deploy)["volumes"]}
    assert volumes["policy"]["configMap"]["name"] == "org-policy"
    config = find(objects, "ConfigMap")["data"]
    assert config["HEADROOM_POLICY_FILE"].endswith("/org.yaml")


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["ingress.enabled=true"], "ingress.enabled needs ingress.host"),
        (["httpRoute.enabled=true"], "httpRoute.enabled needs httpRoute.parentRefs"),
        (
            [
                "policy.enabled=true",
                "policy.existingConfigMap=x",
                "policy.content.kill_switch=true",
            ],
            "either policy.existingConfigMap or policy.content",
        ),
        (["policy.content.teams.a.mdoe=ccr"], "additional properties"),
        (["policy.content.default.mode=fast"], "/policy/content/default/mode"),
    ],
)
def test_bad_managed_shared_values_fail_rendering(sets: list[str], message: str) -> None:
    with pytest.raises(HelmError, match=re.escape(message)):
        render(sets=["mode=service", "auth.existingSecret=tok", *sets])


def test_the_ledger_database_secret_is_for_the_service() -> None:
    with pytest.raises(HelmError, match="database.existingSecret is for mode=service"):
        render(sets=["database.existingSecret=db"])


# --- webhook -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", WEBHOOK_SHAPES)
def test_mutating_webhook_configuration(shape: str) -> None:
    objects = render_shape(shape)
    config = find(objects, "MutatingWebhookConfiguration")
    [hook] = config["webhooks"]
    assert hook["failurePolicy"] == "Ignore", "injection must never block pod creation"
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["objectSelector"] == {"matchLabels": {"headroom.ai/inject": "true"}}
    assert "kube-system" in hook["namespaceSelector"]["matchExpressions"][0]["values"]
    assert hook["rules"] == [
        {
            "operations": ["CREATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["pods"],
            "scope": "Namespaced",
        }
    ]
    service = find(objects, "Service", "hr-headroom-gateway-webhook")
    assert hook["clientConfig"]["service"] == {
        "name": "hr-headroom-gateway-webhook",
        "namespace": NAMESPACE,
        "path": "/mutate",
        "port": 443,
    }
    assert service["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]


@pytest.mark.parametrize("shape", WEBHOOK_SHAPES)
def test_webhook_deployment_runs_the_inject_command(shape: str) -> None:
    objects = render_shape(shape)
    deploy = find(objects, "Deployment", "hr-headroom-gateway-webhook")
    spec = pod_spec(deploy)
    hook = container(deploy, "webhook")
    assert hook["image"] == "headroom-gateway:0.1.0"
    assert hook["args"] == [
        "inject",
        "--port",
        "8443",
        "--tls-cert",
        "/etc/headroom-gateway/tls/tls.crt",
        "--tls-key",
        "/etc/headroom-gateway/tls/tls.key",
    ]
    assert hook["ports"] == [{"name": "webhook", "containerPort": 8443, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert hook[probe]["httpGet"]["scheme"] == "HTTPS"
        assert hook[probe]["httpGet"]["port"] == "webhook"
    assert spec["automountServiceAccountToken"] is False
    assert find(objects, "ServiceAccount")["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "hr-headroom-gateway-webhook-tls"
    assert volumes["inject-spec"]["configMap"]["name"] == "hr-headroom-gateway-inject"
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/inject-spec"])
    policy = find(objects, "NetworkPolicy")
    assert policy["spec"]["ingress"] == [{"ports": [{"port": "webhook", "protocol": "TCP"}]}]


def test_cert_manager_certificate_and_ca_injection() -> None:
    objects = render_shape("sidecar-webhook-certmanager")
    config = find(objects, "MutatingWebhookConfiguration")
    certificate = find(objects, "Certificate")
    issuer = find(objects, "Issuer")
    assert (
        config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        == f"{NAMESPACE}/{certificate['metadata']['name']}"
    )
    assert "caBundle" not in config["webhooks"][0]["clientConfig"]
    assert certificate["spec"]["secretName"] == "hr-headroom-gateway-webhook-tls"
    assert "hr-headroom-gateway-webhook.headroom.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"] == {
        "name": issuer["metadata"]["name"],
        "kind": "Issuer",
        "group": "cert-manager.io",
    }
    assert issuer["spec"] == {"selfSigned": {}}
    assert "Secret" not in kinds(objects), "cert-manager writes the TLS Secret"

    own = render(
        [shape_values("sidecar-webhook-certmanager")],
        sets=[
            "webhook.tls.certManager.issuerRef.name=corp-ca",
            "webhook.tls.certManager.issuerRef.kind=ClusterIssuer",
        ],
    )
    assert "Issuer" not in kinds(own)
    assert find(own, "Certificate")["spec"]["issuerRef"] == {
        "name": "corp-ca",
        "kind": "ClusterIssuer",
    }


def test_self_signed_certificate_covers_the_service_names() -> None:
    x509 = pytest.importorskip("cryptography.x509", reason="cryptography missing: .[dev]")
    import base64

    objects = render_shape("sidecar-webhook-selfsigned")
    secret = find(objects, "Secret", "hr-headroom-gateway-webhook-tls")
    assert secret["type"] == "kubernetes.io/tls"
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {
        "hr-headroom-gateway-webhook",
        "hr-headroom-gateway-webhook.headroom",
        "hr-headroom-gateway-webhook.headroom.svc",
        "hr-headroom-gateway-webhook.headroom.svc.cluster.local",
    }
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_notes_render_for_each_shape() -> None:
    for shape in CI_SHAPES:
        out = helm(
            "install",
            "hr",
            str(CHART),
            "--dry-run=client",
            "--namespace",
            NAMESPACE,
            "--values",
            str(shape_values(shape)),
        )
        notes = out.split("NOTES:", 1)[1]
        assert "127.0.0.1:8787" in notes or "svc:8787" in notes, shape


# --- values documentation ---------------------------------------------------------------

# Kubernetes objects passed through whole: documented as one value, not key by key.
OPAQUE = (
    "resources",
    "nodeSelector",
    "objectSelector",
    "namespaceSelector",
    "podSecurityContext",
    "containerSecurityContext",
)


def documented_values(node: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of every value a user sets: leaves, empty maps, opaque objects."""
    paths = []
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and not key.endswith(OPAQUE):
            paths += documented_values(value, path)
        else:
            paths.append(path)
    return paths


def test_every_value_is_commented_and_in_the_readme() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    values = yaml.safe_load("\n".join(lines))
    wanted = set(documented_values(values))
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    seen = set()
    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][\w.-]*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [match.group(2)])
        stack.append((indent, match.group(2)))
        if path in wanted:
            seen.add(path)
            assert lines[number - 1].strip().startswith("#"), (
                f"values.yaml:{number + 1}: {path} needs a comment above it"
            )
    assert seen == wanted

    readme = (CHART / "README.md").read_text()
    table = readme.split("\n## Values\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, re.M))
    assert not wanted - documented, f"README.md values table lacks {sorted(wanted - documented)}"
    assert not documented - wanted, f"README.md documents unknown {sorted(documented - wanted)}"
