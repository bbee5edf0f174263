"""The outside world as the core sees it: small protocols that adapters implement.

Session state and CCR originals may live in process memory, on local disk, in Redis or in
S3; the core only knows these calls. Every call may raise `StoreUnavailable`; the core then
degrades (no replay, no marker) instead of failing the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.tags import RequestTags


class StoreUnavailable(RuntimeError):
    """A backend could not answer in time; the caller must degrade, not fail."""


class SessionStore(Protocol):
    """Replay entries keyed by opaque strings, each expiring after a TTL of inactivity."""

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Values in key order (None where absent); hits have their TTL refreshed."""
        ...

    async def put_many(self, items: Mapping[str, bytes], ttl_seconds: int) -> None: ...

    async def ping(self) -> bool:
        """True when the backend answers; used by readiness, never raises."""
        ...


class OriginalStore(Protocol):
    """Content-addressed CCR originals, scoped per tenant, expiring after a TTL."""

    async def put_many(self, tenant: str, items: Mapping[str, str], ttl_seconds: int) -> None:
        """Store every item durably before returning; raise StoreUnavailable otherwise."""
        ...

    async def get(self, tenant: str, key: str) -> str | None:
        """The original for `key` if this tenant stored it and it has not expired."""
        ...

    async def ping(self) -> bool: ...


class TextCompressor(Protocol):
    """A prose compressor (Kompress on CPU, on CUDA, or remote) the engines may use."""

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str:
        """What readiness shows, e.g. "kompress:cuda" or "kompress:unavailable (why)"."""
        ...

    @property
    def backend(self) -> str:
        """Where it runs: loading, cpu, cuda, remote or unavailable (a metric label)."""
        ...

    def warm(self) -> None:
        """Load models before traffic; never raises (failure shows in `status`)."""
        ...

    def compress(self, text: str, target_ratio: float | None) -> str | None:
        """Shorter text, or None when it cannot help (unavailable, too short, failed)."""
        ...

    def close(self) -> None:
        """Release clients and sessions at shutdown."""
        ...


@dataclass
class RequestReport:
    """What one /v1/compress call did, for metrics; carries no request content."""

    outcome: str  # compressed | passthrough | bypassed | failed_open | rejected
    fmt: str = "unknown"
    tokens_before: int = 0
    tokens_after: int = 0
    messages_replayed: int = 0
    messages_new: int = 0
    replayed_tokens_before: int = 0  # the replayed prefix's share of tokens_before
    replayed_tokens_after: int = 0  # ... and of tokens_after (priced as cache reads)
    engines: dict[str, int] = field(default_factory=dict)
    latency_seconds: float = 0.0
    engine_seconds: float = 0.0
    session_store_ok: bool = True
    original_store_ok: bool = True
    failure: str | None = None
    model: str = ""
    tags: RequestTags | None = None  # who asked, set by the caller (HTTP layer, proxy)


class Telemetry(Protocol):
    """Receives one report per request (Prometheus in production, a list in tests)."""

    def request_finished(self, report: RequestReport) -> None: ...
