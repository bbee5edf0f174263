"""`make bench` overload section: latency, outcomes and memory when the gateway is pushed.

Three scenarios, each on a fresh sidecar so its peak RSS (VmHWM) is its own:
- concurrency 1/8/32 on distinct payloads (every request new work) and on replayed ones
  (the same session resent): p50/p99, outcomes, shed count, RSS;
- starvation: small requests sent one after another while two 15 MB tool outputs are in
  flight (before admission control every small request took the 10 s deadline);
- 400 sessions each carrying a 1 MB verbatim Read output: RSS after them all.
Run alone with `python -m tests.bench.overload` (prints the results as JSON).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from adapters.offline import apply_offline_environment
from tests import corpus
from tests.bench.run import peak_rss_bytes, percentile
from tests.processes import Sidecar

LEVELS = (1, 8, 32)
MB = 2**20


def _tool_request(kind: str, units: int, seed: int, tool: str = "Bash") -> dict[str, Any]:
    output = corpus.CONTENT[kind](units, seed)
    messages = [{"role": "user", "content": "Investigate."},
                *corpus.tool_turn_openai(f"c{seed}", tool, output)]  # fmt: skip
    return {"messages": messages, "model": "gpt-4o"}


def _post(client: httpx.Client, body: bytes, session: str) -> tuple[float, str, int]:
    started = time.perf_counter()
    response = client.post("/v1/compress", content=body,
                           headers={"x-headroom-session-id": session,
                                    "content-type": "application/json"})  # fmt: skip
    elapsed = time.perf_counter() - started
    json.loads(response.content)  # every answer must be valid JSON
    return (
        elapsed,
        response.headers.get("x-headroom-outcome", str(response.status_code)),
        (response.status_code),
    )


def _rss_mb(sidecar: Sidecar) -> float:
    return sidecar.rss_bytes() / MB


def _peak_mb(sidecar: Sidecar) -> float:
    assert sidecar.process is not None
    return peak_rss_bytes(sidecar.process.pid) / MB


def concurrency(sidecar: Sidecar, replayed: bool) -> list[dict[str, Any]]:
    """Each level sends 2x its concurrency (at least 16) requests of a ~50k-token output."""
    rows = []
    fixed = json.dumps(_tool_request("app_log", 1000, seed=7)).encode()
    fixed_session = uuid.uuid4().hex
    with httpx.Client(base_url=sidecar.url, timeout=120) as client:
        if replayed:
            _post(client, fixed, fixed_session)  # first sight: compressed and recorded
        for level in LEVELS:
            count = max(16, 2 * level)
            bodies = [
                fixed if replayed
                else json.dumps(_tool_request("app_log", 1000, seed=10_000 * level + i)).encode()
                for i in range(count)
            ]  # fmt: skip
            started = time.perf_counter()
            with ThreadPoolExecutor(level) as pool:
                results = list(pool.map(
                    lambda body: _post(client, body, fixed_session if replayed
                                       else uuid.uuid4().hex), bodies))  # fmt: skip
            wall = time.perf_counter() - started
            times = [r[0] for r in results]
            outcomes = Counter(r[1] for r in results)
            rows.append({
                "payload": "replayed" if replayed else "distinct", "concurrency": level,
                "requests": count, "p50_ms": 1000 * percentile(times, 50),
                "p99_ms": 1000 * percentile(times, 99), "throughput_rps": count / wall,
                "outcomes": dict(outcomes), "shed": outcomes.get("shed", 0),
                "errors_5xx": sum(1 for r in results if r[2] >= 500),
                "rss_mb": _rss_mb(sidecar),
            })  # fmt: skip
            print(f"  {rows[-1]['payload']:8s} c={level:2d} p50 {rows[-1]['p50_ms']:7.1f} ms "
                  f"p99 {rows[-1]['p99_ms']:7.1f} ms {dict(outcomes)} "
                  f"RSS {rows[-1]['rss_mb']:.0f} MB", flush=True)  # fmt: skip
    return rows


def starvation(sidecar: Sidecar, big_mb: int = 15, window: float = 8.0) -> dict[str, Any]:
    """Small-request latency while two `big_mb` MB tool outputs are in flight all along: two
    clients resend theirs back to back for `window` seconds while a third sends small ones
    (a ~4k-token log each, new work every time) one after another."""
    line_chars = len(corpus.app_log(200, 1)) / 200
    bigs = [json.dumps(_tool_request("app_log", int(big_mb * 1e6 / line_chars), seed=s)).encode()
            for s in (1, 2)]  # fmt: skip
    big_results: list[tuple[float, str, int]] = []
    small_results: list[tuple[float, str, int]] = []
    stop = threading.Event()

    def send_big(body: bytes) -> None:
        with httpx.Client(base_url=sidecar.url, timeout=120) as client:
            while not stop.is_set():
                big_results.append(_post(client, body, uuid.uuid4().hex))

    threads = [threading.Thread(target=send_big, args=(body,)) for body in bigs]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both big bodies on their way in
    ends = time.perf_counter() + window
    with httpx.Client(base_url=sidecar.url, timeout=120) as client:
        seed = 100
        while time.perf_counter() < ends:
            body = json.dumps(_tool_request("app_log", 400, seed=seed)).encode()
            small_results.append(_post(client, body, uuid.uuid4().hex))
            seed += 1
    stop.set()
    for thread in threads:
        thread.join()
    times = [r[0] for r in small_results]
    big_times = [r[0] for r in big_results]
    result = {
        "big_request_mb": round(len(bigs[0]) / MB, 1),
        "big_requests": len(big_results),
        "big_p50_ms": 1000 * percentile(big_times, 50),
        "big_outcomes": dict(Counter(r[1] for r in big_results)),
        "small_requests": len(small_results),
        "small_p50_ms": 1000 * percentile(times, 50),
        "small_p95_ms": 1000 * percentile(times, 95),
        "small_outcomes": dict(Counter(r[1] for r in small_results)),
        "errors_5xx": sum(1 for r in big_results + small_results if r[2] >= 500),
        "peak_rss_mb": _peak_mb(sidecar),
    }
    print(f"  {result}", flush=True)
    return result


def verbatim_sessions(sidecar: Sidecar, sessions: int = 400) -> dict[str, Any]:
    """`sessions` sessions, each one turn carrying a ~1 MB Read output (kept verbatim)."""
    line_chars = len(corpus.file_read(200, 1)) / 200
    lines = int(1e6 / line_chars)
    before = _rss_mb(sidecar)
    started = time.perf_counter()
    with httpx.Client(base_url=sidecar.url, timeout=120) as client:
        for i in range(sessions):
            body = json.dumps(_tool_request("read", lines, seed=i, tool="Read")).encode()
            _post(client, body, f"session-{i}")
    time.sleep(1)
    result = {"sessions": sessions, "rss_before_mb": before, "rss_after_mb": _rss_mb(sidecar),
              "peak_rss_mb": _peak_mb(sidecar),
              "seconds": time.perf_counter() - started}  # fmt: skip
    print(f"  {result}", flush=True)
    return result


def render(results: dict[str, Any]) -> list[str]:
    """The overload section of BENCHMARKS.md."""
    from tests.bench.report import _table

    if "skipped" in results:
        return ["", "### Overload", f"not run: {results['skipped']}"]
    out = ["", "### Overload: concurrency (~50k-token log output per request, 2 threads)"]
    rows = [[r["payload"], str(r["concurrency"]), str(r["requests"]), f"{r['p50_ms']:.0f}",
             f"{r['p99_ms']:.0f}", f"{r['throughput_rps']:.1f}",
             ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items())), str(r["shed"]),
             str(r["errors_5xx"]), f"{r['rss_mb']:.0f}"]
            for r in results["concurrency"].values()]  # fmt: skip
    out.append(_table(["payload", "concurrency", "requests", "p50 ms", "p99 ms", "req/s",
                       "outcomes", "shed", "5xx", "RSS MB"], rows))  # fmt: skip
    s = results["starvation"]
    v = results["verbatim_sessions"]
    out += ["", "### Overload: starvation and memory", _table(["measure", "value"], [
        ["big requests in flight", f"2 x {s['big_request_mb']} MB tool output, resent "
                                   f"back to back ({s['big_requests']} answered, p50 "
                                   f"{s['big_p50_ms']:.0f} ms, {s['big_outcomes']})"],
        ["small requests meanwhile (~4k-token log)", f"{s['small_requests']}, outcomes "
                                                     f"{s['small_outcomes']}"],
        ["small request p50 / p95", f"{s['small_p50_ms']:.0f} ms / {s['small_p95_ms']:.0f} ms"],
        ["peak RSS during starvation", f"{s['peak_rss_mb']:.0f} MB"],
        ["5xx during starvation", str(s["errors_5xx"])],
        [f"RSS after {v['sessions']} sessions with a 1 MB verbatim Read each",
         f"{v['rss_after_mb']:.0f} MB (from {v['rss_before_mb']:.0f} MB; peak "
         f"{v['peak_rss_mb']:.0f} MB)"],
    ])]  # fmt: skip
    return out


def run() -> dict[str, Any]:
    apply_offline_environment()
    results: dict[str, Any] = {}
    print("overload: concurrency")
    with Sidecar() as sidecar:
        results["concurrency"] = {
            f"{row['payload']}_c{row['concurrency']}": row
            for replayed in (False, True)
            for row in concurrency(sidecar, replayed)
        }
    print("overload: starvation (two 15 MB tool outputs in flight)")
    with Sidecar() as sidecar:
        results["starvation"] = starvation(sidecar)
    print("overload: 400 sessions with a 1 MB verbatim Read each")
    with Sidecar() as sidecar:
        results["verbatim_sessions"] = verbatim_sessions(sidecar)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
