"""The batching writer: rows in from the request path, out to the database in batches.

`record()` is all a request pays: an append to a bounded in-memory queue (or, when the queue
is full, to the spool file). One daemon thread drains the queue every `flush_seconds` or per
`batch_size` rows. While the database is down every batch goes to the spool; the thread
probes every `retry_seconds` and, once the database answers, replays the spool before new
rows. Migrations run on the first successful connection, so a gateway starts (and serves)
with its database down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from adapters.ledger.database import Database, LedgerUnavailable
from adapters.ledger.row import UsageRow
from adapters.ledger.spool import Spool

log = logging.getLogger(__name__)

Pricer = Callable[[UsageRow], None]  # fills cost_* in place when the model has a price


@dataclass(frozen=True)
class WriterConfig:
    queue_max: int = 10_000
    batch_size: int = 500
    flush_seconds: float = 0.5
    retry_seconds: float = 1.0
    retention_days: int = 0  # 0 keeps raw rows forever; rollups are kept regardless
    purge_every_seconds: float = 3600.0


class LedgerWriter:
    def __init__(
        self,
        database: Database,
        spool: Spool,
        config: WriterConfig = WriterConfig(),
        pricer: Pricer | None = None,
    ) -> None:
        self.database = database
        self.spool = spool
        self.config = config
        self.pricer = pricer
        self.healthy = False
        self.migrated = False
        self.written = 0
        self.spooled = 0
        self._queue: deque[UsageRow] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_attempt = 0.0
        self._next_purge = 0.0

    # -- request path -------------------------------------------------------------------
    def record(self, row: UsageRow) -> None:
        """Queue one row; never waits on the database."""
        if len(self._queue) >= self.config.queue_max:
            self.spool.append([row], sync=False)
            self.spooled += 1
            return
        self._queue.append(row)
        self._idle.clear()
        if len(self._queue) >= self.config.batch_size:
            self._wake.set()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ledger-writer", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (or spool it), then stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        rest = self._take(len(self._queue))
        if rest:
            self.spool.append(rest)
        self.database.close()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every recorded row is in the database (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._idle.clear()
            self._wake.set()
            if self._idle.wait(max(0.0, deadline - time.monotonic())) and self.caught_up():
                return True
            time.sleep(0.05)
        return False

    @property
    def queued(self) -> int:
        return len(self._queue)

    def caught_up(self) -> bool:
        return not self._queue and self.healthy and not self.spool.pending()

    # -- the thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.flush_seconds)
            self._wake.clear()
            try:
                self._tick()
            except Exception:  # the thread must outlive any surprise; rows stay queued
                log.exception("ledger writer tick failed")
            if not self._queue:
                self._idle.set()
        self._tick(final=True)

    def _tick(self, final: bool = False) -> None:
        now = time.monotonic()
        if not self.healthy and now < self._next_attempt:
            self._spool_queue()
            return
        try:
            if not self.migrated:
                self.database.migrate()
                self.migrated = True
            if self.spool.pending():
                replayed = self.spool.replay(self._insert, self.config.batch_size)
                if replayed:
                    log.info("ledger: replayed %d spooled rows", replayed)
            while self._queue:
                batch = self._take(self.config.batch_size)
                try:
                    self._insert(batch)
                except LedgerUnavailable:  # taken from the queue: the spool keeps it now
                    self.spool.append(batch)
                    self.spooled += len(batch)
                    raise
            if not self.healthy:
                log.info("ledger database reachable")
            self.healthy = True
            if not final:
                self._purge(now)
        except LedgerUnavailable as error:
            if self.healthy or not self._next_attempt:
                log.warning("ledger database unavailable (%s); spooling to disk", error)
            self.healthy = False
            self._next_attempt = now + self.config.retry_seconds
            self._spool_queue()

    def _insert(self, rows: Sequence[UsageRow]) -> None:
        if self.pricer is not None:
            for row in rows:
                if row.cost_without_usd is None:
                    try:
                        self.pricer(row)
                    except Exception:  # a price is a nice-to-have, the row is not
                        log.exception("pricing a ledger row failed")
        self.database.insert_batch(rows)
        self.written += len(rows)

    def _take(self, count: int) -> list[UsageRow]:
        batch: list[UsageRow] = []
        while self._queue and len(batch) < count:
            batch.append(self._queue.popleft())
        return batch

    def _spool_queue(self) -> None:
        while self._queue:
            batch = self._take(self.config.batch_size)
            self.spool.append(batch)
            self.spooled += len(batch)

    def _purge(self, now: float) -> None:
        if self.config.retention_days <= 0 or now < self._next_purge:
            return
        self._next_purge = now + self.config.purge_every_seconds
        cutoff = time.time() - self.config.retention_days * 86400
        removed = self.database.execute("DELETE FROM hgw_usage WHERE ts < :cutoff",
                                        {"cutoff": cutoff})  # fmt: skip
        if removed:
            log.info("ledger retention: removed %d rows older than %d days", removed,
                     self.config.retention_days)  # fmt: skip
