"""Fidelity, error-flagged sessions and cache-cold compaction, measured on the core in process.

These figures are about what the output holds, not how fast it comes, so they run the real
core (real headroom engines, in-memory stores) in this process, with a clock the benchmark
moves to model idle gaps. Run alone with `python -m tests.bench.fidelity`.

- fidelity: every corpus item (tests/fidelity.py, real tool runs included) in one request,
  per format and mode: tokens saved beside facts kept / retrievable through a marker / lost;
- sessions: the 40-turn coding and devops sessions with failing logs flagged `is_error` (in
  Anthropic format, as Claude Code sends them), billed with the provider cache;
- cold: a 40-turn session with idle gaps, billed with a cache that expires after 5 minutes,
  with and without cache-cold compaction.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from adapters.offline import apply_offline_environment
from adapters.stores.memory_sessions import MemorySessionStore
from core.engines import HeadroomEngines
from core.policy import CompressOptions
from core.service import CompressionService, CompressRequest, Limits
from tests import corpus, fidelity
from tests.bench.run import CACHED, UNCACHED, Bill, machine, model_for, raw_compress, wire
from tests.unit.fakes import DictOriginalStore, RecordingTelemetry

FORMATS = ("openai", "anthropic")
MODES = ("default", "ccr")
CACHE_TTL = 300
UPSTREAM = "upstream compress()"


class Core:
    """One service over fresh in-memory stores, with a clock the benchmark sets."""

    def __init__(self, engines: HeadroomEngines, cold_compaction: bool = True) -> None:
        self.now = 1_000_000.0
        self.originals = DictOriginalStore()
        self.service = CompressionService(
            engines, MemorySessionStore(clock=self.clock), self.originals, RecordingTelemetry(),
            ThreadPoolExecutor(2), limits=Limits(cold_compaction=cold_compaction),
            clock=self.clock,
        )  # fmt: skip

    def clock(self) -> float:
        return self.now

    def compress(self, messages: list[dict[str, Any]], fmt: str, mode: str) -> Any:
        request = CompressRequest(messages, model_for(fmt), CompressOptions(ccr=mode == "ccr"),
                                  session_id="bench")  # fmt: skip
        return asyncio.run(self.service.compress(request))

    def retrieve(self, key: str) -> str | None:
        return self.originals.items.get(("default", key))


def request_for(item: fidelity.Item, fmt: str) -> list[dict[str, Any]]:
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    messages = [{"role": "user", "content": "Investigate."}, *step("c1", item.tool, item.output)]
    if fmt == "anthropic" and item.is_error:
        messages[-1]["content"][0]["is_error"] = True
    return messages


def result_text(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else str(content[0]["content"])


def bench_fidelity(engines: HeadroomEngines, items: list[fidelity.Item]) -> list[dict[str, Any]]:
    """Per item, format and mode; plus upstream's `compress()` on the same request, whose
    markers point into its own store: there, a fact not shown counts as lost."""
    rows = []
    for item in items:
        for fmt in FORMATS:
            _, raw = raw_compress(request_for(item, fmt), model_for(fmt))
            tally = fidelity.check(item, result_text(raw.messages[-1]))
            rows.append({
                "item": item.name, "real": item.real, "format": fmt, "mode": UPSTREAM,
                "is_error": item.is_error and fmt == "anthropic", "facts": len(item.facts),
                "saved": raw.tokens_saved / raw.tokens_before, **tally, "retrievable": None,
            })  # fmt: skip
            for mode in MODES:
                core = Core(engines)
                response = core.compress(request_for(item, fmt), fmt, mode)
                text = result_text(response.messages()[-1])
                tally = fidelity.check(item, text, core.retrieve)
                rows.append({
                    "item": item.name, "real": item.real, "format": fmt, "mode": mode,
                    "is_error": item.is_error and fmt == "anthropic",
                    "facts": len(item.facts), "saved": 1 - response.tokens_after
                    / response.tokens_before, **tally,
                })  # fmt: skip
                print(f"  {item.name[:30]:30s} {fmt:9s} {mode:7s} saved {rows[-1]['saved']:6.1%}"
                      f" facts {len(item.facts):4d} kept {tally['kept']:4d} retrievable "
                      f"{tally['retrievable']:3d} lost {tally['lost']}", flush=True)  # fmt: skip
    return rows


def stability(turns: list[list[str]], warm: list[bool]) -> float:
    """Share of previously sent messages that came back byte-identical, over warm turns."""
    kept = []
    for previous, sent, is_warm in zip(turns, turns[1:], warm[1:], strict=False):
        if is_warm and previous:
            same = 0
            while same < min(len(previous), len(sent)) and previous[same] == sent[same]:
                same += 1
            kept.append(same / len(previous))
    return statistics.mean(kept) if kept else 1.0


def expiring_bill(bill: Bill, turns: list[list[str]], gaps: list[float]) -> tuple[float, int]:
    """(price, last-turn tokens) when the cached prefix expires after CACHE_TTL idle seconds."""
    total, previous, last = 0.0, [], 0
    for gap, sent in zip(gaps, turns, strict=True):
        same = 0
        if gap <= CACHE_TTL:
            while same < min(len(previous), len(sent)) and previous[same] == sent[same]:
                same += 1
        cached = sum(bill.tokens(m) for m in sent[:same])
        last = cached + sum(bill.tokens(m) for m in sent[same:])
        total += CACHED * cached + UNCACHED * (last - cached)
        previous = sent
    return total, last


def bench_sessions(engines: HeadroomEngines, turns: int) -> list[dict[str, Any]]:
    bill = Bill()
    rows = []
    builders: dict[str, Callable[..., list[list[dict[str, Any]]]]] = {
        "coding": corpus.agent_session, "devops": corpus.devops_session}  # fmt: skip
    for name, build in builders.items():
        for fmt in FORMATS:
            history = build(turns, fmt=fmt, seed=77, flag_errors=True)
            flagged = sum(1 for part in history[-1] if _flagged(part))
            baseline, _, raw_tokens = bill.cost([wire(h) for h in history])
            for mode in MODES:
                core = Core(engines)
                sent, times = [], []
                for messages in history:
                    started = time.perf_counter()
                    sent.append(core.compress(messages, fmt, mode).messages_json)
                    times.append(time.perf_counter() - started)
                price, stable, last = bill.cost(sent)
                rows.append({"session": name, "format": fmt, "mode": mode,
                             "flagged_is_error": flagged, "saved": 1 - last / raw_tokens,
                             "prefix_stability": stable, "bill": price / baseline,
                             "turn_p50_ms": 1000 * statistics.median(times)})  # fmt: skip
                print(f"  {name} {fmt:9s} {mode:7s} saved {rows[-1]['saved']:5.1%} stable "
                      f"{stable:6.1%} bill {rows[-1]['bill']:.3f}", flush=True)  # fmt: skip
    return rows


def bench_cold(engines: HeadroomEngines, turns: int) -> list[dict[str, Any]]:
    bill = Bill()
    rows = []
    for fmt in FORMATS:
        timeline = corpus.idle_session(turns, fmt)
        gaps = [gap for gap, _ in timeline]
        warm = [gap <= CACHE_TTL for gap in gaps]
        baseline, raw_tokens = expiring_bill(bill, [wire(h) for _, h in timeline], gaps)
        for mode in MODES:
            for compaction in (False, True):
                core = Core(engines, cold_compaction=compaction)
                sent = []
                for gap, messages in timeline:
                    core.now += gap
                    sent.append(core.compress(messages, fmt, mode).messages_json)
                price, last = expiring_bill(bill, sent, gaps)
                rows.append({"format": fmt, "mode": mode, "cold_compaction": compaction,
                             "cold_turns": warm.count(False), "saved": 1 - last / raw_tokens,
                             "warm_prefix_stability": stability(sent, warm),
                             "bill": price / baseline})  # fmt: skip
                print(f"  {fmt:9s} {mode:7s} compaction {compaction!s:5s} saved "
                      f"{rows[-1]['saved']:5.1%} warm-stable "
                      f"{rows[-1]['warm_prefix_stability']:6.1%} bill {rows[-1]['bill']:.3f}",
                      flush=True)  # fmt: skip
    return rows


def _flagged(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(p.get("is_error") for p in content)


def run(turns: int = 40) -> dict[str, Any]:
    apply_offline_environment()
    engines = HeadroomEngines()
    engines.warm()
    print("fidelity corpus (facts kept / retrievable / lost):")
    started = time.perf_counter()
    items = fidelity.all_items()
    print(f"  real tools captured in {time.perf_counter() - started:.1f} s")
    results: dict[str, Any] = {"fidelity": bench_fidelity(engines, items)}
    print("sessions with failing logs flagged is_error:")
    results["sessions"] = bench_sessions(engines, turns)
    print("idle session, cache expiring after 5 minutes:")
    results["cold"] = bench_cold(engines, turns)
    return results


def totals(rows: list[dict[str, Any]]) -> dict[tuple[str, str], Counter[str]]:
    """Facts kept / retrievable / lost summed per (format, mode)."""
    out: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        tally = out.setdefault((row["format"], row["mode"]), Counter())
        tally.update({k: row[k] or 0 for k in ("facts", "kept", "retrievable", "lost")})
    return out


if __name__ == "__main__":
    from tests.bench.report import render_fidelity

    results = {"machine": machine(), "command": "python -m tests.bench.fidelity", **run()}
    print(render_fidelity(results))
