"""The hook for the usage ledger: one record per proxied request, no content in it.

The proxy calls `ProxyRecorder.record` once each request is over (stream finished, failed
or cancelled). It must not block: a ledger queues the record and writes it off the request
path. The default recorder drops it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from adapters.proxy.usage import Usage
from core.tags import RequestTags

#: The status recorded for a stream the client left before its end (nginx's convention).
CLIENT_GONE = 499


@dataclass
class ProxyRecord:
    route: str  # messages | count_tokens | chat_completions | responses | other
    model: str
    status: int  # the status the client got (499 when it left before the end)
    tenant: str
    tokens_before: int  # the conversation as the client sent it (core's count)
    tokens_after: int  # as sent upstream
    outcome: str  # compressed | passthrough | bypassed | failed_open | unparsed | ...
    usage: Usage = field(default_factory=Usage)  # what the provider reported, all rounds
    retrieve_rounds: int = 0
    latency_seconds: float = 0.0  # request received to last byte sent
    stream: bool = False
    session_id: str | None = None
    #: user, team, project, key id (a gateway key's, or a provider key's fingerprint id),
    #: client and the allow-listed extra tags, as the caller was identified
    tags: RequestTags = field(default_factory=RequestTags)


class ProxyRecorder(Protocol):
    def record(self, record: ProxyRecord) -> None: ...


class NoRecorder:
    """The default: records go nowhere."""

    def record(self, record: ProxyRecord) -> None:
        return None
