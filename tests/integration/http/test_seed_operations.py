"""Drop-in for the seed gateway's operators: its probe bodies and metric families, read
from a running sidecar, and counters that move by exactly one request's worth."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import corpus
from tests.processes import Sidecar

SEED_COUNTERS = (
    "headroom_requests",
    "headroom_compressed",
    "headroom_tokens_before",
    "headroom_tokens_after",
    "headroom_tokens_saved",
    "headroom_errors",
)


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    data = tmp_path_factory.mktemp("seed-ops")
    with Sidecar({"HEADROOM_DATA_DIR": str(data)}, workdir=data) as running:
        yield running


def families(sidecar: Sidecar) -> dict[str, tuple[str, dict[str, float]]]:
    """Family name -> (type, {sample name with labels: value})."""
    text = httpx.get(f"{sidecar.url}/metrics", timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        samples = {
            sample.name + str(sorted(sample.labels.items())): sample.value
            for sample in family.samples
        }
        found[family.name] = (family.type, samples)
    return found


def value(found: dict[str, tuple[str, dict[str, float]]], name: str) -> float:
    """The unlabelled sample of a family (the seed's families carry no labels)."""
    kind, samples = found[name]
    return samples[f"{name}_total[]" if kind == "counter" else f"{name}[]"]


def test_health_bodies_are_the_seeds(sidecar: Sidecar) -> None:
    for path in ("/health", "/healthz"):
        response = httpx.get(f"{sidecar.url}{path}", timeout=10)
        assert response.status_code == 200 and response.json()["status"] == "ok", path
    deadline = time.monotonic() + 10
    while True:  # the ledger's writer connects to its database just after startup
        ready = httpx.get(f"{sidecar.url}/readyz", timeout=10)
        body = ready.json()
        if body.get("db") == "sqlite:ok" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert ready.status_code == 200 and body["status"] == "ready"
    assert body["db"] == "sqlite:ok"  # the usage ledger's database, as the seed reports its own
    assert isinstance(body["uptime_seconds"], int) and body["uptime_seconds"] >= 0
    assert body["shared_state"] == "ok"  # ours, beside the seed's


def test_seed_families_have_the_seeds_names_and_types(sidecar: Sidecar) -> None:
    found = families(sidecar)
    for name in SEED_COUNTERS:
        assert found[name][0] == "counter", name
        value(found, name)  # present and unlabelled
    assert found["headroom_uptime_seconds"][0] == "gauge"
    assert value(found, "headroom_uptime_seconds") >= 0
    assert not [name for name in found if name.startswith("headroom_gateway_")]


def test_counters_move_by_exactly_one_requests_worth(sidecar: Sidecar) -> None:
    output = corpus.CONTENT["json"](300)
    messages = [{"role": "user", "content": "list pods"},
                *corpus.tool_turn_openai("c1", "Bash", output)]  # fmt: skip
    before = families(sidecar)
    answer = httpx.post(f"{sidecar.url}/v1/compress", timeout=30,
                        json={"messages": messages, "model": "gpt-4o"}).json()  # fmt: skip
    after = families(sidecar)
    moved = {name: value(after, name) - value(before, name) for name in SEED_COUNTERS}
    assert answer["tokens_saved"] > 0
    assert moved == {
        "headroom_requests": 1,
        "headroom_compressed": 1,
        "headroom_tokens_before": answer["tokens_before"],
        "headroom_tokens_after": answer["tokens_after"],
        "headroom_tokens_saved": answer["tokens_saved"],
        "headroom_errors": 0,
    }
    bad = httpx.post(f"{sidecar.url}/v1/compress", content=b"{nope", timeout=10)
    assert bad.status_code == 400
    final = families(sidecar)
    assert value(final, "headroom_errors") - value(after, "headroom_errors") == 1
    assert value(final, "headroom_requests") - value(after, "headroom_requests") == 1
