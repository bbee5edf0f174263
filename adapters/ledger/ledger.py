"""The ledger as the rest of the gateway sees it: record rows, read aggregates.

Built by bootstrap from settings: PostgreSQL when HEADROOM_DATABASE_URL is set (every replica
writes the same tables), else SQLite under HEADROOM_DATA_DIR. The writer owns one database
connection on its thread; reads (the /stats endpoints, key lookups) use another.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from adapters.ledger.database import Database
from adapters.ledger.row import row_from_usage
from adapters.ledger.spool import Spool
from adapters.ledger.writer import LedgerWriter, Pricer, WriterConfig
from core.usage import UsageRecord

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
    """A UsageSink (core.usage) over the batching writer, plus the reader for /stats."""

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
        writer_database: Database | None = None,
    ) -> Ledger:
        """The /stats reader always gets its own connection, so a slow query holds up neither
        a batch nor a key refresh; `writer_database` is a connection the caller already holds
        (the keyring's), for the writer's short batches to share."""
        spool = Spool(data_dir / "ledger-spool", instance)
        database = writer_database or open_database(database_url, data_dir)
        writer = LedgerWriter(database, spool, config, pricer)
        return cls(writer, open_database(database_url, data_dir))

    def start(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.close()
        self.reader.close()

    # -- writing ------------------------------------------------------------------------
    def record(self, usage: UsageRecord) -> None:
        """The UsageSink port: one row per request, queued; never waits on the database."""
        self.writer.record(row_from_usage(usage))

    def status(self) -> dict[str, Any]:
        return {"healthy": self.writer.healthy, "written": self.writer.written,
                "spooled": self.writer.spooled, "backend": self.reader.dialect}  # fmt: skip
