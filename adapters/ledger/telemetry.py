"""Several Telemetry sinks behind the one port the core calls (Prometheus and the ledger)."""

from __future__ import annotations

import logging

from core.ports import RequestReport, Telemetry

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
