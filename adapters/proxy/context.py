"""What a retrieve loop needs from the proxy that runs it, as a protocol, so the loop does
not import the forwarding module that imports it."""

from __future__ import annotations

from typing import Protocol

import httpx
from fastapi.responses import Response

from adapters.bootstrap import Services
from adapters.proxy.ledger import ProxyRecord
from adapters.proxy.metrics import ProxyMetrics
from adapters.proxy.upstream import Upstream
from adapters.proxy.usage import StreamUsage
from adapters.settings import Settings


class ProxyContext(Protocol):
    services: Services
    settings: Settings
    upstream: Upstream
    metrics: ProxyMetrics

    def unreachable(
        self, route: str, provider: str, reason: str, record: ProxyRecord, started: float
    ) -> Response:
        """A 502 in the provider's error shape, recorded."""
        ...

    def passthrough(
        self,
        response: httpx.Response,
        record: ProxyRecord,
        started: float,
        usage: StreamUsage | None,
    ) -> Response:
        """The provider's answer as it came, recorded."""
        ...

    def finish(self, record: ProxyRecord, status: int, started: float) -> None:
        """Count and record one proxied request."""
        ...
