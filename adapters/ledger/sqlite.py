"""The embedded ledger: one SQLite file under HEADROOM_DATA_DIR (WAL, one connection)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.ledger.database import COLUMN_LIST, LedgerUnavailable, rollup_sql, unique
from adapters.ledger.row import COLUMNS, UsageRow
from adapters.ledger.schema import MIGRATIONS, VERSION_TABLE

_HOUR = "CAST(ts / 3600 AS INTEGER) * 3600"


class SQLiteDatabase:
    """Thread-safe by a lock around one connection: writes are batched, reads are few."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    def migrate(self) -> int:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")  # the write lock: one migrator at a time
            try:
                conn.execute(VERSION_TABLE)
                done = {r[0] for r in conn.execute("SELECT version FROM hgw_schema_migrations")}
                for version, statements in MIGRATIONS:
                    if version in done:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO hgw_schema_migrations VALUES (?, ?)",
                                 (version, time.time()))  # fmt: skip
                    done.add(version)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return int(max(done))

    def insert_batch(self, rows: Sequence[UsageRow]) -> None:
        rows = unique(rows)
        if not rows:
            return
        marks = ", ".join("?" for _ in COLUMNS)
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS hgw_usage_in AS "
                             "SELECT * FROM hgw_usage WHERE 0")  # fmt: skip
                conn.execute("DELETE FROM hgw_usage_in")
                conn.executemany(f"INSERT INTO hgw_usage_in ({COLUMN_LIST}) VALUES ({marks})",
                                 [r.values() for r in rows])  # fmt: skip
                conn.execute(rollup_sql("hgw_usage_in", _HOUR, "max",
                                        "id NOT IN (SELECT id FROM hgw_usage)"))  # fmt: skip
                conn.execute("INSERT OR IGNORE INTO hgw_usage SELECT * FROM hgw_usage_in")
                conn.execute("COMMIT")
            except sqlite3.Error as error:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise LedgerUnavailable(f"sqlite: {error}") from error

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            try:
                cursor = self._connection().execute(sql, params or {})
            except sqlite3.Error as error:
                raise LedgerUnavailable(f"sqlite: {error}") from error
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        with self._lock:
            try:
                return self._connection().execute(sql, params or {}).rowcount
            except sqlite3.Error as error:
                raise LedgerUnavailable(f"sqlite: {error}") from error

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
            return True
        except LedgerUnavailable:
            return False

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
