"""Server-sent events, incrementally: split a byte stream into events, keeping their raw bytes.

The proxy forwards events it does not need to change as the exact bytes it received, so it
keeps each event's raw form beside the parsed name and data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(frozen=True)
class Event:
    raw: bytes
    name: str | None
    data: str

    def json(self) -> Any:
        """The data as JSON, or None when it is not (e.g. `[DONE]`)."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


class EventReader:
    """Feed bytes as they arrive; get back every event completed so far."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        events = []
        while match := _BOUNDARY.search(self._buffer):
            raw = self._buffer[: match.end()]
            self._buffer = self._buffer[match.end() :]
            event = _parse(raw)
            if event is not None:
                events.append(event)
        return events

    def rest(self) -> bytes:
        """Bytes after the last complete event (a stream cut mid-event)."""
        rest, self._buffer = self._buffer, b""
        return rest


def _parse(raw: bytes) -> Event | None:
    name: str | None = None
    data: list[str] = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if name is None and not data:
        return Event(raw, None, "") if raw.strip() else None
    return Event(raw, name, "\n".join(data))


def encode(data: Any, name: str | None = None) -> bytes:
    """One event with JSON data, in the compact form providers send."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {text}\n\n".encode()
