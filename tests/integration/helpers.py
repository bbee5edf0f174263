"""HTTP helpers shared by the replica and fault tests (and the replica benchmark)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

MARKER = "Retrieve original: hash="
MODEL = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-5"}


def wire(message: Any) -> str:
    """A message exactly as the gateway serialises it on the wire."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Turn:
    status: int
    body: dict[str, Any]
    messages: list[str]  # each returned message in wire form
    outcome: str | None
    seconds: float

    @property
    def replayed(self) -> int:
        """How many messages the gateway returned from session state (`replay:N`)."""
        for label in self.body.get("transforms_applied", []):
            if label.startswith("replay:"):
                return int(label.split(":", 1)[1])
        return 0

    @property
    def markers(self) -> list[str]:
        return [h for m in self.messages for h in re.findall(MARKER + r"([0-9a-f]+)", m)]


def compress(
    client: httpx.Client,
    base_url: str,
    messages: list[dict[str, Any]],
    fmt: str,
    tenant: str,
    session_id: str | None = None,
    mode: str | None = None,
) -> Turn:
    headers = {"x-headroom-user-id": tenant}
    if session_id:
        headers["x-headroom-session-id"] = session_id
    payload: dict[str, Any] = {"messages": messages, "model": MODEL[fmt]}
    if mode:
        payload["config"] = {"mode": mode}
    response = client.post(f"{base_url}/v1/compress", json=payload, headers=headers)
    body = response.json() if response.status_code == 200 else {}
    return Turn(
        status=response.status_code,
        body=body,
        messages=[wire(m) for m in body.get("messages", [])],
        outcome=response.headers.get("x-headroom-outcome"),
        seconds=response.elapsed.total_seconds(),
    )


def retrieve(client: httpx.Client, base_url: str, key: str, tenant: str) -> httpx.Response:
    return client.get(f"{base_url}/v1/retrieve/{key}", headers={"x-headroom-user-id": tenant})


def metric(client: httpx.Client, base_url: str, name: str, labels: str = "") -> float:
    """One sample from /metrics, e.g. metric(c, url, "x_total", 'store="session"')."""
    text = client.get(f"{base_url}/metrics", follow_redirects=True).text
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(f"{wanted} not in /metrics")


def metric_reaches(
    client: httpx.Client,
    base_url: str,
    name: str,
    labels: str,
    expected: float,
    timeout: float = 15.0,
) -> float:
    """The sample once it equals `expected` (or the last one read at `timeout`): a server
    records some metrics a moment after the client's side of the exchange ended."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = metric(client, base_url, name, labels)
        except KeyError:  # a label value appears with its first sample
            value = float("nan")
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def prefix_kept(previous: list[str], current: list[str]) -> tuple[int, int]:
    """(messages of the previous answer returned byte-identical, messages compared)."""
    same = sum(1 for a, b in zip(previous, current, strict=False) if a == b)
    return same, len(previous)
