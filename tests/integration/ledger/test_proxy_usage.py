"""The proxy's way into accounting: one call records a request with the provider's usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from adapters.accounting import build_accounting
from adapters.ledger import queries
from adapters.settings import Settings
from core.tags import RequestTags

PRICES = {"models": {"claude-sonnet-4-5": {"input": 3, "output": 15, "cache_read": 0.3,
                                           "cache_write_5m": 3.75, "cache_write_1h": 6}},
          "replace_shipped": True}  # fmt: skip
ANTHROPIC_USAGE = {"input_tokens": 1000, "cache_read_input_tokens": 10000,
                   "cache_creation_input_tokens": 2000, "output_tokens": 500}  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_proxied_request_is_one_priced_row_with_provider_usage(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pricing = tmp_path / "prices.json"
    pricing.write_text(json.dumps(PRICES))
    url = request.getfixturevalue("database_url") if backend == "postgres" else None
    settings = Settings(data_dir=tmp_path, database_url=url, pricing_file=pricing,
                        ledger_flush_seconds=0.05)  # fmt: skip
    accounting = build_accounting(settings, CollectorRegistry())
    assert accounting.ledger is not None
    tags = RequestTags(user="alice", team="payments", client="claude-cli", route="proxy",
                       key_id="83e60268d6f4")  # fmt: skip
    try:
        # uncompressed (tokens before == after): both sides cost what the provider billed
        accounting.record(tags, ANTHROPIC_USAGE, model="claude-sonnet-4-5-20250929",
                          outcome="ok", tokens_before=13000, tokens_after=13000)  # fmt: skip
        accounting.record(tags, ANTHROPIC_USAGE, model="claude-sonnet-4-5", outcome="ok",
                          tokens_before=20000, tokens_after=13000)  # fmt: skip
        accounting.record(tags, None, model="unknown-model", outcome="upstream_error")
        assert accounting.ledger.writer.flush(15)
        db = accounting.ledger.reader
        rows = db.query("SELECT * FROM hgw_usage ORDER BY tokens_before")
        assert len(rows) == 3
        unpriced, plain, compressed = rows
        assert unpriced["cost_without_usd"] is None and unpriced["provider_input_tokens"] is None
        billed = (1000 * 3 + 10000 * 0.3 + 2000 * 3.75 + 500 * 15) / 1e6  # = $0.021
        assert plain["cost_without_usd"] == pytest.approx(billed)
        assert plain["cost_with_usd"] == pytest.approx(billed)
        assert (plain["provider_input_tokens"], plain["provider_cache_read_tokens"],
                plain["provider_cache_write_tokens"], plain["provider_output_tokens"]) == (
                1000, 10000, 2000, 500)  # fmt: skip
        assert (plain["route"], plain["client"], plain["key_id"]) == ("proxy", "claude-cli",
                                                                      "83e60268d6f4")  # fmt: skip
        assert compressed["cost_with_usd"] == pytest.approx(billed)
        assert compressed["cost_without_usd"] > billed  # it would have cost more uncompressed
        summary = queries.stats(db, queries.StatsFilter(user="alice"))["summary"]
        assert summary["api_requests"] == 3 and summary["cost"]["priced_requests"] == 2
        assert summary["provider_usage"]["cache_read_tokens"] == 20000
        assert summary["cost"]["total_saved_usd"] == pytest.approx(
            compressed["cost_without_usd"] - billed, abs=1e-6)  # fmt: skip
        assert "claude-sonnet-4-5" in accounting.pricing()["models"]
        if url is not None:  # keys and the writer share one connection; /stats has its own
            assert gateway_connections(url) == 2
    finally:
        accounting.close()


def gateway_connections(url: str) -> int:
    import psycopg

    with psycopg.connect(url, application_name="hgw-test") as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND application_name = 'headroom-gateway'"
                           ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])
