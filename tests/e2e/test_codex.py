"""The real Codex CLI through the gateway's transparent proxy (OpenAI Responses), offline.

Three `codex exec` runs against the fake provider: directly (the reference), through the
gateway with the provider's `http_headers` carrying the gateway token, and through the gateway
with a model that retrieves the CCR marker.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.scenarios import API_KEY, FINAL
from tests.e2e.session import request_body, run_scenario

pytestmark = pytest.mark.e2e

_RESET_BY_PROXY = {"host", "content-length", "connection", "accept-encoding"}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_scenario("codex", "codex", tmp_path_factory.mktemp("codex") / "report.json")


@pytest.fixture(scope="module")
def runs(session: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["name"]: run for run in session["runs"]}


def responses(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in run["requests"] if r["api"] == "responses"]


def headers(request: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in request["headers"]}


def outputs(request: dict[str, Any]) -> list[str]:
    items = request_body(request)["input"]
    return [item["output"] for item in items if item.get("type") == "function_call_output"]


def final_message(run: dict[str, Any]) -> str:
    assert run["rc"] == 0, f"{run['name']}: codex exited {run['rc']}\n{run['stderr']}"
    events = [json.loads(line) for line in run["stdout"].splitlines() if line.startswith("{")]
    messages = [e["item"]["text"] for e in events if e.get("type") == "item.completed"
                and e["item"].get("type") == "agent_message"]  # fmt: skip
    assert events[-1]["type"] == "turn.completed"
    return str(messages[-1])


def test_codex_gets_the_answer_directly_and_through_the_gateway(
    runs: dict[str, dict[str, Any]],
) -> None:
    assert final_message(runs["direct"]) == FINAL
    assert final_message(runs["gateway"]) == FINAL
    assert len(responses(runs["gateway"])) == 2


def test_the_provider_receives_the_command_output_compressed(
    session: dict[str, Any], runs: dict[str, dict[str, Any]]
) -> None:
    (direct,) = outputs(responses(runs["direct"])[1])
    (sent,) = outputs(responses(runs["gateway"])[1])
    last_line = session["command_output"].rstrip("\n").splitlines()[-1]
    assert last_line in direct, "the reference run carried the whole output"
    assert len(sent) < len(direct) / 2, f"{len(sent)} of {len(direct)} chars"


def test_credentials_and_codex_headers_go_through_and_headroom_headers_do_not(
    runs: dict[str, dict[str, Any]],
) -> None:
    for index in range(2):
        sent = headers(responses(runs["gateway"])[index])
        reference = headers(responses(runs["direct"])[index])
        assert sent["authorization"] == f"Bearer {API_KEY}"
        for name in ("originator", "user-agent", "x-codex-beta-features"):
            assert sent[name] == reference[name], name
        assert not [name for name in sent if name.startswith("x-headroom-")]
        assert set(reference) - _RESET_BY_PROXY <= set(sent), "a CLI header was dropped"


def test_prompt_cache_key_and_cached_prefix_survive_the_gateway(
    runs: dict[str, dict[str, Any]],
) -> None:
    first, second = responses(runs["gateway"])
    key = request_body(first)["prompt_cache_key"]
    assert key and request_body(second)["prompt_cache_key"] == key
    direct_read = responses(runs["direct"])[1]["usage"]["cache_read"]
    assert direct_read > 0 and second["usage"]["cache_read"] >= direct_read


def test_the_retrieve_loop_runs_inside_the_gateway_and_codex_never_sees_it(
    runs: dict[str, dict[str, Any]],
) -> None:
    retrieve = runs["retrieve"]
    requests = responses(retrieve)
    assert len(requests) == 3, "one extra upstream round trip for the retrieval"
    items = request_body(requests[2])["input"]
    call = [i for i in items if i.get("type") == "function_call"][-1]
    assert call["name"] == "headroom_retrieve"
    (original,) = outputs(responses(runs["direct"])[1])
    retrieved = outputs(requests[2])[-1]
    assert retrieved.split("Output:\n", 1)[1] == original.split("Output:\n", 1)[1]
    answer = final_message(retrieve)
    assert answer == f"Retrieved {json.loads(call['arguments'])['hash']}={len(retrieved)} chars."
    assert "headroom_retrieve" not in retrieve["stdout"]
