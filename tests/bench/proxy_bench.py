"""The transparent proxy's costs, each against the fake provider called directly in the same run.

- Time to first byte on a replayed ~150k-token Anthropic turn (the history was sent before,
  one small tool step is new), streamed: through the gateway vs direct, interleaved.
- Stream forwarding delay: per SSE event, arrival at the client minus the moment the provider
  flushed it (one clock: the fake runs in this process), through the gateway vs direct.
- 64 concurrent streams: errors, incomplete streams, and gateway RSS per open stream.
- The retrieve loop: upstream requests and wall time of a turn whose model retrieves one
  marker, against the same turn without retrieval and one direct round trip.

Part of `make bench`; alone: `python -m tests.bench.proxy_bench` (about 15 s).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests import corpus
from tests.fake_provider import Exchange, FakeProvider, Reply, retrieve_model
from tests.processes import Sidecar

MODEL = "claude-sonnet-4-5"
HEADERS = {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01",
           "content-type": "application/json"}  # fmt: skip


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _body(messages: list[dict[str, Any]], session: str) -> dict[str, Any]:
    """A Claude Code-shaped request: system with a breakpoint, the last block with one."""
    messages = json.loads(json.dumps(messages))
    last = messages[-1]["content"]
    if isinstance(last, list):
        last[-1]["cache_control"] = {"type": "ephemeral"}
    return {"model": MODEL, "max_tokens": 1024, "stream": True, "metadata": {"user_id": session},
            "system": [{"type": "text", "text": "You are a coding agent.",
                        "cache_control": {"type": "ephemeral"}}],
            "messages": messages}  # fmt: skip


def _first_byte(client: httpx.Client, url: str, body: bytes, session: str) -> float:
    headers = {**HEADERS, "x-claude-code-session-id": session}
    started = time.perf_counter()
    with client.stream("POST", url, content=body, headers=headers) as response:
        response.raise_for_status()
        first = 0.0
        for _ in response.iter_raw():
            first = first or time.perf_counter() - started
    return first


def bench_ttfb(fake: FakeProvider, gateway: Sidecar, repetitions: int) -> dict[str, Any]:
    from headroom.tokenizers import get_tokenizer

    history = corpus.agent_session(31, fmt="anthropic", seed=61)[-1]
    tokens = get_tokenizer("gpt-4o").count_text(json.dumps(history))
    direct, proxied = [], []
    with httpx.Client(timeout=120) as client:
        warm = json.dumps(_body(history, "ttfb")).encode()
        _first_byte(client, gateway.url + "/v1/messages", warm, "ttfb")  # the cold compress
        for rep in range(repetitions):
            step = corpus.tool_turn_anthropic(f"ttfb_{rep}", "Bash", f"ok {rep}\n")
            history = history + step
            body = json.dumps(_body(history, "ttfb")).encode()
            proxied.append(_first_byte(client, gateway.url + "/v1/messages", body, "ttfb"))
            direct.append(_first_byte(client, fake.url + "/v1/messages", body, "ttfb-direct"))
            fake.reset()
    d50, p50 = _percentile(direct, 50), _percentile(proxied, 50)
    return {"history_tokens": tokens, "request_kb": round(len(body) / 1000),
            "direct_p50_ms": 1000 * d50, "proxy_p50_ms": 1000 * p50,
            "direct_p95_ms": 1000 * _percentile(direct, 95),
            "proxy_p95_ms": 1000 * _percentile(proxied, 95),
            "added_p50_ms": 1000 * (p50 - d50), "repetitions": repetitions}  # fmt: skip


def _event_arrivals(client: httpx.Client, url: str, body: dict[str, Any]) -> list[float]:
    """perf_counter() at which each complete SSE event reached the client."""
    arrivals: list[float] = []
    pending = b""
    with client.stream("POST", url, json=body, headers=HEADERS) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            now = time.perf_counter()
            pending += chunk
            while b"\n\n" in pending:
                _, pending = pending.split(b"\n\n", 1)
                arrivals.append(now)
    return arrivals


def bench_forwarding(fake: FakeProvider, gateway: Sidecar, streams: int) -> dict[str, Any]:
    body = {"model": MODEL, "max_tokens": 512, "stream": True,
            "messages": [{"role": "user", "content": "Stream me something."}]}  # fmt: skip
    fake.chunk_delay, fake.chunk_chars = 0.01, 8
    delays: dict[str, list[float]] = {"direct": [], "proxy": []}
    with httpx.Client(timeout=60) as client:
        for _ in range(streams):
            for label, base in (("proxy", gateway.url), ("direct", fake.url)):
                fake.reset()
                fake.enqueue(Reply.say("word " * 60))
                arrivals = _event_arrivals(client, base + "/v1/messages", body)
                sent = fake.generations()[0].sent_at
                assert len(arrivals) == len(sent), (label, len(arrivals), len(sent))
                delays[label] += [a - s for a, s in zip(arrivals, sent, strict=True)]
    fake.chunk_delay, fake.chunk_chars = 0.0, 16
    return {"events": len(delays["proxy"]),
            "direct_p50_ms": 1000 * _percentile(delays["direct"], 50),
            "direct_p99_ms": 1000 * _percentile(delays["direct"], 99),
            "proxy_p50_ms": 1000 * _percentile(delays["proxy"], 50),
            "proxy_p99_ms": 1000 * _percentile(delays["proxy"], 99),
            "forwarding_p50_ms": 1000 * (_percentile(delays["proxy"], 50)
                                         - _percentile(delays["direct"], 50))}  # fmt: skip


def bench_concurrency(fake: FakeProvider, gateway: Sidecar, streams: int) -> dict[str, Any]:
    """`streams` clients at once, each a ~2 s stream of ~40 events with a ~8k-token body."""
    fake.chunk_delay, fake.chunk_chars = 0.05, 16
    history = corpus.agent_session(4, fmt="anthropic", seed=71)[-1]
    idle_rss = gateway.rss_bytes()
    peak = {"rss": idle_rss}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], gateway.rss_bytes())
            time.sleep(0.02)

    async def one(client: httpx.AsyncClient, index: int) -> tuple[bool, float]:
        body = _body(history, f"concurrent-{index}")
        started = time.perf_counter()
        try:
            async with client.stream("POST", gateway.url + "/v1/messages", json=body,
                                     headers={**HEADERS, "x-claude-code-session-id":
                                              f"concurrent-{index}"}) as response:  # fmt: skip
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            ok = response.status_code == 200 and raw.rstrip().endswith(b'{"type":"message_stop"}')
        except httpx.HTTPError:
            ok = False
        return ok, time.perf_counter() - started

    async def run_all() -> list[tuple[bool, float]]:
        limits = httpx.Limits(max_connections=streams + 8)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            return await asyncio.gather(*(one(client, i) for i in range(streams)))

    fake.reset()
    fake.model = _always(Reply.say("token " * 100))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    outcomes = asyncio.run(run_all())
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    fake.model, fake.chunk_delay = None, 0.0
    durations = [d for _, d in outcomes]
    events = len(fake.generations()[0].sent_at)
    return {"streams": streams, "errors": sum(1 for ok, _ in outcomes if not ok),
            "events_per_stream": events, "provider_stream_s": events * 0.05,
            "stream_p50_s": statistics.median(durations), "stream_max_s": max(durations),
            "wall_s": wall, "idle_rss_mb": idle_rss / 2**20, "peak_rss_mb": peak["rss"] / 2**20,
            "rss_per_stream_kb": (peak["rss"] - idle_rss) / streams / 1024}  # fmt: skip


def _always(reply: Reply) -> Callable[[Exchange], Reply]:
    return lambda _exchange: reply


def bench_retrieve(fake: FakeProvider, gateway: Sidecar, repetitions: int) -> dict[str, Any]:
    """A turn whose tool output the gateway elides (ccr marker): the model retrieves it once."""
    fake.ttft = 0.05  # a model's think time, so a round trip is visible
    results: dict[str, list[float]] = {"plain": [], "retrieve": [], "direct": []}
    upstream: dict[str, list[int]] = {"plain": [], "retrieve": []}
    with httpx.Client(timeout=60) as client:
        for rep in range(repetitions):
            for label in ("plain", "retrieve"):
                # distinct output per turn: neither side gets the other's replay
                output = corpus.CONTENT["json"](60, 300 + 2 * rep + (label == "retrieve"))
                messages = [{"role": "user", "content": "Which pods restart?"},
                            *corpus.tool_turn_anthropic(f"r{rep}", "Bash", output)]  # fmt: skip
                body = _body(messages, f"retrieve-{label}-{rep}")
                body["tools"] = [{"name": "Bash", "description": "Run a command.",
                                  "input_schema": {"type": "object"}}]  # fmt: skip
                fake.reset()
                fake.model = _always(Reply.say("Done.")) if label == "plain" else (
                    lambda ex: retrieve_model(ex) or Reply.say("Done."))  # fmt: skip
                started = time.perf_counter()
                with client.stream("POST", gateway.url + "/v1/messages", json=body,
                                   headers=HEADERS) as response:  # fmt: skip
                    raw = b"".join(response.iter_raw())
                results[label].append(time.perf_counter() - started)
                assert b"message_stop" in raw and b"headroom_retrieve" not in raw
                upstream[label].append(len(fake.generations()))
                if label == "retrieve":
                    sent = fake.generations()[0].body
                    assert b"Retrieve original: hash=" in sent, "no marker: nothing to retrieve"
            fake.reset()
            fake.model = _always(Reply.say("Done."))
            started = time.perf_counter()
            with client.stream("POST", fake.url + "/v1/messages", json=body,
                               headers=HEADERS) as response:  # fmt: skip
                b"".join(response.iter_raw())
            results["direct"].append(time.perf_counter() - started)
    fake.ttft, fake.model = 0.0, None
    plain, retrieve = _percentile(results["plain"], 50), _percentile(results["retrieve"], 50)
    direct = _percentile(results["direct"], 50)
    return {"upstream_requests_plain": statistics.mean(upstream["plain"]),
            "upstream_requests_retrieve": statistics.mean(upstream["retrieve"]),
            "turn_plain_p50_ms": 1000 * plain, "turn_retrieve_p50_ms": 1000 * retrieve,
            "direct_round_trip_p50_ms": 1000 * direct,
            "retrieve_added_p50_ms": 1000 * (retrieve - plain),
            "added_minus_one_round_trip_ms": 1000 * (retrieve - plain - direct)}  # fmt: skip


def run_proxy_bench(repetitions: int = 15, streams: int = 64) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data, FakeProvider() as fake:
        env = {"HEADROOM_DATA_DIR": data, "HEADROOM_ANTHROPIC_API_URL": fake.url,
               "HEADROOM_OPENAI_API_URL": fake.url}  # fmt: skip
        with Sidecar(env) as gateway:
            results = {"ttfb_150k_replayed": bench_ttfb(fake, gateway, repetitions)}
            print(f"  ttfb: {results['ttfb_150k_replayed']}", flush=True)
            results["forwarding"] = bench_forwarding(fake, gateway, 5)
            print(f"  forwarding: {results['forwarding']}", flush=True)
            results["concurrency"] = bench_concurrency(fake, gateway, streams)
            print(f"  concurrency: {results['concurrency']}", flush=True)
            results["retrieve_loop"] = bench_retrieve(fake, gateway, max(5, repetitions // 2))
            print(f"  retrieve loop: {results['retrieve_loop']}", flush=True)
    return results


def render_proxy(results: dict[str, Any]) -> str:
    """The BENCHMARKS.md section: each measure beside its direct-to-provider baseline."""
    t, f = results["ttfb_150k_replayed"], results["forwarding"]
    c, r = results["concurrency"], results["retrieve_loop"]
    rows = [
        (f"time to first byte, replayed {t['history_tokens']:,}-token turn "
         f"({t['request_kb']} KB), p50 / p95",
         f"{t['proxy_p50_ms']:.1f} / {t['proxy_p95_ms']:.1f} ms",
         f"{t['direct_p50_ms']:.1f} / {t['direct_p95_ms']:.1f} ms",
         f"+{t['added_p50_ms']:.1f} ms p50"),
        (f"SSE event, provider flush to client, p50 / p99 ({f['events']} events)",
         f"{f['proxy_p50_ms']:.2f} / {f['proxy_p99_ms']:.2f} ms",
         f"{f['direct_p50_ms']:.2f} / {f['direct_p99_ms']:.2f} ms",
         f"+{f['forwarding_p50_ms']:.2f} ms p50"),
        (f"{c['streams']} concurrent streams ({c['events_per_stream']} events, "
         f"{c['provider_stream_s']:.1f} s each): errors, stream p50 / max",
         f"{c['errors']} errors, {c['stream_p50_s']:.2f} / {c['stream_max_s']:.2f} s",
         f"{c['provider_stream_s']:.2f} s", f"{c['rss_per_stream_kb']:.0f} KB RSS per open "
         f"stream (idle {c['idle_rss_mb']:.0f} MB, peak {c['peak_rss_mb']:.0f} MB)"),
        ("retrieve loop: upstream requests per turn, turn p50",
         f"{r['upstream_requests_retrieve']:.0f}, {r['turn_retrieve_p50_ms']:.0f} ms",
         f"{r['upstream_requests_plain']:.0f}, {r['turn_plain_p50_ms']:.0f} ms (no retrieval)",
         f"+{r['retrieve_added_p50_ms']:.0f} ms: one round trip "
         f"({r['direct_round_trip_p50_ms']:.0f} ms direct) "
         f"{r['added_minus_one_round_trip_ms']:+.0f} ms"),
    ]  # fmt: skip
    lines = [
        "### Transparent proxy vs the provider directly (fake provider, same run)",
        "",
        "| measure | through the gateway | baseline | difference |",
        "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    from adapters.offline import apply_offline_environment

    apply_offline_environment()
    print(render_proxy(run_proxy_bench()))
