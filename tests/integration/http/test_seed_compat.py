"""The seed gateway's callers and the ccr contract for callers that resolve markers
themselves: /v1/compress-raw, min_tokens_to_compress, and the published retrieve tool."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.ccr import TOOL_NAME
from tests import corpus
from tests.processes import Sidecar


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    data = tmp_path_factory.mktemp("seed-compat")
    with Sidecar({"HEADROOM_DATA_DIR": str(data), "HEADROOM_LEDGER": "false"}) as running:
        yield running


def test_compress_raw_answers_one_result_per_text_and_keeps_failures(sidecar: Sidecar) -> None:
    log = corpus.pytest_verbose(600)
    short = "ls: cannot access 'x': No such file or directory"
    response = httpx.post(f"{sidecar.url}/v1/compress-raw", timeout=30,
                          json={"texts": [log, short]})  # fmt: skip
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert set(first) >= {"compressed", "original_tokens", "compressed_tokens"}
    assert first["compressed_tokens"] < first["original_tokens"] / 2
    failed = [line for line in log.splitlines() if line.endswith("FAILED") or " FAILED " in line]
    assert failed and all(line in first["compressed"] for line in failed)
    assert second["compressed"] == short
    assert second["compressed_tokens"] == second["original_tokens"] > 0


@pytest.mark.parametrize("body", [{}, {"texts": "one"}, {"texts": [1]}, {"texts": [], "model": 5}])
def test_compress_raw_refuses_what_is_not_a_list_of_texts(sidecar: Sidecar, body: object) -> None:
    response = httpx.post(f"{sidecar.url}/v1/compress-raw", json=body, timeout=10)
    assert response.status_code == 400 and "error" in response.json()


def test_min_tokens_to_compress_leaves_small_conversations_alone(sidecar: Sidecar) -> None:
    messages = [{"role": "user", "content": "pods?"},
                *corpus.tool_turn_openai("c1", "Bash", corpus.kubectl_pods_json(60))]  # fmt: skip
    floor = httpx.post(f"{sidecar.url}/v1/compress", timeout=30,
                       json={"messages": messages, "min_tokens_to_compress": 10**6})  # fmt: skip
    assert floor.headers["x-headroom-outcome"] == "passthrough"
    assert floor.json()["messages"] == messages
    below = httpx.post(f"{sidecar.url}/v1/compress", timeout=30,
                       json={"messages": messages, "min_tokens_to_compress": 10})  # fmt: skip
    assert below.headers["x-headroom-outcome"] == "compressed"


def test_the_retrieve_tool_is_published_in_every_providers_shape(sidecar: Sidecar) -> None:
    shapes = httpx.get(f"{sidecar.url}/v1/retrieve/tool", timeout=10).json()
    assert shapes["anthropic"]["name"] == TOOL_NAME
    assert shapes["anthropic"]["input_schema"]["required"] == ["hash"]
    assert shapes["openai"]["function"]["name"] == TOOL_NAME
    assert shapes["openai_responses"]["name"] == TOOL_NAME
    one = httpx.get(f"{sidecar.url}/v1/retrieve/tool", params={"provider": "openai"}, timeout=10)
    assert one.json() == shapes["openai"]
    bad = httpx.get(f"{sidecar.url}/v1/retrieve/tool", params={"provider": "x"}, timeout=10)
    assert bad.status_code == 400
