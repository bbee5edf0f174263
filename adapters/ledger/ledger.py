"""The ledger as the rest of the gateway sees it: record rows, read aggregates.

Built by bootstrap from settings: PostgreSQL when HEADROOM_DATABASE_URL is set (every replica
writes the same tables), else SQLite under HEADROOM_DATA_DIR. The writer owns one database
connection on its thread; reads (the /stats endpoints, key lookups) use another.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from adapters.ledger.database import Database
from adapters.ledger.row import UsageRow, row_from_report, row_from_tags
from adapters.ledger.spool import Spool
from adapters.ledger.writer import LedgerWriter, Pricer, WriterConfig
from core.ports import RequestReport
from core.tags import RequestTags, bounded

log = logging.getLogger(__name__)


def open_database(database_url: str | None, data_dir: Path) -> Database:
    """PostgreSQL for a `postgres://` / `postgresql://` URL, else the embedded SQLite file."""
    if database_url:
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise ValueError("HEADROOM_DATABASE_URL must be a postgresql:// URL")
        from adapters.ledger.postgres import PostgresDatabase

        return PostgresDatabase(database_url)
    from adapters.ledger.sqlite import SQLiteDatabase

    return SQLiteDatabase(data_dir / "ledger.sqlite3")


class Ledger:
    """Implements the core's Telemetry port too: one row per RequestReport."""

    def __init__(self, writer: LedgerWriter, reader: Database) -> None:
        self.writer = writer
        self.reader = reader

    @classmethod
    def open(
        cls,
        database_url: str | None,
        data_dir: Path,
        instance: str,
        config: WriterConfig = WriterConfig(),
        pricer: Pricer | None = None,
    ) -> Ledger:
        spool = Spool(data_dir / "ledger-spool", instance)
        writer = LedgerWriter(open_database(database_url, data_dir), spool, config, pricer)
        return cls(writer, open_database(database_url, data_dir))

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.close()
        self.reader.close()

    # -- writing ------------------------------------------------------------------------
    def request_finished(self, report: RequestReport) -> None:
        self.writer.record(row_from_report(report))

    def record(self, row: UsageRow) -> None:
        self.writer.record(row)

    def record_usage(
        self,
        tags: RequestTags | None,
        *,
        model: str,
        outcome: str,
        fmt: str = "unknown",
        tokens_before: int = 0,
        tokens_after: int = 0,
        messages_replayed: int = 0,
        messages_new: int = 0,
        engines: dict[str, int] | None = None,
        latency_seconds: float = 0.0,
        input_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> None:
        """One row for a proxied request, with the provider's own usage when it reported it.

        The proxy calls this once per request after the response has ended (tags.route is
        "proxy"); like `request_finished`, it never waits on the database."""
        self.writer.record(row_from_tags(
            tags,
            model=bounded(model),
            fmt=fmt,
            outcome=bounded(outcome, 32),
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            messages_replayed=messages_replayed,
            messages_new=messages_new,
            engines=json.dumps(engines or {}, separators=(",", ":"), sort_keys=True),
            latency_ms=round(latency_seconds * 1000, 3),
            provider_input_tokens=input_tokens,
            provider_cache_read_tokens=cache_read_tokens,
            provider_cache_write_tokens=cache_write_tokens,
            provider_output_tokens=output_tokens,
        ))  # fmt: skip

    def status(self) -> dict[str, Any]:
        return {"healthy": self.writer.healthy, "written": self.writer.written,
                "spooled": self.writer.spooled, "backend": self.reader.dialect}  # fmt: skip
