"""The composition root: settings in, the core's service and its adapters out.

Every target (sidecar, GPU service, Lambda) calls `bootstrap(settings)` and hands the result
to `create_app`. Tests pass their own stores or telemetry to replace any port.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from adapters.accounting import Accounting, build_accounting
from adapters.ledger.telemetry import FanOutTelemetry, UsageTelemetry
from adapters.metrics import PrometheusTelemetry
from adapters.offline import apply_offline_environment
from adapters.settings import Settings
from core.engines import HeadroomEngines
from core.ports import OriginalStore, SessionStore, TextCompressor
from core.service import CompressionService, Limits

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a running gateway holds; closed once at shutdown."""

    settings: Settings
    service: CompressionService
    sessions: SessionStore
    originals: OriginalStore
    telemetry: PrometheusTelemetry
    executor: ThreadPoolExecutor
    engines: HeadroomEngines
    closers: list[Any] = field(default_factory=list)
    accounting: Accounting | None = None

    def warm(self) -> None:
        if not self.service.ready:
            self.service.warm()
            self.telemetry.ready.set(1)
            log.info("engines warm; ready")

    def engine_status(self) -> dict[str, str]:
        text = self.engines.text_compressor
        return {"text": getattr(text, "status", text.name) if text else "off"}

    async def aclose(self) -> None:
        for close in self.closers:
            result = close()
            if hasattr(result, "__await__"):
                await result
        self.executor.shutdown(wait=False, cancel_futures=True)


def bootstrap(
    settings: Settings,
    *,
    sessions: SessionStore | None = None,
    originals: OriginalStore | None = None,
    telemetry: PrometheusTelemetry | None = None,
    text_compressor: TextCompressor | None = None,
) -> Services:
    """Wire the ports from settings; explicit arguments win (tests, custom embedding)."""
    apply_offline_environment()
    closers: list[Any] = []
    if sessions is None:
        sessions = _session_store(settings, closers)
    if originals is None:
        originals = _original_store(settings, closers)
    telemetry = telemetry or PrometheusTelemetry()
    if text_compressor is None:
        text_compressor = _text_compressor(settings)
        if hasattr(text_compressor, "close"):
            closers.append(text_compressor.close)
    engines = HeadroomEngines(text_compressor=text_compressor)
    executor = ThreadPoolExecutor(settings.compression_threads, thread_name_prefix="compress")
    accounting = build_accounting(settings, telemetry.registry)
    closers.append(accounting.close)
    usage = UsageTelemetry(accounting.usage, accounting.instance)
    service = CompressionService(
        engines=engines,
        sessions=sessions,
        originals=originals,
        telemetry=FanOutTelemetry(telemetry, usage),
        executor=executor,
        limits=Limits(
            deadline_seconds=settings.deadline_seconds,
            session_ttl_seconds=settings.session_ttl_seconds,
            ccr_ttl_seconds=settings.ccr_ttl_seconds,
        ),
    )
    return Services(settings, service, sessions, originals, telemetry, executor, engines, closers,
                    accounting)  # fmt: skip


def _session_store(settings: Settings, closers: list[Any]) -> SessionStore:
    if settings.redis_url is not None:
        from adapters.session_redis import RedisSessionStore

        store = RedisSessionStore.from_settings(settings)
        closers.append(store.aclose)
        return store
    from adapters.session_memory import MemorySessionStore

    return MemorySessionStore(max_entries=settings.session_max_entries)


def _original_store(settings: Settings, closers: list[Any]) -> OriginalStore:
    if settings.s3_bucket:
        from adapters.originals_s3 import S3OriginalStore

        s3 = S3OriginalStore.from_settings(settings)
        closers.append(s3.aclose)
        return s3
    if settings.originals_backend == "redis" and settings.redis_url is not None:
        from adapters.originals_redis import RedisOriginalStore

        redis = RedisOriginalStore.from_settings(settings)
        closers.append(redis.aclose)
        return redis
    from adapters.originals_fs import FileOriginalStore

    assert settings.data_dir is not None
    return FileOriginalStore(settings.data_dir / "originals")


def _text_compressor(settings: Settings) -> TextCompressor | None:
    if settings.kompress in (None, "off"):
        return None
    from adapters.kompress import build_text_compressor

    return build_text_compressor(settings)
