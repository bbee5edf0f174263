"""The retrieve loop for OpenAI Responses (Codex), streamed and not.

The client sees one response: the first round's `response.created`, its own output items from
every round renumbered into one sequence (`output_index`, and `sequence_number` kept
contiguous), one `response.completed` listing those items with the usage of all rounds summed.
`headroom_retrieve` function calls never reach it. Events that need no change are forwarded as
the exact bytes received.

The continuation sends the request's input plus this round's output items (as Codex itself
does for its own tools) and a `function_call_output` per retrieve call.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.proxy.calls import Call, call_of
from adapters.proxy.sse import Event, encode
from adapters.proxy.usage import Usage, openai_usage, sum_usage
from core.ccr import TOOL_NAME

_HIDDEN = -1
_FINAL = ("response.completed", "response.incomplete", "response.failed")
_OPENING = ("response.created", "response.in_progress", "response.queued")


def is_ours(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("type") == "function_call"
        and (item.get("name") == TOOL_NAME)
    )


def without_our_tool(response: Any) -> Any:
    """A response object without `headroom_retrieve` in its echoed `tools`."""
    if not isinstance(response, dict) or not isinstance(response.get("tools"), list):
        return response
    tools = [
        t for t in response["tools"] if not (isinstance(t, dict) and t.get("name") == TOOL_NAME)
    ]
    return {**response, "tools": tools} if len(tools) != len(response["tools"]) else response


#: Calls the provider runs itself: their presence leaves the turn to the proxy.
_SERVER_CALLS = frozenset({"web_search_call", "file_search_call", "code_interpreter_call",
                           "image_generation_call", "mcp_call"})  # fmt: skip


def client_calls(items: list[Any]) -> bool:
    """Whether the round produced a call the client must answer (a visible `*_call` that the
    provider does not run itself; unknown kinds count as the client's)."""
    for item in items:
        kind = str(item.get("type", "")) if isinstance(item, dict) else ""
        if kind.endswith("_call") and kind not in _SERVER_CALLS and not is_ours(item):
            return True
    return False


def as_input(item: dict[str, Any]) -> dict[str, Any]:
    """An output item resent as input. Messages and function calls lose their server ids
    (not stored when `store` is false); reasoning items are sent back whole."""
    if item.get("type") in ("message", "function_call"):
        return {k: v for k, v in item.items() if k not in ("id", "status")}
    return item


def outputs_for(items: list[dict[str, Any]], answers: dict[str, str]) -> list[dict[str, Any]]:
    return [as_input(i) for i in items] + [
        {"type": "function_call_output", "call_id": cid, "output": text}
        for cid, text in answers.items()
    ]


def calls_in(items: list[dict[str, Any]]) -> list[Call]:
    return [call_of(str(i.get("call_id", "")), _arguments(i.get("arguments"))) for i in items
            if is_ours(i)]  # fmt: skip


class ResponsesSplicer:
    def __init__(self) -> None:
        self.rounds = 0
        self.usage = Usage()
        self._seq = 0  # next client sequence number
        self._next_index = 0  # next client output_index
        self._visible: list[dict[str, Any]] = []  # client items, all rounds
        self._usage_sum: dict[str, Any] | None = None
        self._id: str | None = None
        self._final: tuple[Event, dict[str, Any]] | None = None
        self._hidden_any = False
        self._start_round()

    def _start_round(self) -> None:
        self._index: dict[int, int] = {}
        self._items: dict[int, dict[str, Any]] = {}  # this round's finished items

    def feed(self, events: list[Event]) -> list[bytes]:
        out: list[bytes] = []
        for event in events:
            data = event.json()
            kind = data.get("type") if isinstance(data, dict) else None
            if not isinstance(data, dict) or not isinstance(kind, str):
                out.append(event.raw)
                continue
            if kind in _OPENING:
                response = data.get("response") or {}
                self._id = self._id or response.get("id")
                if self.rounds == 0:
                    out.append(
                        self._forward(event, data, {**data, "response": without_our_tool(response)})
                    )
                continue
            if kind in _FINAL:
                self._final = (event, data)
                response = data.get("response") or {}
                if isinstance(response.get("usage"), dict):
                    self.usage.add(openai_usage(response["usage"]))
                    self._usage_sum = sum_usage(self._usage_sum, response["usage"])
                continue
            upstream = data.get("output_index")
            if not isinstance(upstream, int):
                out.append(self._forward(event, data, dict(data)))
                continue
            if kind == "response.output_item.added":
                if is_ours(data.get("item")):
                    self._index[upstream] = _HIDDEN
                    self._hidden_any = True
                else:
                    self._index[upstream] = self._next_index
                    self._next_index += 1
            if kind == "response.output_item.done" and isinstance(data.get("item"), dict):
                self._items[upstream] = data["item"]
                if not is_ours(data["item"]):
                    self._visible.append(data["item"])
            client = self._index.get(upstream, upstream)
            if client == _HIDDEN:
                continue
            out.append(self._forward(event, data, {**data, "output_index": client}))
        return out

    def _forward(self, event: Event, original: dict[str, Any], data: dict[str, Any]) -> bytes:
        """`data` (a copy of `original`, edited) with this stream's sequence number; the
        event's own bytes when that changes nothing."""
        data["sequence_number"] = self._seq
        self._seq += 1
        return event.raw if data == original else encode(data, event.name)

    def end_round(self) -> list[Call] | None:
        self.rounds += 1
        if self._final is None or self._final[1].get("type") != "response.completed":
            return None
        items = [self._items[i] for i in sorted(self._items)]
        if client_calls(items):
            return None
        calls = calls_in(items)
        return calls or None

    def continuation(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        items = [self._items[i] for i in sorted(self._items)]
        self._final = None
        self._start_round()
        return outputs_for(items, answers)

    def finish(self) -> bytes:
        if self._final is None:
            return b""
        event, data = self._final
        response = dict(without_our_tool(data.get("response") or {}))
        if self.rounds <= 1 and not self._hidden_any:
            return self._forward(event, data, {**data, "response": response})
        response["output"] = self._visible
        if self._id:
            response["id"] = self._id
        if self._usage_sum is not None:
            response["usage"] = self._usage_sum
        return self._forward(event, data, {**data, "response": response})


class ResponsesMerger:
    provider = "openai"
    rewrite = True  # the echoed `tools` name headroom_retrieve: never returned as received

    def __init__(self) -> None:
        self.rounds = 0
        self.usage = Usage()
        self._first: dict[str, Any] = {}
        self._last: dict[str, Any] = {}
        self._visible: list[Any] = []
        self._items: list[dict[str, Any]] = []
        self._usage: dict[str, Any] | None = None

    def add(self, body: dict[str, Any]) -> list[Call] | None:
        self.rounds += 1
        self._first = self._first or body
        self._last = body
        if isinstance(body.get("usage"), dict):
            self.usage.add(openai_usage(body["usage"]))
            self._usage = sum_usage(self._usage, body["usage"])
        output = body.get("output")
        self._items = [i for i in output if isinstance(i, dict)] if isinstance(output, list) else []
        self._visible += [i for i in self._items if not is_ours(i)]
        if body.get("status") != "completed" or client_calls(self._items):
            return None
        return calls_in(self._items) or None

    def continuation(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        return outputs_for(self._items, answers)

    def result(self) -> bytes:
        body = {**without_our_tool(self._last), "id": self._first.get("id", self._last.get("id")),
                "output": self._visible}  # fmt: skip
        if self._usage is not None:
            body["usage"] = self._usage
        return json.dumps(body, ensure_ascii=False).encode()


def _arguments(text: Any) -> Any:
    try:
        return json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
