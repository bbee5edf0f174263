"""Telemetry fan-out: the one port the core calls feeds Prometheus and the usage sinks."""

from __future__ import annotations

import logging

from adapters.ledger.row import usage_from_report
from core.ports import RequestReport, Telemetry
from core.usage import UsageSink

log = logging.getLogger(__name__)


class FanOutTelemetry:
    """Reports go to every sink in order; a failing sink is logged, never the request's
    problem."""

    def __init__(self, *sinks: Telemetry) -> None:
        self.sinks = sinks

    def request_finished(self, report: RequestReport) -> None:
        for sink in self.sinks:
            try:
                sink.request_finished(report)
            except Exception:
                log.exception("telemetry sink %s failed", type(sink).__name__)


class UsageTelemetry:
    """The core's reports as UsageRecords, handed to the usage sinks (ledger, usage metrics,
    OTLP): the compress route's single way into accounting; the proxy records directly."""

    def __init__(self, sink: UsageSink, instance: str = "") -> None:
        self.sink = sink
        self.instance = instance

    def request_finished(self, report: RequestReport) -> None:
        if report.tags is not None and report.tags.route == "proxy":
            return  # the proxy records the whole request itself, with the provider's usage
        self.sink.record(usage_from_report(report, self.instance))
