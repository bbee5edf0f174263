"""The ledger against real databases: SQLite (embedded) and PostgreSQL (shared)."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.ledger import queries
from adapters.ledger.database import Database
from adapters.ledger.ledger import open_database
from adapters.ledger.postgres import PostgresDatabase
from adapters.ledger.row import UsageRow
from adapters.ledger.schema import LATEST
from adapters.ledger.spool import Spool
from adapters.ledger.writer import LedgerWriter, WriterConfig
from tests.integration.postgres_server import PostgresServer
from tests.integration.servers import wait_until

FAST = WriterConfig(flush_seconds=0.05, retry_seconds=0.2, batch_size=100)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    database = open_database(url, tmp_path)
    database.migrate()
    yield database
    database.close()


def rows(count: int, seed: int = 0, hours: int = 5) -> list[UsageRow]:
    rng = random.Random(seed)
    now = time.time()
    out = []
    for _ in range(count):
        before = rng.randint(0, 5000)
        out.append(UsageRow(
            ts=now - rng.randint(0, hours * 3600), user_id=rng.choice(["alice", "bob", "carol"]),
            team=rng.choice(["payments", "search"]), model=rng.choice(["gpt-4o", "claude"]),
            tokens_before=before, tokens_after=rng.randint(0, before), latency_ms=rng.random(),
            cost_without_usd=before / 1e6, cost_with_usd=before / 2e6,
            provider_cache_read_tokens=rng.choice([None, 10]),
        ))  # fmt: skip
    return out


def test_rollups_agree_with_the_raw_rows_and_replays_count_once(db: Database) -> None:
    batch = rows(300)
    db.insert_batch(batch[:200])
    db.insert_batch(batch[100:])  # overlaps: a spool replayed after a partial write
    db.insert_batch(batch[:50] + batch[:50])
    raw = db.query("SELECT COUNT(*) AS n, SUM(tokens_before) AS b, SUM(tokens_after) AS a, "
                   "SUM(provider_cache_read_tokens) AS c FROM hgw_usage")[0]  # fmt: skip
    assert int(raw["n"]) == 300
    summary = queries.stats(db, queries.StatsFilter())["summary"]
    assert summary["api_requests"] == 300
    assert summary["compression"]["tokens_before"] == int(raw["b"])
    assert summary["compression"]["tokens_after"] == int(raw["a"])
    assert summary["provider_usage"]["cache_read_tokens"] == int(raw["c"])
    assert summary["cost"]["without_headroom_usd"] == pytest.approx(int(raw["b"]) / 1e6, abs=1e-5)
    assert summary["cost"]["total_saved_usd"] == pytest.approx(int(raw["b"]) / 2e6, abs=1e-5)
    alice = queries.stats(db, queries.StatsFilter(user="alice"))
    expected = sum(1 for r in batch if r.user_id == "alice")
    assert alice["summary"]["api_requests"] == expected
    assert {r["tags"]["user-id"] for r in alice["recent_requests"]} == {"alice"}
    by_user = {
        u["user"]: u["requests"] for u in queries.stats(db, queries.StatsFilter())["by_user"]
    }
    assert sum(by_user.values()) == 300


def test_export_csv_rows_sum_to_the_totals(db: Database) -> None:
    batch = rows(120, seed=3)
    db.insert_batch(batch)
    exported = queries.export_rows(db, queries.StatsFilter(team="payments"), "day")
    requests_at = queries.EXPORT_COLUMNS.index("requests")
    assert sum(r[requests_at] for r in exported) == sum(1 for r in batch if r.team == "payments")
    assert {r[queries.EXPORT_COLUMNS.index("team")] for r in exported} == {"payments"}


def test_time_window_filters_by_hour(db: Database) -> None:
    now = time.time()
    old = [UsageRow(ts=now - 3 * 86400, user_id="old") for _ in range(4)]
    new = [UsageRow(ts=now, user_id="new") for _ in range(6)]
    db.insert_batch(old + new)
    recent = queries.stats(db, queries.StatsFilter(since=now - 86400))
    assert recent["summary"]["api_requests"] == 6
    assert recent["lifetime"]["requests"] == 10
    assert len(queries.stats(db, queries.StatsFilter(until=now - 86400))["recent_requests"]) == 4


def test_migrations_are_applied_once_by_replicas_starting_together(database_url: str) -> None:
    results: list[int] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        database = PostgresDatabase(database_url)
        barrier.wait()
        results.append(database.migrate())
        database.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [LATEST] * 4
    check = PostgresDatabase(database_url)
    assert check.query("SELECT COUNT(*) AS n FROM hgw_schema_migrations")[0]["n"] == LATEST
    check.close()


def test_outage_spools_to_disk_and_replays_every_row(
    database_url: str, postgres_control: PostgresServer, tmp_path: Path
) -> None:
    writer = LedgerWriter(PostgresDatabase(database_url), Spool(tmp_path, "t"), FAST)
    writer.start()
    try:
        for row in rows(200, seed=1):
            writer.record(row)
        assert writer.flush(20)
        postgres_control.stop()
        for part in range(3):  # several failed replays in a row, each claiming a file
            for row in rows(100, seed=2 + part):
                writer.record(row)
            time.sleep(0.7)
        wait_until(lambda: writer.spooled == 300, 15, what="every row spooled")
        assert not writer.healthy
        lines = sum(p.read_text().count("\n") for p in tmp_path.glob("spool-*"))
        assert lines == 300
        postgres_control.start()
        assert writer.flush(30)
    finally:
        writer.close()
    check = PostgresDatabase(database_url)
    assert check.query("SELECT COUNT(*) AS n FROM hgw_usage")[0]["n"] == 500
    assert queries.lifetime(check)["requests"] == 500
    check.close()
    assert list(tmp_path.glob("spool-*")) == []


def test_a_full_queue_spools_instead_of_waiting(tmp_path: Path) -> None:
    writer = LedgerWriter(open_database(None, tmp_path), Spool(tmp_path / "spool", "t"),
                          WriterConfig(queue_max=10, flush_seconds=0.05))  # fmt: skip
    for row in rows(25):
        writer.record(row)  # the thread is not even running: nothing may wait on it
    assert writer.spooled == 15
    writer.start()
    assert writer.flush(10)
    writer.close()
    assert queries.lifetime(open_database(None, tmp_path))["requests"] == 25


def test_the_spool_of_a_dead_process_is_adopted(tmp_path: Path) -> None:
    orphan = Spool(tmp_path / "spool", "gone")
    orphan.append(rows(7, seed=9))
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    orphan.path.rename(orphan.path.with_name(f"spool-gone-{dead_pid}.jsonl"))
    assert not os.path.exists(orphan.path)
    writer = LedgerWriter(open_database(None, tmp_path), Spool(tmp_path / "spool", "me"), FAST)
    writer.start()
    assert writer.flush(10)
    writer.close()
    assert queries.lifetime(open_database(None, tmp_path))["requests"] == 7


def test_retention_drops_old_raw_rows_and_keeps_rollups(tmp_path: Path) -> None:
    db = open_database(None, tmp_path)
    writer = LedgerWriter(db, Spool(tmp_path / "spool", "t"),
                          WriterConfig(flush_seconds=0.05, retention_days=30))  # fmt: skip
    old = [UsageRow(ts=time.time() - 40 * 86400) for _ in range(5)]
    for row in [*old, UsageRow()]:
        writer.record(row)
    writer.start()
    assert writer.flush(10)
    writer.close()
    reader = open_database(None, tmp_path)
    assert reader.query("SELECT COUNT(*) AS n FROM hgw_usage")[0]["n"] == 1
    assert queries.lifetime(reader)["requests"] == 6
