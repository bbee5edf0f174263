"""Composition of the accounting side (keys, identity, ledger) from settings.

Called by bootstrap; kept apart so the composition root stays one screen. Nothing here
touches the database synchronously except one bounded first key load, so a gateway starts
and serves with its database down (rows spool, known keys keep working).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from adapters.identity.keyring import KeyRing
from adapters.identity.resolve import IdentityResolver
from adapters.identity.store import KeyStore
from adapters.ledger.ledger import Ledger, open_database
from adapters.ledger.metrics import register_ledger_metrics
from adapters.ledger.row import usage_record
from adapters.ledger.writer import WriterConfig
from adapters.pricing.hooks import ledger_pricer, pricing_document
from adapters.pricing.table import load_price_table
from adapters.settings import Settings
from adapters.telemetry.sinks import build_usage_exports
from core.pricing import PriceTable
from core.tags import RequestTags
from core.usage import FanOut, UsageSink, provider_usage_fields

log = logging.getLogger(__name__)


@dataclass
class Accounting:
    """`usage` is where every request's UsageRecord goes (ledger, usage metrics, OTLP)."""

    resolver: IdentityResolver
    keyring: KeyRing
    ledger: Ledger | None
    instance: str
    usage: UsageSink
    prices: PriceTable
    pricing_cache: str = "5m"
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def record(
        self,
        tags: RequestTags | None,
        provider_usage: Mapping[str, Any] | None = None,
        **counts: Any,
    ) -> None:
        """One request's usage to every sink (ledger, usage metrics, OTLP): the proxy's call.

        `tags` as `request_tags(request, services, "proxy")` made them; `provider_usage` the
        response's `usage` object in any provider's shape (None when the provider sent none);
        `counts` any other UsageRecord field (model, outcome, tokens_before, tokens_after,
        replayed_tokens_before/after, messages_replayed, messages_new, started_at,
        latency_seconds, format). Returns at once; never raises into the request."""
        try:
            if provider_usage is not None:
                counts = {**provider_usage_fields(provider_usage), **counts}
            self.usage.record(usage_record(tags, **counts))
        except Exception:
            log.exception("recording usage failed")

    def pricing(self) -> dict[str, Any]:
        """The /pricing body."""
        return pricing_document(self.prices, self.pricing_cache)  # type: ignore[arg-type]

    def close(self) -> None:
        for close in self.closers:
            close()
        if self.ledger is not None:
            self.ledger.close()
        self.keyring.close()


def database_url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


def build_accounting(settings: Settings, registry: CollectorRegistry) -> Accounting:
    """Keys, identity, prices, the ledger and the usage exports; `registry` is the app's
    Prometheus registry (usage counters join the request metrics there)."""
    assert settings.data_dir is not None
    prices = load_price_table(settings.pricing_file, price_map=settings.price_map_file)
    sinks, closers = build_usage_exports(settings, prices, registry)
    url = database_url(settings)
    instance = settings.instance_id or socket.gethostname()
    fp_key = settings.fingerprint_key.get_secret_value().encode() if settings.fingerprint_key \
        else None  # fmt: skip
    # key refreshes and ledger batches: short, so they share a connection; /stats has its own
    shared = open_database(url, settings.data_dir)
    keyring = KeyRing(KeyStore(shared), settings.keys_refresh_seconds, fp_key)
    keyring.refresh()
    keyring.start()
    resolver = IdentityResolver(
        keyring,
        settings.token(),
        settings.identity_headers,
        settings.trusted_networks,
        settings.require_keys,
        settings.admin_token.get_secret_value() if settings.admin_token else None,
    )
    ledger = None
    if settings.ledger:
        config = WriterConfig(
            queue_max=settings.ledger_queue_max,
            batch_size=settings.ledger_batch_size,
            flush_seconds=settings.ledger_flush_seconds,
            retention_days=settings.ledger_retention_days,
        )
        pricer = ledger_pricer(prices, settings.pricing_cache)  # runs on the writer thread
        ledger = Ledger.open(url, settings.data_dir, instance, config, pricer,
                             writer_database=shared)  # fmt: skip
        ledger.start()
        register_ledger_metrics(registry, ledger.writer)
        sinks.insert(0, ledger)
    return Accounting(resolver, keyring, ledger, instance, FanOut(sinks), prices,
                      settings.pricing_cache, closers)  # fmt: skip
