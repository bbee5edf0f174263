"""`headroom_compression_queue_depth`: compression jobs waiting for a worker thread.

In-flight requests say how busy a replica is; the queue says it is saturated (every thread
busy, work piling up), which is the signal the managed-shared HPA scales on first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CollectorRegistry, Gauge


def register_queue_depth(registry: CollectorRegistry, executor: ThreadPoolExecutor) -> None:
    gauge = Gauge("headroom_compression_queue_depth",
                  "Compression jobs waiting for a worker thread.", registry=registry)  # fmt: skip
    # The executor's own queue: read at scrape time, no bookkeeping on the request path.
    gauge.set_function(lambda: executor._work_queue.qsize())
