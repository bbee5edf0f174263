"""The chart exposes the transparent proxy: its upstreams and mode reach the server (service
mode) and the sidecars, on the one `http` port the Service and NetworkPolicy already open."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.packaging.k8s_support import HELM, INSTALL_HINT, HelmError, find, render

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(HELM is None, reason=f"helm not found: {INSTALL_HINT}"),
]

PROXY = [
    "config.anthropicApiUrl=https://llm-egress.internal/anthropic",
    "config.openaiApiUrl=https://llm-egress.internal/openai",
    "config.proxyMode=default",
]
EXPECTED = {
    "HEADROOM_ANTHROPIC_API_URL": "https://llm-egress.internal/anthropic",
    "HEADROOM_OPENAI_API_URL": "https://llm-egress.internal/openai",
    "HEADROOM_PROXY_MODE": "default",
}


def test_service_mode_sets_the_upstreams_and_serves_them_on_the_http_port() -> None:
    objects = render(sets=["mode=service", "auth.token=t0ken-for-tests", *PROXY])
    config = find(objects, "ConfigMap")["data"]
    assert {k: config[k] for k in EXPECTED} == EXPECTED
    service = find(objects, "Service")
    assert [(p["name"], p["targetPort"]) for p in service["spec"]["ports"]] == [("http", "http")]
    policy = find(objects, "NetworkPolicy")
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_sidecars_get_the_upstreams_too() -> None:
    spec: dict[str, Any] = json.loads(find(render(sets=PROXY), "ConfigMap")["data"]["spec.json"])
    env = {e["name"]: e.get("value") for e in spec["container"]["env"]}
    assert {k: env.get(k) for k in EXPECTED} == EXPECTED


def test_unset_upstreams_leave_the_gateway_defaults() -> None:
    config = find(render(sets=["mode=service", "auth.token=t0ken-for-tests"]), "ConfigMap")
    assert not set(EXPECTED) & set(config["data"])


@pytest.mark.parametrize(
    "bad", ["config.anthropicApiUrl=api.anthropic.com", "config.proxyMode=lossy"]
)
def test_schema_rejects_a_bad_upstream_or_mode(bad: str) -> None:
    with pytest.raises(HelmError):
        render(sets=[bad])
