"""Ledger health on /metrics, read from the writer at scrape time (no work per request)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.ledger.writer import LedgerWriter


class LedgerCollector(Collector):
    def __init__(self, writer: LedgerWriter) -> None:
        self.writer = writer

    def collect(self) -> Iterator[Metric]:
        rows = CounterMetricFamily(
            "headroom_ledger_rows",
            "Usage rows by where they went (written to the database, spooled while it was down).",
            labels=["result"],
        )
        rows.add_metric(["written"], self.writer.written)
        rows.add_metric(["spooled"], self.writer.spooled)
        yield rows
        yield GaugeMetricFamily("headroom_ledger_database_ok",
                                "1 while the ledger database takes writes.",
                                value=1 if self.writer.healthy else 0)  # fmt: skip
        yield GaugeMetricFamily("headroom_ledger_queued_rows",
                                "Rows waiting in memory for the writer.",
                                value=self.writer.queued)  # fmt: skip


def register_ledger_metrics(registry: CollectorRegistry, writer: LedgerWriter) -> None:
    registry.register(LedgerCollector(writer))
