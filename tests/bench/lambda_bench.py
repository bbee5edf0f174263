"""The Lambda target's costs: cold start, warm latency against the sidecar, memory, size.

The packaged zip runs under AWS's runtime client on CPython 3.12, fed by the local Runtime
API of the Lambda integration tests. Cold start is measured as AWS bills it: from process
start to the first `invocation/next` call (interpreter start, imports, engine warm-up);
the first invocation after it is timed separately. Warm latency is compared on the same
payload with the HTTP sidecar in the same run (fresh session per call on both sides).
"""

from __future__ import annotations

import importlib
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests import corpus
from tests.processes import Sidecar

# `lambda` is a keyword: the test helpers are imported by name, not by an import statement.
_harness = importlib.import_module("tests.integration.lambda.lambda_harness")
_events = importlib.import_module("tests.integration.lambda.lambda_events")


def run_lambda_bench(cold_starts: int = 3, warm_calls: int = 40) -> dict[str, Any]:
    """Numbers for BENCHMARKS.md; raises when CPython 3.12 or the build is unavailable."""
    python = _harness.find_python312()
    if python is None:
        raise RuntimeError("CPython 3.12 (the Lambda runtime's version) is not installed")
    archive = _harness.build_artifact("x86_64")
    request = {"messages": corpus.agent_session(12)[-1], "model": "gpt-4o"}
    with tempfile.TemporaryDirectory() as scratch:
        root = _harness.unpack(archive, Path(scratch) / "task")
        client = _harness.runtime_client(python)
        colds = [_cold_start(root, python, client, Path(scratch) / f"c{i}", request)
                 for i in range(cold_starts)]  # fmt: skip
        warm = _warm_against_sidecar(root, python, client, Path(scratch), request, warm_calls)
    inits = [init for init, _ in colds]
    lambda_p50, sidecar_p50 = statistics.median(warm["lambda"]), statistics.median(warm["sidecar"])
    result = {
        "unzipped_mb": _harness.unzipped_bytes(archive) / 1e6,
        "zipped_mb": archive.stat().st_size / 1e6,
        "cold_start_init_s": statistics.median(inits),
        "cold_start_init_min_s": min(inits),
        "cold_start_init_max_s": max(inits),
        "first_invocation_ms": statistics.median(first for _, first in colds) * 1000,
        "sidecar_first_request_ms": warm["sidecar_first"] * 1000,
        "warm_p50_ms": lambda_p50 * 1000,
        "warm_p95_ms": _percentile(warm["lambda"], 95) * 1000,
        "sidecar_p50_ms": sidecar_p50 * 1000,
        "sidecar_p95_ms": _percentile(warm["sidecar"], 95) * 1000,
        "warm_vs_sidecar_p50_ratio": lambda_p50 / sidecar_p50,
        "peak_rss_mb": warm["peak_rss"] / 2**20,
        "payload_kb": len(json.dumps(request)) / 1000,
        "cold_starts": cold_starts,
        "warm_calls": warm_calls,
    }
    print(
        f"  lambda: init {result['cold_start_init_s']:.2f} s, warm p50 "
        f"{result['warm_p50_ms']:.1f} ms vs sidecar {result['sidecar_p50_ms']:.1f} ms, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB, {result['unzipped_mb']:.0f} MB unzipped"
    )
    return result


def _event(request: dict[str, Any]) -> dict[str, Any]:
    headers = {"x-headroom-session-id": uuid.uuid4().hex}
    return _events.function_url("POST", "/v1/compress", request, headers)


def _cold_start(root: Path, python: str, client: Path, scratch: Path,
                request: dict[str, Any]) -> tuple[float, float]:  # fmt: skip
    """(init seconds, first invocation seconds) of a fresh container."""
    runtime = _harness.LambdaRuntime(root, python, client, scratch)
    runtime.start()
    try:
        init = runtime.wait_initialised()
        first = runtime.invoke(_event(request))
        _check(first)
        return init, first.seconds
    finally:
        runtime.stop()


def _warm_against_sidecar(root: Path, python: str, client: Path, scratch: Path,
                          request: dict[str, Any], calls: int) -> dict[str, Any]:  # fmt: skip
    """Warm latencies, Lambda and sidecar calls interleaved so that load from anything else
    on the machine falls on both alike; and the runtime process's peak RSS afterwards."""
    body = json.dumps(request).encode()
    headers = {"content-type": "application/json"}
    runtime = _harness.LambdaRuntime(root, python, client, scratch / "warm")
    runtime.start()
    try:
        with (
            Sidecar({"HEADROOM_DATA_DIR": str(scratch / "sidecar")}) as sidecar,
            httpx.Client(base_url=sidecar.url, timeout=60) as http,
        ):
            runtime.wait_initialised()
            _check(runtime.invoke(_event(request)))  # the cold invocation is not a warm one
            started = time.perf_counter()
            http.post("/v1/compress", content=body, headers=headers).raise_for_status()
            out: dict[str, Any] = {"sidecar_first": time.perf_counter() - started,
                                   "lambda": [], "sidecar": []}  # fmt: skip
            for _ in range(calls):
                invocation = runtime.invoke(_event(request))
                _check(invocation)
                out["lambda"].append(invocation.seconds)
                session = {**headers, "x-headroom-session-id": uuid.uuid4().hex}
                started = time.perf_counter()
                http.post("/v1/compress", content=body, headers=session).raise_for_status()
                out["sidecar"].append(time.perf_counter() - started)
        out["peak_rss"] = runtime.peak_rss_bytes()
        return out
    finally:
        runtime.stop()


def _check(invocation: Any) -> None:
    response = invocation.json()
    if invocation.outcome != "response" or response.get("statusCode") != 200:
        raise RuntimeError(f"invocation failed: {invocation.payload[:500]!r}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


if __name__ == "__main__":
    print(json.dumps(run_lambda_bench(), indent=2))
