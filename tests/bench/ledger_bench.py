"""The usage ledger, measured: what it adds to a request, /stats at a million rows, and a
30 s PostgreSQL outage under load.

- added latency: two sidecars, ledger on (PostgreSQL) and off, the same small requests
  alternating between them; the p50 difference, plus `record()` itself timed in process;
- /stats over 1,000,000 ledger rows (30 days, 50 users on 10 teams, their models and
  clients), rolled up with the gateway's own rollup SQL, through a real sidecar over HTTP;
- load on two replicas while PostgreSQL is down for `outage_seconds`: every answered request
  must be a ledger row afterwards, none twice.

Needs Debian's PostgreSQL (tests/tools/install.sh).
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import httpx
import psycopg

from adapters.ledger.database import rollup_sql
from tests import corpus
from tests.integration.postgres_server import PostgresServer, pg_bindir
from tests.processes import Sidecar

FAST = {"HEADROOM_LEDGER_FLUSH_SECONDS": "0.2", "HEADROOM_ADMIN_TOKEN": "bench-admin"}
ADMIN = {"Authorization": "Bearer bench-admin"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def small_request(seed: int) -> dict[str, Any]:
    messages = [
        {"role": "user", "content": "check"},
        *corpus.tool_turn_openai(f"c{seed}", "Bash", corpus.CONTENT["json"](20, seed)),
    ]
    return {"messages": messages, "model": "gpt-4o"}  # fmt: skip


def run_ledger_bench(requests: int = 400, outage_seconds: float = 30.0) -> dict[str, Any]:
    if pg_bindir() is None:
        raise FileNotFoundError("needs PostgreSQL (tests/tools/install.sh)")
    server = PostgresServer()
    server.start()
    try:
        results = {"added_latency": added_latency(server, requests)}
        print(f"  ledger on vs off: {results['added_latency']}")
        results["stats_1m"] = stats_at_a_million(server)
        print(f"  /stats over 1M rows: {results['stats_1m']}")
        results["outage"] = outage_under_load(server, outage_seconds)
        print(f"  {outage_seconds:.0f} s PostgreSQL outage under load: {results['outage']}")
        return results
    finally:
        server.cleanup()


def added_latency(server: PostgresServer, requests: int) -> dict[str, float]:
    url = server.create_database("latency")
    on = Sidecar({**FAST, "HEADROOM_DATABASE_URL": url})
    off = Sidecar({**FAST, "HEADROOM_LEDGER": "false"})
    times: dict[str, list[float]] = {"on": [], "off": []}
    with on, off, httpx.Client(timeout=30) as client:
        bodies = [small_request(i) for i in range(requests)]
        for i, body in enumerate(bodies[:20]):  # warm both
            client.post(f"{(on, off)[i % 2].url}/v1/compress", json=body)
        for i, body in enumerate(bodies):
            order = (("on", on), ("off", off)) if i % 2 else (("off", off), ("on", on))
            for name, sidecar in order:
                started = time.perf_counter()
                client.post(f"{sidecar.url}/v1/compress", json=body).raise_for_status()
                times[name].append(time.perf_counter() - started)
    p50_on, p50_off = statistics.median(times["on"]), statistics.median(times["off"])
    return {"p50_on_ms": 1000 * p50_on, "p50_off_ms": 1000 * p50_off,
            "added_p50_ms": 1000 * (p50_on - p50_off), "record_call_p50_us": record_cost_us(),
            "requests_each": requests}  # fmt: skip


def record_cost_us(calls: int = 5000) -> float:
    """What `request_finished` costs the request itself: build the row, queue it."""
    import tempfile
    from pathlib import Path

    from adapters.ledger.ledger import Ledger
    from adapters.ledger.telemetry import UsageTelemetry
    from core.ports import RequestReport
    from core.tags import RequestTags

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(None, Path(tmp), "bench")
        ledger.start()  # the writer drains while we record, as in the gateway
        report = RequestReport(
            outcome="compressed",
            fmt="openai",
            tokens_before=5000,
            tokens_after=400,
            engines={"json:smart_crusher": 2},
            model="gpt-4o",
            tags=RequestTags(user="alice", team="payments"),
        )
        telemetry = UsageTelemetry(ledger)  # what the core calls: report -> record -> row
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            telemetry.request_finished(report)
            samples.append(time.perf_counter() - started)
        ledger.close()
    return 1e6 * statistics.median(samples)


#: 1M rows over 30 days: user u (of 50) is on team u % 10, uses 2 models and 1 client.
_FILL = """
INSERT INTO hgw_usage
SELECT md5(i::text), extract(epoch FROM now()) - i * 2.592, 'bench', 'pod-' || (i % 4),
       'user' || (i % 50), 'team' || (i % 50 % 10), 'project' || (i % 50 % 5), '',
       (ARRAY['claude-cli','codex','litellm','openai-python','curl'])[i % 50 % 5 + 1],
       (ARRAY['claude-sonnet-4-5','gpt-4o','claude-opus-4','gpt-5'])
           [(i % 50 % 2) + (i % 7 % 2) * 2 + 1],
       'anthropic', 'compress', CASE WHEN i % 5 = 0 THEN 'passthrough' ELSE 'compressed' END, '',
       20000 + i % 9000, CASE WHEN i % 5 = 0 THEN 20000 + i % 9000 ELSE 3000 + i % 1000 END,
       0, 0, i % 40, 1, '{"json:smart_crusher":1}', 5 + (i % 30), NULL, NULL, NULL, NULL, NULL,
       (20000 + i % 9000) * 3e-6, (3000 + i % 1000) * 3e-6, '{}'
FROM generate_series(1, %s) AS i
"""


def stats_at_a_million(server: PostgresServer, rows: int = 1_000_000) -> dict[str, Any]:
    url = server.create_database("million")
    with Sidecar({**FAST, "HEADROOM_DATABASE_URL": url}) as sidecar:  # migrates the schema
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _has_table(url):
            time.sleep(0.2)
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_FILL.replace("%s", str(rows)))
            conn.execute(rollup_sql("hgw_usage", "(floor(ts / 3600) * 3600)::bigint", "GREATEST"))
            conn.execute("ANALYZE")
            rollups = conn.execute("SELECT COUNT(*) FROM hgw_usage_hourly").fetchone()
        fill_seconds = time.perf_counter() - started
        timings: dict[str, list[float]] = {"all": [], "user_7d": [], "team_24h": []}
        params = {"all": {}, "user_7d": {"user": "user7", "window": "7d"},
                  "team_24h": {"team": "team3", "window": "24h"}}  # fmt: skip
        with httpx.Client(base_url=sidecar.url, headers=ADMIN, timeout=30) as client:
            body = client.get("/stats").json()
            assert body["summary"]["api_requests"] == rows, body["summary"]
            for _ in range(15):
                for name, query in params.items():
                    started = time.perf_counter()
                    client.get("/stats", params=query).raise_for_status()
                    timings[name].append(time.perf_counter() - started)
            csv_started = time.perf_counter()
            client.get("/stats/export.csv", params={"window": "30d"}).raise_for_status()
            csv_ms = 1000 * (time.perf_counter() - csv_started)
    out: dict[str, Any] = {f"{k}_p50_ms": 1000 * statistics.median(v) for k, v in timings.items()}
    out.update({"all_p95_ms": 1000 * percentile(timings["all"], 95), "rows": rows,
                "rollup_rows": int(rollups[0]) if rollups else 0,
                "fill_seconds": round(fill_seconds, 1), "export_csv_30d_ms": csv_ms})  # fmt: skip
    return out


def _has_table(url: str) -> bool:
    try:
        with psycopg.connect(url) as conn:
            return bool(conn.execute("SELECT to_regclass('hgw_usage_hourly')").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return False


def outage_under_load(server: PostgresServer, outage_seconds: float) -> dict[str, Any]:
    url = server.create_database("outage")
    env = {**FAST, "HEADROOM_DATABASE_URL": url}
    replicas = [Sidecar({**env, "HEADROOM_INSTANCE_ID": n}) for n in ("a", "b")]
    answered = {"before": 0, "during": 0, "after": 0}
    latencies: dict[str, list[float]] = {k: [] for k in answered}
    errors = [0]
    phase = ["before"]
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not stop.is_set():
                sidecar = replicas[(worker + i) % 2]
                i += 1
                started = time.perf_counter()
                response = client.post(f"{sidecar.url}/v1/compress",
                                       json=small_request(worker * 100000 + i))  # fmt: skip
                name = phase[0]
                if response.status_code == 200:
                    answered[name] += 1
                    latencies[name].append(time.perf_counter() - started)
                else:
                    errors[0] += 1

    for sidecar in replicas:
        sidecar.start()
    try:
        workers = [threading.Thread(target=load, args=(w,)) for w in range(2)]
        for worker in workers:
            worker.start()
        time.sleep(5)
        phase[0] = "during"
        server.stop()
        time.sleep(outage_seconds)
        phase[0] = "after"
        server.start()
        time.sleep(5)
        stop.set()
        for worker in workers:
            worker.join(30)
        sent = sum(answered.values())
        deadline = time.monotonic() + 60
        rows = -1
        while time.monotonic() < deadline:
            rows = _count(url)
            if rows >= sent:
                break
            time.sleep(0.5)
        recovery = 60 - (deadline - time.monotonic())
        time.sleep(1)
        rows = _count(url)
    finally:
        for sidecar in replicas:
            sidecar.stop()
    return {"requests_answered": sent, "ledger_rows": rows, "rows_lost": sent - rows,
            "errors": errors[0], "answered_during_outage": answered["during"],
            "p50_before_ms": 1000 * statistics.median(latencies["before"] or [0]),
            "p50_during_outage_ms": 1000 * statistics.median(latencies["during"] or [0]),
            "seconds_to_catch_up": round(recovery, 1),
            "outage_seconds": outage_seconds}  # fmt: skip


def _count(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT COUNT(*) FROM hgw_usage").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:
        return -1


if __name__ == "__main__":
    import json
    import sys

    from adapters.offline import apply_offline_environment

    apply_offline_environment()
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    print(json.dumps(run_ledger_bench(outage_seconds=seconds), indent=2))
