"""The retrieve loop inside an Anthropic Messages stream.

The client sees one message: the first round's `message_start`, its own content blocks from
every round renumbered into one sequence, one `message_delta` with the usage of all rounds
summed, one `message_stop`. `headroom_retrieve` blocks never reach it. Events that need no
change are forwarded as the exact bytes received, as soon as they are complete.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.proxy.calls import Call, call_of
from adapters.proxy.sse import Event, encode
from adapters.proxy.usage import Usage, anthropic_usage
from core.ccr import TOOL_NAME

_HIDDEN = -1


class AnthropicSplicer:
    def __init__(self) -> None:
        self.rounds = 0  # completed rounds
        self.usage = Usage()
        self._next_index = 0  # next client-side block index
        self._final: dict[str, Any] | None = None  # the last round's message_delta
        self._final_raw = b""
        self._hidden_any = False
        self._stop_raw: bytes | None = None
        self._closed = False  # the closing message_delta went out already
        self._start_round()

    def _start_round(self) -> None:
        self._index: dict[int, int] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._calls: list[tuple[int, str]] = []  # (upstream index, tool_use id)
        self._client_tools = 0
        self._round_usage: dict[str, Any] = {}
        self._stop_reason: str | None = None

    def feed(self, events: list[Event]) -> list[bytes]:
        out: list[bytes] = []
        for event in events:
            data = event.json()
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "message_start":
                self._round_usage.update(data.get("message", {}).get("usage") or {})
                if self.rounds == 0:
                    out.append(event.raw)
            elif kind == "content_block_start":
                out += self._block_start(event, data)
            elif kind in ("content_block_delta", "content_block_stop"):
                out += self._block_event(event, data, kind)
            elif kind == "message_delta":
                self._round_usage.update(data.get("usage") or {})
                self._stop_reason = (data.get("delta") or {}).get("stop_reason")
                self._final, self._final_raw = data, event.raw
                if not self._calls or self._client_tools:  # the turn ends with this round
                    total = Usage()
                    total.add(self.usage)
                    total.add(anthropic_usage(self._round_usage))
                    out.append(self._closing(total))
                    self._closed = True
            elif kind == "message_stop":
                if self._closed:
                    out.append(event.raw)
                else:
                    self._stop_raw = event.raw
            else:  # ping, error, anything newer: as received
                out.append(event.raw)
        return out

    def _block_start(self, event: Event, data: dict[str, Any]) -> list[bytes]:
        upstream = data.get("index")
        block = dict(data.get("content_block") or {})
        if not isinstance(upstream, int):
            return [event.raw]
        self._blocks[upstream] = block
        if block.get("type") == "tool_use" and block.get("name") == TOOL_NAME:
            self._index[upstream] = _HIDDEN
            self._hidden_any = True
            self._calls.append((upstream, str(block.get("id", ""))))
            return []
        if block.get("type") == "tool_use":
            self._client_tools += 1
        self._index[upstream] = self._next_index
        self._next_index += 1
        return [self._reindexed(event, data, upstream)]

    def _block_event(self, event: Event, data: dict[str, Any], kind: str) -> list[bytes]:
        upstream = data.get("index")
        if not isinstance(upstream, int) or upstream not in self._index:
            return [event.raw]
        if kind == "content_block_delta":
            _accumulate(self._blocks[upstream], data.get("delta") or {})
        else:
            _complete(self._blocks[upstream])
        if self._index[upstream] == _HIDDEN:
            return []
        return [self._reindexed(event, data, upstream)]

    def _reindexed(self, event: Event, data: dict[str, Any], upstream: int) -> bytes:
        client = self._index[upstream]
        if client == upstream:
            return event.raw
        return encode({**data, "index": client}, event.name)

    def end_round(self) -> list[Call] | None:
        """The calls to answer before continuing, or None when the turn is over: no retrieve
        call, or one mixed with the client's own tool calls (the client must answer those)."""
        self.usage.add(anthropic_usage(self._round_usage))
        self.rounds += 1
        if self._stop_reason != "tool_use" or not self._calls or self._client_tools:
            return None
        return [call_of(cid, self._blocks[i].get("input")) for i, cid in self._calls]

    def continuation(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        """The assistant turn so far and the tool results, to append to the conversation."""
        blocks = [_finished(self._blocks[i]) for i in sorted(self._blocks)]
        results = [
            {"type": "tool_result", "tool_use_id": cid, "content": text}
            for cid, text in answers.items()
        ]
        self._start_round()
        return [{"role": "assistant", "content": blocks}, {"role": "user", "content": results}]

    def finish(self) -> bytes:
        """The closing events, unless they went out already: one message_delta with the
        usage of every round summed, one message_stop."""
        if self._final is None or self._closed:
            return b""
        stop = self._stop_raw or encode({"type": "message_stop"}, "message_stop")
        return self._closing(self.usage) + stop

    def _closing(self, usage: Usage) -> bytes:
        if self.rounds == 0 and not self._hidden_any:
            return self._final_raw  # a plain turn: exactly what the provider sent
        assert self._final is not None
        final = dict(self._final)
        delta = dict(final.get("delta") or {})
        if delta.get("stop_reason") == "tool_use" and not self._client_tools:
            delta["stop_reason"] = "end_turn"  # rounds exhausted: no tool is the client's
        final["delta"] = delta
        final["usage"] = {
            **(final.get("usage") or {}),
            "input_tokens": usage.input,
            "output_tokens": usage.output,
            "cache_read_input_tokens": usage.cache_read,
            "cache_creation_input_tokens": usage.cache_write,
        }
        return encode(final, "message_delta")


def _accumulate(block: dict[str, Any], delta: dict[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + str(delta.get("text", ""))
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
    elif kind == "signature_delta":
        block["signature"] = str(delta.get("signature", ""))
    elif kind == "input_json_delta":
        block["_json"] = block.get("_json", "") + str(delta.get("partial_json", ""))
    elif kind == "citations_delta":
        block.setdefault("citations", []).append(delta.get("citation"))


def _complete(block: dict[str, Any]) -> None:
    """At the block's end: its tool input, parsed once from the streamed JSON."""
    if "_json" in block:
        try:
            block["input"] = json.loads(block["_json"] or "{}")
        except ValueError:
            pass


def _finished(block: dict[str, Any]) -> dict[str, Any]:
    """A block as the assistant message of the continuation carries it."""
    return {k: v for k, v in block.items() if k != "_json"}
