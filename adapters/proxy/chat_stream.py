"""The retrieve loop inside an OpenAI Chat Completions stream.

The client sees one completion: the first round's id on every chunk, its own tool calls
(renumbered if a retrieve call came before them), one finish, one usage chunk with all
rounds summed (only if the caller asked for usage), one `[DONE]`. Chunks that need no change
are forwarded as the exact bytes received.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.proxy.calls import Call, call_of
from adapters.proxy.sse import Event, encode
from adapters.proxy.usage import Usage, openai_usage, sum_usage
from core.ccr import TOOL_NAME


class ChatSplicer:
    def __init__(self) -> None:
        self.rounds = 0
        self.usage = Usage()
        self._usage_sum: dict[str, Any] | None = None
        self._usage_raw = b""
        self._id: str | None = None
        self._finish: dict[str, Any] | None = None
        self._finish_raw = b""
        self._done_raw = b""
        self._hidden_any = False  # False: every byte so far is the provider's, unchanged
        self._closed = False  # the finish chunk went out: the rest follows as it comes
        self._start_round()

    def _start_round(self) -> None:
        self._text = ""
        self._calls: dict[int, dict[str, str]] = {}  # upstream index -> id, name, arguments
        self._ours: set[int] = set()
        self._finish_reason: str | None = None

    def feed(self, events: list[Event]) -> list[bytes]:
        out: list[bytes] = []
        for event in events:
            if event.data.strip() == "[DONE]":
                if self._closed:
                    out.append(event.raw)
                else:
                    self._done_raw = event.raw
                continue
            data = event.json()
            if not isinstance(data, dict):
                out.append(event.raw)
                continue
            if self._id is None and isinstance(data.get("id"), str):
                self._id = data["id"]
            if isinstance(data.get("usage"), dict):
                self._add_usage(data["usage"])
                if not data.get("choices"):  # the usage-only chunk: one, all rounds summed
                    if not self._closed:
                        self._usage_raw = event.raw
                    elif self._hidden_any:
                        out.append(encode(self._usage_chunk()))
                    else:
                        out.append(event.raw)
                    continue
            out += self._chunk(event, data)
        return out

    def _chunk(self, event: Event, data: dict[str, Any]) -> list[bytes]:
        changed = self.rounds > 0 and data.get("id") != self._id
        choices = data.get("choices")
        finish = None
        if isinstance(choices, list):
            new_choices = []
            for choice in choices:
                if not isinstance(choice, dict):
                    new_choices.append(choice)
                    continue
                choice, edited = self._choice(choice)
                changed |= edited
                finish = choice.get("finish_reason") or finish
                new_choices.append(choice)
            data = {**data, "choices": new_choices}
        if self.rounds > 0:
            data["id"] = self._id
        if finish:
            self._finish_reason = finish
            self._finish, self._finish_raw = data, event.raw
            if self._ours and not self._client_calls():
                return []  # held: the turn may go on
            self._closed = True  # the turn ends with this round
            return [self._finish_bytes()]
        if not changed:
            return [event.raw]
        if _empty(data):
            return []
        return [encode(data)]

    def _choice(self, choice: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return choice, False
        if isinstance(delta.get("content"), str):
            self._text += delta["content"]
        calls = delta.get("tool_calls")
        if not isinstance(calls, list):
            return choice, False
        kept = []
        for call in calls:
            index = call.get("index") if isinstance(call, dict) else None
            if not isinstance(index, int):
                kept.append(call)
                continue
            record = self._calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            function = call.get("function") or {}
            record["id"] = call.get("id") or record["id"]
            record["name"] += function.get("name") or ""
            record["arguments"] += function.get("arguments") or ""
            if record["name"] == TOOL_NAME:
                self._ours.add(index)
                self._hidden_any = True
            if index in self._ours:
                continue
            shift = sum(1 for i in self._ours if i < index)
            kept.append({**call, "index": index - shift} if shift else call)
        if kept == calls:
            return choice, False
        delta = {k: v for k, v in delta.items() if k != "tool_calls"}
        if kept:
            delta["tool_calls"] = kept
        return {**choice, "delta": delta}, True

    def _add_usage(self, usage: dict[str, Any]) -> None:
        self.usage.add(openai_usage(usage))
        self._usage_sum = sum_usage(self._usage_sum, usage)

    def end_round(self) -> list[Call] | None:
        self.rounds += 1
        if self._finish_reason != "tool_calls" or not self._ours or self._client_calls():
            return None
        return [
            call_of(self._calls[i]["id"], _arguments(self._calls[i]["arguments"]))
            for i in sorted(self._ours)
        ]

    def continuation(self, answers: dict[str, str]) -> list[dict[str, Any]]:
        calls = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for _, c in sorted(self._calls.items())
        ]
        messages: list[dict[str, Any]] = [
            {"role": "assistant", "content": self._text or None, "tool_calls": calls}
        ]
        messages += [
            {"role": "tool", "tool_call_id": cid, "content": text} for cid, text in answers.items()
        ]
        self._start_round()
        return messages

    def finish(self) -> bytes:
        """Whatever of the closing chunks did not go out yet: the finish, the usage of every
        round summed, `[DONE]`."""
        if self._closed:
            return b""
        out = self._finish_bytes() if self._finish is not None else b""
        if self._usage_raw:
            out += encode(self._usage_chunk()) if self._hidden_any else self._usage_raw
        return out + (self._done_raw or (b"data: [DONE]\n\n" if self._hidden_any else b""))

    def _client_calls(self) -> bool:
        return any(i not in self._ours for i in self._calls)

    def _finish_bytes(self) -> bytes:
        assert self._finish is not None
        if not self._hidden_any:
            return self._finish_raw
        data = self._finish
        if self._finish_reason == "tool_calls" and not self._client_calls():
            choices = [{**c, "finish_reason": "stop"} for c in data["choices"]]
            data = {**data, "choices": choices}  # rounds exhausted: no call is the client's
        return encode(data)

    def _usage_chunk(self) -> dict[str, Any]:
        base = self._finish or {}
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": base.get("created", 0),
            "model": base.get("model", ""),
            "choices": [],
            "usage": self._usage_sum,
        }


def _arguments(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


def _empty(data: dict[str, Any]) -> bool:
    """A chunk left with nothing for the client once retrieve deltas are removed."""
    choices = data.get("choices")
    return (
        isinstance(choices, list)
        and all(
            isinstance(c, dict) and not c.get("delta") and not c.get("finish_reason")
            for c in choices
        )
        and not data.get("usage")
    )
