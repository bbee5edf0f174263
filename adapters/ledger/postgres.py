"""The shared ledger: PostgreSQL via psycopg 3, written by every replica.

One connection per instance (the writer thread and the readers each hold their own), opened
lazily with a short connect timeout and dropped on any error so the next call reconnects.
Batches go in with COPY into a temporary table, then one statement inserts the new rows and
adds them to their hourly rollups.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg

from adapters.ledger.database import COLUMN_LIST, LedgerUnavailable, rollup_sql, unique
from adapters.ledger.row import UsageRow
from adapters.ledger.schema import ADVISORY_LOCK_KEY, MIGRATIONS, VERSION_TABLE

_HOUR = "(floor(ts / 3600) * 3600)::bigint"
_NAMED = re.compile(r"(?<![:\w]):(\w+)")
_INSERT = (
    "WITH ins AS (INSERT INTO hgw_usage SELECT * FROM hgw_usage_in "
    "ON CONFLICT (id) DO NOTHING RETURNING *) " + rollup_sql("ins", _HOUR, "GREATEST")
)


def _pyformat(sql: str) -> str:
    """`:name` parameters (shared with SQLite) as psycopg's `%(name)s`."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class PostgresDatabase:
    dialect = "postgres"

    def __init__(self, url: str, connect_timeout: float = 2.0, statement_timeout_ms: int = 10000):
        self._url = url
        self._connect_timeout = connect_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=max(1, round(self._connect_timeout)),
                options=f"-c statement_timeout={self._statement_timeout_ms}",
                application_name="headroom-gateway",
            )
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken: nothing to release
                pass
            self._conn = None

    def _run(self, work: Any) -> Any:
        """`work` on the connection; once more on a fresh one if a kept connection had died
        (a server restart kills it; every unit of work here is idempotent)."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None and not self._conn.closed
                try:
                    return work(self._connection())
                except psycopg.OperationalError as error:
                    self._drop()
                    if not reused or attempt == 2:
                        raise LedgerUnavailable(f"postgres: {type(error).__name__}") from error
                except psycopg.Error as error:
                    self._drop()
                    raise LedgerUnavailable(f"postgres: {type(error).__name__}") from error

    def migrate(self) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
                cur.execute(VERSION_TABLE)
                cur.execute("SELECT version FROM hgw_schema_migrations")
                done = {r[0] for r in cur.fetchall()}
                for version, statements in MIGRATIONS:
                    if version in done:
                        continue
                    for statement in statements:
                        cur.execute(statement)
                    cur.execute("INSERT INTO hgw_schema_migrations VALUES (%s, %s)",
                                (version, time.time()))  # fmt: skip
                    done.add(version)
            return int(max(done))

        return int(self._run(work))

    def insert_batch(self, rows: Sequence[UsageRow]) -> None:
        rows = unique(rows)
        if not rows:
            return

        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS hgw_usage_in "
                            "(LIKE hgw_usage) ON COMMIT DELETE ROWS")  # fmt: skip
                with cur.copy(f"COPY hgw_usage_in ({COLUMN_LIST}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row.values())
                cur.execute(_INSERT)

        self._run(work)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        def work(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                cur.execute(_pyformat(sql), params or {})
                names = [d.name for d in cur.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        result: list[dict[str, Any]] = self._run(work)
        return result

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.cursor() as cur:
                cur.execute(_pyformat(sql), params or {})
                return cur.rowcount

        return int(self._run(work))

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
            return True
        except LedgerUnavailable:
            return False

    def close(self) -> None:
        with self._lock:
            self._drop()
