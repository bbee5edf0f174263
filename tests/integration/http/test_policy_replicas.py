"""Central policy on two real replicas reading one mounted file, changed while they serve.

The file is laid out as the kubelet mounts a ConfigMap (a `..data` symlink swapped to a new
directory), so only its content tells that it changed. A team's kill switch must reach both
replicas without a restart; a malformed version must be refused by both, with the
last good policy still applied and the refusal visible at /v1/config and in /metrics. How
fast a change propagates is measured by tests/bench/policy_bench.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import corpus
from tests.integration.helpers import MARKER, metric
from tests.processes import REPO, Sidecar

pytestmark = pytest.mark.integration
TOKEN = "policy-test-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
V1 = b"""# operator policy, version 1
default:
  protected_tools: [Deploy]
teams:
  payments:
    mode: ccr
"""
V2 = V1 + b"    kill_switch: true\n"
BAD = b"teams:\n  payments:\n    mode: ccr\n    kill_switch: sometimes\n"
EVERYONE = b"kill_switch: true\n" + V1


def configmap(directory: Path, content: bytes) -> Path:
    """Publish `content` the kubelet's way: a new directory, then an atomic symlink swap."""
    version = directory / f"..{time.time_ns()}"
    version.mkdir()
    (version / "policy.yaml").write_bytes(content)
    (directory / "..data_tmp").symlink_to(version.name)
    os.replace(directory / "..data_tmp", directory / "..data")
    visible = directory / "policy.yaml"
    if not visible.is_symlink():
        visible.symlink_to("..data/policy.yaml")
    return visible


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return configmap(tmp_path_factory.mktemp("configmap"), V1)


@pytest.fixture(scope="module")
def replicas(mounted: Path) -> Iterator[tuple[Sidecar, Sidecar]]:
    env = {"HEADROOM_POLICY_FILE": str(mounted), "HEADROOM_POLICY_POLL_SECONDS": "1",
           "HEADROOM_PROXY_TOKEN": TOKEN}  # fmt: skip
    with Sidecar(env) as a, Sidecar(env) as b:
        yield a, b


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, headers=AUTH) as client:
        yield client


def turn(http: httpx.Client, url: str, team: str, tool: str = "Bash") -> tuple[str, str]:
    """(outcome, body text) of one compress call for `team`."""
    messages = [{"role": "user", "content": "what is running?"}] + corpus.tool_turn_openai(
        "c1", tool, corpus.kubectl_pods_json(60)
    )
    response = http.post(f"{url}/v1/compress", headers={"x-headroom-team": team},
                         json={"model": "gpt-4o", "messages": messages})  # fmt: skip
    assert response.status_code == 200, response.text
    return response.headers["x-headroom-outcome"], response.text


def config(http: httpx.Client, url: str) -> dict[str, Any]:
    response = http.get(f"{url}/v1/config")
    assert response.status_code == 200, response.text
    policy: dict[str, Any] = response.json()["policy"]
    return policy


def wait_until(check: Any, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not true after {timeout}s")


def test_policy_applies_then_a_kill_switch_and_a_bad_file_reach_every_replica(
    replicas: tuple[Sidecar, Sidecar], http: httpx.Client, mounted: Path
) -> None:
    a, b = replicas
    for replica in replicas:
        outcome, body = turn(http, replica.url, "payments")
        assert outcome == "compressed" and MARKER in body  # the team's mode: ccr
        outcome, body = turn(http, replica.url, "web")
        assert outcome == "compressed" and MARKER not in body
        assert turn(http, replica.url, "web", tool="Deploy")[0] == "passthrough"  # protected
    first = config(http, a.url)
    assert first["hash"] == config(http, b.url)["hash"] and first["source"] == str(mounted)
    assert first["policy"]["teams"]["payments"]["mode"] == "ccr"

    configmap(mounted.parent, V2)
    # No restart: the next requests after the poll see it (the time is measured in make bench).
    wait_until(lambda: all(turn(http, r.url, "payments")[0] == "bypassed" for r in replicas),
               timeout=15)  # fmt: skip
    assert all(turn(http, r.url, "web")[0] == "compressed" for r in replicas)
    second = config(http, a.url)
    assert second["hash"] == config(http, b.url)["hash"] != first["hash"]

    configmap(mounted.parent, BAD)
    wait_until(lambda: all(config(http, r.url)["last_error"] for r in replicas), timeout=10)
    for replica in replicas:
        described = config(http, replica.url)
        assert "teams.payments.kill_switch: must be true or false" in described["last_error"]
        assert described["hash"] == second["hash"]
        assert turn(http, replica.url, "payments")[0] == "bypassed"  # the last good policy
        assert metric(http, replica.url, "headroom_policy_reload_errors_total") == 1
        assert metric(http, replica.url, "headroom_policy_last_reload_ok") == 0
        assert "refused, keeping policy" in replica.log_tail()

    configmap(mounted.parent, EVERYONE)
    wait_until(lambda: all(turn(http, r.url, "web")[0] == "bypassed" for r in replicas), 10)
    assert all(config(http, r.url)["last_error"] is None for r in replicas)


def test_config_needs_the_gateway_token(replicas: tuple[Sidecar, Sidecar]) -> None:
    response = httpx.get(f"{replicas[0].url}/v1/config")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthorized"


def test_a_replica_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_bytes(b"teams:\n  web: {mode: fast}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}
    env.update(HEADROOM_POLICY_FILE=str(bad), HEADROOM_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-m", "sidecar", "serve", "--port", "1"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "policy file refused" in done.stderr and "teams.web.mode" in done.stderr
