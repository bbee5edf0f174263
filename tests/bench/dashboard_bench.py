"""The dashboard's first paint with one million ledger rows behind it (target < 1 s).

A real sidecar on PostgreSQL holding 1M usage rows (ledger_bench's fill: 30 days, 50 users,
10 teams) serves /dashboard; headless Chromium loads it with the operator token already in
sessionStorage, as a returning operator would. Measured in the browser, from navigation
start: first contentful paint (the page shell) and `dashboard-ready` (the /stats numbers on
screen: KPIs, chart and tables drawn), for the default view and a team filter.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import psycopg

from adapters.ledger.database import rollup_sql
from tests.bench.ledger_bench import _FILL, _has_table
from tests.integration.dashboard.browser import chromium, wait_for
from tests.integration.postgres_server import PostgresServer, pg_bindir
from tests.processes import Sidecar

TOKEN = "bench-operator"
LOADS = 7


def run_dashboard_bench(rows: int = 1_000_000) -> dict[str, Any]:
    if pg_bindir() is None:
        raise FileNotFoundError("needs PostgreSQL (tests/tools/install.sh)")
    server = PostgresServer()
    server.start()
    try:
        url = server.create_database("dashboard")
        with Sidecar({"HEADROOM_DATABASE_URL": url, "HEADROOM_PROXY_TOKEN": TOKEN}) as sidecar:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _has_table(url):
                time.sleep(0.2)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(_FILL.replace("%s", str(rows)))
                conn.execute(rollup_sql("hgw_usage", "(floor(ts / 3600) * 3600)::bigint",
                                        "GREATEST"))  # fmt: skip
                conn.execute("ANALYZE")
            with chromium() as browser:
                out: dict[str, Any] = {"rows": rows}
                for name, change in VIEWS.items():
                    out.update(_loads(browser, sidecar.url, name, change))
                print(f"  dashboard over {rows:,} rows: {out}")
                return out
    finally:
        server.cleanup()


#: The first view (last 24 hours, every team), then a filter change from it.
VIEWS: dict[str, tuple[str, str] | None] = {
    "default_24h": None,
    "team_filter": ("team", "team3"),
    "all_time": ("window", ""),
}


def _loads(browser: Any, base: str, name: str, change: tuple[str, str] | None) -> dict[str, float]:
    browser.get(base + "/dashboard")
    browser.execute_script("sessionStorage.setItem('headroom.operatorToken', arguments[0]);",
                           TOKEN)  # fmt: skip
    fcp: list[float] = []
    ready: list[float] = []
    for _ in range(LOADS):
        browser.get(base + "/dashboard")
        _wait_ready(browser)
        if change is not None:  # one more /stats round trip, timed from the change event
            browser.execute_script(
                "const [id, value] = arguments; const el = document.getElementById(id);"
                "el.value = value; document.getElementById('status').dataset.state = '';"
                "window.__t0 = performance.now(); el.dispatchEvent(new Event('change'));",
                *change,
            )
            _wait_ready(browser)
            ready.append(browser.execute_script("return performance.now() - window.__t0;"))
            continue
        timing = browser.execute_script(
            "const p = performance.getEntriesByName('first-contentful-paint')[0];"
            "const r = performance.getEntriesByName('dashboard-ready')[0];"
            "return [p ? p.startTime : null, r.startTime];"
        )
        if timing[0] is not None:
            fcp.append(timing[0])
        ready.append(timing[1])
    out = {f"{name}_ready_p50_ms": statistics.median(ready),
           f"{name}_ready_max_ms": max(ready)}  # fmt: skip
    if fcp:
        out[f"{name}_first_contentful_paint_p50_ms"] = statistics.median(fcp)
    return out


READY = "return document.getElementById('status').dataset.state === 'ready';"


def _wait_ready(browser: Any) -> None:
    wait_for(browser, lambda b: b.execute_script(READY), timeout=60)
