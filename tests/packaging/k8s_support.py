"""Shared helpers for the Kubernetes packaging tests: real helm/checkov, manifest validation.

Kept out of conftest.py so the Terraform packaging tests beside them stay independent.
Tools come from tests/packaging/install-tools.sh (.tools/ at the repo root) or PATH.
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "headroom-gateway"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOOLS = Path(os.environ.get("HEADROOM_TOOLS_DIR", REPO / ".tools"))
CI_SHAPES = sorted(p.stem.removesuffix("-values") for p in (CHART / "ci").glob("*-values.yaml"))
RELEASE = "hr"
NAMESPACE = "headroom"
INSTALL_HINT = "run tests/packaging/install-tools.sh (make test does)"


def find_tool(name: str, local: Path) -> str | None:
    """The copy install-tools.sh put under .tools/, else one on PATH."""
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


HELM = find_tool("helm", TOOLS / "bin" / "helm")
CHECKOV = find_tool("checkov", TOOLS / "checkov-venv" / "bin" / "checkov")


class HelmError(RuntimeError):
    """helm exited non-zero; the message carries its stderr."""


@functools.cache
def _helm_env() -> dict[str, str]:
    # Keep helm's cache/config/data out of the user's home and away from any kubeconfig:
    # `helm template` must not reach a cluster.
    home = Path(tempfile.gettempdir()) / f"headroom-helm-home-{os.getuid()}"
    env = dict(os.environ)
    for var, sub in (
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    env["KUBECONFIG"] = str(home / "no-kubeconfig")
    return env


def helm(*args: str) -> str:
    """Run the real helm binary; raises HelmError with stderr on failure."""
    assert HELM is not None, f"helm not found: {INSTALL_HINT}"
    proc = subprocess.run(
        [HELM, *args], capture_output=True, text=True, env=_helm_env(), timeout=120, check=False
    )
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip() or proc.stdout.strip())
    return proc.stdout


@functools.cache
def _template(
    chart: str, values: tuple[str, ...], sets: tuple[str, ...], release: str, namespace: str
) -> str:
    args = ["template", release, chart, "--namespace", namespace]
    for path in values:
        args += ["--values", path]
    for item in sets:
        args += ["--set", item]
    return helm(*args)


def render_text(
    values: Iterable[str | Path] = (),
    sets: Iterable[str] = (),
    chart: Path = CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> str:
    """`helm template` output (cached: several tests read the same shape)."""
    return _template(str(chart), tuple(str(v) for v in values), tuple(sets), release, namespace)


def render(
    values: Iterable[str | Path] = (),
    sets: Iterable[str] = (),
    chart: Path = CHART,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
) -> list[dict[str, Any]]:
    """Rendered objects as dicts (deep copies, so tests may mutate them)."""
    text = render_text(values, sets, chart, release, namespace)
    return [copy.deepcopy(d) for d in yaml.safe_load_all(text) if d]


def shape_values(shape: str) -> Path:
    return CHART / "ci" / f"{shape}-values.yaml"


def render_shape(shape: str, sets: Iterable[str] = ()) -> list[dict[str, Any]]:
    return render([shape_values(shape)], sets)


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of `kind` (and `name`); fails listing what was rendered."""
    hits = [
        o
        for o in objects
        if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)
    ]
    rendered = sorted(f"{o.get('kind')}/{o['metadata']['name']}" for o in objects)
    assert len(hits) == 1, f"expected one {kind} {name or ''}, rendered: {rendered}"
    return hits[0]


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def inject_spec_json(objects: list[dict[str, Any]], release: str = RELEASE) -> str:
    """spec.json of the inject ConfigMap: the sidecar the webhook pod reads from its mount."""
    config_map = find(objects, "ConfigMap", f"{release}-headroom-gateway-inject")
    return str(config_map["data"]["spec.json"])


def consumer_chart(workdir: Path) -> Path:
    """tests/packaging/fixtures/gateway-chart with this chart unpacked under charts/,
    the way `helm dependency build` would place it (without needing a repository)."""
    target = workdir / "gateway-chart"
    if not target.exists():
        shutil.copytree(FIXTURES / "gateway-chart", target)
        shutil.copytree(CHART, target / "charts" / "headroom-gateway")
    return target


# --- manifest validation ------------------------------------------------------------------

# kubernetes-validate bundles the schemas of built-in kinds only. For the CRD kinds the chart
# renders, these hand-written schemas check apiVersion/kind, the required fields and the
# types and names of the fields the chart uses (closed objects catch typos). They are a
# subset of the CRDs (prometheus-operator ServiceMonitor, cert-manager Certificate/Issuer,
# Gateway API HTTPRoute),
# not copies: a field the chart starts using has to be added here on purpose.
_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"}
_STR = {"type": "string"}
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_HOSTNAME = rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$"
_STR_LIST = {"type": "array", "items": _STR}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": _STR},
        "matchExpressions": {"type": "array", "items": {"type": "object"}},
    },
}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
            "maxLength": 253,
        },
        "namespace": _STR,
        "labels": {"type": "object", "additionalProperties": _STR},
        "annotations": {"type": "object", "additionalProperties": _STR},
    },
}
_SECRET_KEY_REF = {
    "type": "object",
    "required": ["key"],
    "additionalProperties": False,
    "properties": {"name": _STR, "key": _STR, "optional": {"type": "boolean"}},
}


def _crd(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
    }


CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): _crd(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"any": {"type": "boolean"}, "matchNames": _STR_LIST},
                },
                "jobLabel": _STR,
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": _STR,
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            "honorLabels": {"type": "boolean"},
                            "authorization": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"type": _STR, "credentials": _SECRET_KEY_REF},
                            },
                            "relabelings": {"type": "array", "items": {"type": "object"}},
                            "metricRelabelings": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        },
    ),
    ("cert-manager.io/v1", "Certificate"): _crd(
        "cert-manager.io/v1",
        "Certificate",
        {
            "type": "object",
            "required": ["secretName", "issuerRef"],
            "additionalProperties": False,
            "properties": {
                "secretName": _STR,
                "commonName": {"type": "string", "maxLength": 64},
                "dnsNames": {"type": "array", "minItems": 1, "items": _STR},
                "duration": _DURATION,
                "renewBefore": _DURATION,
                "isCA": {"type": "boolean"},
                "usages": {
                    "type": "array",
                    "items": {
                        "enum": [
                            "signing",
                            "digital signature",
                            "content commitment",
                            "key encipherment",
                            "key agreement",
                            "data encipherment",
                            "cert sign",
                            "crl sign",
                            "encipher only",
                            "decipher only",
                            "any",
                            "server auth",
                            "client auth",
                            "code signing",
                            "email protection",
                            "s/mime",
                            "ipsec end system",
                            "ipsec tunnel",
                            "ipsec user",
                            "timestamping",
                            "ocsp signing",
                            "microsoft sgc",
                            "netscape sgc",
                        ]
                    },
                },
                "privateKey": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
                        "size": {"type": "integer"},
                        "encoding": {"enum": ["PKCS1", "PKCS8"]},
                        "rotationPolicy": {"enum": ["Never", "Always"]},
                    },
                },
                "issuerRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {"name": _STR, "kind": _STR, "group": _STR},
                },
            },
        },
    ),
    # Gateway API v1 (standard channel) HTTPRoute: the fields the chart renders.
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): _crd(
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "parentRefs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 32,
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "group": _STR,
                            "kind": _STR,
                            "namespace": _STR,
                            "name": {"type": "string", "minLength": 1, "maxLength": 253},
                            "sectionName": {"type": "string", "maxLength": 253},
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        },
                    },
                },
                "hostnames": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {
                        "type": "string",
                        "pattern": _HOSTNAME,
                    },
                },
                "rules": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "matches": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "path": {
                                            "type": "object",
                                            "additionalProperties": False,
                                            "properties": {
                                                "type": {
                                                    "enum": [
                                                        "Exact",
                                                        "PathPrefix",
                                                        "RegularExpression",
                                                    ]
                                                },
                                                "value": {"type": "string", "pattern": "^/"},
                                            },
                                        }
                                    },
                                },
                            },
                            "backendRefs": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "port"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "name": _STR,
                                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                                        "weight": {"type": "integer", "minimum": 0},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    ),
    ("cert-manager.io/v1", "Issuer"): _crd(
        "cert-manager.io/v1",
        "Issuer",
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,  # exactly one issuer type
            "properties": {
                "selfSigned": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"crlDistributionPoints": _STR_LIST},
                },
                "ca": {
                    "type": "object",
                    "required": ["secretName"],
                    "properties": {"secretName": _STR},
                },
                "acme": {"type": "object"},
                "vault": {"type": "object"},
                "venafi": {"type": "object"},
            },
        },
    ),
}


def min_kube_version() -> str:
    """The chart's minimum Kubernetes version (Chart.yaml kubeVersion '>=X.Y...')."""
    spec = str(yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"])
    return spec.lstrip(">=").split("-")[0]


def validate_object(obj: Mapping[str, Any], versions: Iterable[str]) -> list[str]:
    """Errors for one object: kubernetes-validate --strict for built-in kinds, the CRD
    subset schemas above for the rest. An unknown kind is an error, never a silent pass."""
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    crd = CRD_SCHEMAS.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
    if crd is not None:
        errors = jsonschema.Draft7Validator(crd).iter_errors(obj)
        return [f"{where}: {'.'.join(map(str, e.path))}: {e.message}" for e in errors]
    problems: list[str] = []
    for version in versions:
        try:
            kubernetes_validate.validate(dict(obj), version, strict=True)
        except ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            problems.append(f"{where} (k8s {version}): {path}: {error.message}")
        except SchemaNotFoundError as error:
            problems.append(f"{where}: no schema to validate against ({error.message})")
    return problems
