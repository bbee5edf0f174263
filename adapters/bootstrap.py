"""The composition root: settings in, the core's service and its adapters out.

Every target (sidecar, GPU service, Lambda) calls `bootstrap(settings)` and hands the result
to `create_app`. Tests pass their own stores or telemetry to replace any port.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from adapters.accounting import Accounting, build_accounting
from adapters.kompress.metrics import register_backend_metric
from adapters.ledger.telemetry import FanOutTelemetry, UsageTelemetry
from adapters.offline import apply_offline_environment
from adapters.policy_file import PolicyFile
from adapters.settings import Settings
from adapters.telemetry.prometheus import PrometheusTelemetry
from core.admission import Admission
from core.engines import HeadroomEngines
from core.ports import OriginalStore, SessionStore, TextCompressor
from core.service import CompressionService, Limits

log = logging.getLogger(__name__)
Closer = Callable[[], Awaitable[None]]


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
    accounting: Accounting
    policy: PolicyFile
    closers: list[Closer] = field(default_factory=list)
    #: Background clean-ups (expired sessions, expired original files), run periodically.
    sweepers: list[Closer] = field(default_factory=list)

    def warm(self) -> None:
        if not self.service.ready:
            self.service.warm()
            self.telemetry.ready.set(1)
            log.info("engines warm; ready")

    def database(self) -> str:
        """What /readyz reports as `db`: the usage ledger's database and whether it answers
        (rows spool to disk while it does not), else where sessions are kept."""
        ledger = self.accounting.ledger
        if ledger is not None:
            status = ledger.status()
            return f"{status['backend']}:{'ok' if status['healthy'] else 'down'}"
        kind = type(self.sessions).__name__.removesuffix("SessionStore").lower() or "custom"
        return f"sessions:{kind}"

    def engine_status(self) -> dict[str, str]:
        text = self.engines.text_compressor
        return {"text": text.status if text else "off"}

    async def aclose(self) -> None:
        for close in self.closers:
            await close()
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
    closers: list[Closer] = []
    sweepers: list[Closer] = []
    if sessions is None:
        sessions = _session_store(settings, closers, sweepers)
    if originals is None:
        originals = _original_store(settings, closers, sweepers)
    telemetry = telemetry or PrometheusTelemetry()
    if text_compressor is None:
        text_compressor = text_compressor_for(settings)
        if text_compressor is not None:
            closers.append(_closer(text_compressor.close))
    if text_compressor is not None:
        register_backend_metric(telemetry.registry, text_compressor, settings.kompress)
    engines = HeadroomEngines(text_compressor=text_compressor)
    executor = ThreadPoolExecutor(settings.compression_threads, thread_name_prefix="compress")
    accounting = build_accounting(settings, telemetry.registry)
    closers.append(_closer(accounting.close))
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
            max_block_chars=settings.max_block_chars,
            cache_ttl_seconds=settings.cache_ttl_seconds,
            cold_compaction=settings.cold_compaction,
        ),
        admission=Admission(
            slots=settings.compression_threads,
            max_wait_seconds=settings.queue_wait_seconds,
            max_waiting=settings.max_queued,
        ),
    )
    telemetry.watch_admission(service.admission)
    policy = PolicyFile(settings.policy_file, telemetry.registry, settings.policy_poll_seconds)
    policy.load_initial()  # a bad file stops the process here, before it serves
    return Services(settings, service, sessions, originals, telemetry, executor, engines,
                    accounting, policy, closers, sweepers)  # fmt: skip


def _closer(close_now: Callable[[], None]) -> Closer:
    """A synchronous close() as one of the closers awaited at shutdown."""

    async def close() -> None:
        close_now()

    return close


def _session_store(
    settings: Settings, closers: list[Closer], sweepers: list[Closer]
) -> SessionStore:
    if settings.redis_url is not None:
        from adapters.stores.redis_sessions import RedisSessionStore

        store = RedisSessionStore.from_settings(settings)
        closers.append(store.aclose)
        return store
    from adapters.stores.memory_sessions import MemorySessionStore

    memory = MemorySessionStore(settings.session_max_entries, max_bytes=settings.session_max_bytes)
    sweepers.append(memory.sweep)
    return memory


def _original_store(
    settings: Settings, closers: list[Closer], sweepers: list[Closer]
) -> OriginalStore:
    if settings.s3_bucket:
        from adapters.stores.s3_originals import S3OriginalStore

        s3 = S3OriginalStore.from_settings(settings)
        closers.append(s3.aclose)
        return s3
    if settings.originals_backend == "redis" and settings.redis_url is not None:
        from adapters.stores.redis_originals import RedisOriginalStore

        redis = RedisOriginalStore.from_settings(settings)
        closers.append(redis.aclose)
        return redis
    from adapters.stores.file_originals import FileOriginalStore

    files = FileOriginalStore(settings.data_dir / "originals")
    sweepers.append(files.sweep)
    return files


def text_compressor_for(settings: Settings) -> TextCompressor | None:
    """Kompress as HEADROOM_KOMPRESS asks: in process (cpu, cuda, auto) or remote. Cheap:
    models load in `warm()`."""
    if settings.kompress == "off":
        return None
    if settings.kompress == "remote":
        from adapters.kompress.remote import remote_from_settings

        return remote_from_settings(settings)
    from adapters.kompress.local import LocalKompress

    return LocalKompress(settings.kompress_model_dir, settings.kompress,
                         budget_seconds=settings.deadline_seconds)  # fmt: skip
