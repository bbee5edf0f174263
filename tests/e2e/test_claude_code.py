"""The real Claude Code CLI through the gateway's transparent proxy, offline.

One namespace session (scenarios.py) runs `claude -p` three times against the fake provider:
directly (the reference: what the CLI itself sends), through the gateway, and through the
gateway with a model that retrieves the CCR marker. Each test asserts one property of it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.scenarios import API_KEY, FINAL
from tests.e2e.session import request_body, run_scenario

pytestmark = pytest.mark.e2e

#: Headers the proxy legitimately sets itself (framing, connection, the encoding it reads).
_RESET_BY_PROXY = {"host", "content-length", "connection", "accept-encoding"}


class Run:
    """One CLI run: its exit, its JSON result, and the requests the provider received."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.name = raw["name"]
        self.rc = raw["rc"]
        self.raw = raw
        self.requests = [r for r in raw["requests"] if r["api"] == "anthropic"]

    @property
    def result(self) -> dict[str, Any]:
        assert self.rc == 0, f"{self.name}: claude exited {self.rc}\n{self.raw['stderr']}"
        parsed: dict[str, Any] = json.loads(self.raw["stdout"])
        return parsed

    def body(self, index: int) -> dict[str, Any]:
        return request_body(self.requests[index])

    def headers(self, index: int) -> dict[str, str]:
        return {k.lower(): v for k, v in self.requests[index]["headers"]}

    def tool_results(self, index: int) -> list[str]:
        found = []
        for message in self.body(index)["messages"]:
            for block in message["content"] if isinstance(message["content"], list) else []:
                if block.get("type") == "tool_result":
                    content = block["content"]
                    if isinstance(content, list):
                        content = "".join(part.get("text", "") for part in content)
                    found.append(content)
        return found

    def tool_calls(self, index: int) -> list[tuple[str, dict[str, Any]]]:
        return [(b["name"], b["input"]) for m in self.body(index)["messages"]
                if isinstance(m["content"], list) for b in m["content"]
                if b.get("type") == "tool_use"]  # fmt: skip


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_scenario("claude", "claude", tmp_path_factory.mktemp("claude") / "report.json")


@pytest.fixture(scope="module")
def runs(session: dict[str, Any]) -> dict[str, Run]:
    return {raw["name"]: Run(raw) for raw in session["runs"]}


def test_direct_reference_run_sends_the_raw_tool_output(
    session: dict[str, Any], runs: dict[str, Run]
) -> None:
    direct = runs["direct"]
    assert direct.result["result"] == FINAL and not direct.result["is_error"]
    assert len(direct.requests) == 2
    assert direct.tool_results(1) == [session["command_output"].rstrip("\n")]


def test_through_the_gateway_the_cli_gets_the_answer(runs: dict[str, Run]) -> None:
    result = runs["gateway"].result
    assert result["result"] == FINAL
    assert not result["is_error"] and result["num_turns"] == 2


def test_the_provider_receives_compressed_tool_output_on_turn_two(
    session: dict[str, Any], runs: dict[str, Run]
) -> None:
    gateway = runs["gateway"]
    assert len(gateway.requests) == 2
    (sent,) = gateway.tool_results(1)
    original = session["command_output"].rstrip("\n")
    assert sent != original
    assert len(sent) < len(original) / 3, f"{len(sent)} of {len(original)} chars"
    assert "api-0" in sent, "the compressed output still shows the listing"


def test_credentials_and_claude_headers_go_through_and_headroom_headers_do_not(
    runs: dict[str, Run],
) -> None:
    direct, gateway = runs["direct"], runs["gateway"]
    for index in range(2):
        sent, reference = gateway.headers(index), direct.headers(index)
        assert sent["x-api-key"] == API_KEY
        for name in ("anthropic-beta", "anthropic-version", "user-agent", "x-app"):
            assert sent[name] == reference[name], name
        assert not [name for name in sent if name.startswith("x-headroom-")]
        assert set(reference) - _RESET_BY_PROXY <= set(sent), "a CLI header was dropped"
    session_ids = {gateway.headers(i)["x-claude-code-session-id"] for i in range(2)}
    assert len(session_ids) == 1 and session_ids != {""}
    assert gateway.requests[0]["path"] == "/v1/messages?beta=true"


def test_the_provider_cache_keeps_hitting_through_the_gateway(runs: dict[str, Run]) -> None:
    """Turn 2 reads at least as much from the (simulated) prompt cache as without the gateway:
    what the gateway sent on turn 1 comes back byte-identical."""
    direct_read = runs["direct"].requests[1]["usage"]["cache_read"]
    gateway_read = runs["gateway"].requests[1]["usage"]["cache_read"]
    assert direct_read > 0 and gateway_read >= direct_read


def test_the_retrieve_loop_runs_inside_the_gateway_and_the_cli_never_sees_it(
    runs: dict[str, Run],
) -> None:
    retrieve, direct = runs["retrieve"], runs["direct"]
    assert len(retrieve.requests) == 3, "one extra upstream round trip for the retrieval"
    name, arguments = retrieve.tool_calls(2)[-1]
    assert name == "headroom_retrieve"
    original = direct.tool_results(1)[0]
    assert retrieve.tool_results(2)[-1] == original, "answered from the original store"
    result = retrieve.result
    assert result["result"] == f"Retrieved {arguments['hash']}={len(original)} chars."
    assert result["num_turns"] == 2 and "headroom_retrieve" not in retrieve.raw["stdout"]
