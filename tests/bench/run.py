"""`make bench`: savings, latency, overhead, session replay and memory, measured in one run.

Every figure is paired with a comparison taken in the same run on the same payloads: the
gateway over real HTTP against raw `headroom.compress()` in process. Payloads are distinct
per repetition (different seeds) so neither side is flattered by a cache. Results go to
bench-results/results.json and bench-results/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from adapters.offline import apply_offline_environment
from tests import corpus
from tests.bench.report import render, render_fidelity
from tests.processes import REPO, Sidecar

SIZES = (10_000, 50_000, 150_000)
CACHED, UNCACHED = 0.1, 1.25  # provider price multipliers for cached / uncached input


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def request_for(kind: str, tokens: int, fmt: str, seed: int) -> list[dict[str, Any]]:
    output = corpus.CONTENT[kind](max(1, tokens // corpus.TOKENS_PER_UNIT[kind]), seed)
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    return [{"role": "user", "content": "Investigate."}, *step(f"c{seed}", "Bash", output)]


def model_for(fmt: str) -> str:
    return "gpt-4o" if fmt == "openai" else "claude-sonnet-4-5"


class Gateway:
    """A client of the running sidecar; every call gets a fresh session unless told."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.client = httpx.Client(base_url=sidecar.url, timeout=60)

    def compress(
        self, messages: list[dict[str, Any]], model: str, session: str | None = None
    ) -> tuple[float, dict[str, Any], bytes]:
        headers = {"x-headroom-session-id": session or uuid.uuid4().hex}
        if session == "":
            headers = {}
        started = time.perf_counter()
        response = self.client.post(
            "/v1/compress", json={"messages": messages, "model": model}, headers=headers
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed, response.json(), response.content


def raw_compress(messages: list[dict[str, Any]], model: str) -> tuple[float, Any]:
    from headroom import compress

    started = time.perf_counter()
    result = compress(messages, model=model, protect_recent=0)
    return time.perf_counter() - started, result


def bench_content(gateway: Gateway, repetitions: int) -> list[dict[str, Any]]:
    """Per content kind, size and format: savings and latency, gateway vs raw compress()."""
    rows = []
    for kind in corpus.CONTENT:
        for tokens in SIZES:
            for fmt in ("openai", "anthropic"):
                gateway_times, raw_times, ratios = [], [], []
                saved_gateway = saved_raw = 0.0
                for rep in range(repetitions):
                    seed = 1000 * rep + tokens + (500 if fmt == "anthropic" else 0)
                    messages = request_for(kind, tokens, fmt, seed=seed)
                    raw_time, raw = raw_compress(messages, model_for(fmt))
                    gw_time, body, _ = gateway.compress(messages, model_for(fmt))
                    gateway_times.append(gw_time)
                    raw_times.append(raw_time)
                    ratios.append(gw_time / raw_time)
                    saved_gateway = 1 - body["tokens_after"] / body["tokens_before"]
                    saved_raw = raw.tokens_saved / raw.tokens_before if raw.tokens_before else 0
                rows.append({
                    "kind": kind, "tokens": tokens, "format": fmt,
                    "saved_gateway": saved_gateway, "saved_raw": saved_raw,
                    "gateway_p50_ms": 1000 * percentile(gateway_times, 50),
                    "gateway_p95_ms": 1000 * percentile(gateway_times, 95),
                    "gateway_p99_ms": 1000 * percentile(gateway_times, 99),
                    "raw_p50_ms": 1000 * percentile(raw_times, 50),
                    "ratio_p50": percentile(ratios, 50),
                })  # fmt: skip
                print(f"  {kind:9s} {tokens:7d} {fmt:9s} saved {saved_gateway:5.1%} "
                      f"(raw {saved_raw:5.1%}) gw p50 {rows[-1]['gateway_p50_ms']:7.1f} ms "
                      f"raw p50 {rows[-1]['raw_p50_ms']:7.1f} ms", flush=True)  # fmt: skip
    return rows


class Bill:
    """The provider bill with prompt caching: a byte-identical prefix is billed at 0.1x."""

    def __init__(self) -> None:
        from headroom.tokenizers import get_tokenizer

        self._tokenizer = get_tokenizer("gpt-4o")
        self._counts: dict[str, int] = {}

    def tokens(self, message_json: str) -> int:
        if message_json not in self._counts:
            self._counts[message_json] = self._tokenizer.count_text(message_json)
        return self._counts[message_json]

    def cost(self, turns: list[list[str]]) -> tuple[float, float, int]:
        """(price units, share of previously sent messages kept identical, last-turn tokens)."""
        total, kept, previous_count = 0.0, [], 0
        previous: list[str] = []
        for sent in turns:
            same = 0
            while same < min(len(previous), len(sent)) and previous[same] == sent[same]:
                same += 1
            if previous:
                kept.append(same / len(previous))
            cached = sum(self.tokens(m) for m in sent[:same])
            fresh = sum(self.tokens(m) for m in sent[same:])
            total += CACHED * cached + UNCACHED * fresh
            previous, previous_count = sent, cached + fresh
        return total, statistics.mean(kept) if kept else 1.0, previous_count


def wire(messages: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in messages]


def bench_sessions(gateway: Gateway, turns: int) -> list[dict[str, Any]]:
    """A 40-turn agent session resent in full every turn, priced with the provider cache."""
    bill = Bill()
    rows = []
    for fmt in ("openai", "anthropic"):
        history = corpus.agent_session(turns, fmt=fmt, seed=77)
        runs: dict[str, list[list[str]]] = {"uncompressed": [wire(h) for h in history]}
        latencies: dict[str, list[float]] = {}
        for label, session in (("gateway, no session id", ""),
                               ("gateway, session id", f"bench-{fmt}")):  # fmt: skip
            sent, times = [], []
            for messages in history:
                elapsed, body, _ = gateway.compress(messages, model_for(fmt), session=session)
                sent.append(wire(body["messages"]))
                times.append(elapsed)
            runs[label], latencies[label] = sent, times
        sent, times = [], []
        for messages in history:
            elapsed, result = raw_compress(messages, model_for(fmt))
            sent.append(wire(result.messages))
            times.append(elapsed)
        runs["raw headroom.compress()"], latencies["raw headroom.compress()"] = sent, times
        baseline, _, raw_tokens = bill.cost(runs["uncompressed"])
        for label, sent in runs.items():
            price, stable, last_tokens = bill.cost(sent)
            times = latencies.get(label, [0.0])
            rows.append({
                "format": fmt, "run": label, "saved_last_turn": 1 - last_tokens / raw_tokens,
                "prefix_stability": stable, "bill": price / baseline,
                "turn_p50_ms": 1000 * percentile(times, 50),
                "turn_p99_ms": 1000 * percentile(times, 99),
            })  # fmt: skip
            print(f"  {fmt:9s} {label:26s} saved {rows[-1]['saved_last_turn']:5.1%} "
                  f"stable {stable:6.1%} bill {rows[-1]['bill']:.2f}", flush=True)  # fmt: skip
    return rows


def bench_follow_up(gateway: Gateway, repetitions: int) -> dict[str, Any]:
    """A ~150k-token session: cold first compress vs follow-ups adding one tool result.

    Each repetition is a different session with content never seen before, so the cold
    figure is really cold (no replay, no engine cache)."""
    model = "gpt-4o"
    cold_times, follow_times = [], []
    tokens = 0
    for rep in range(repetitions):
        session = f"follow-{rep}"
        base = corpus.agent_session(44, fmt="openai", seed=500 + rep)[-1]
        elapsed, body, _ = gateway.compress(base, model, session=session)
        cold_times.append(elapsed)
        tokens = body["tokens_before"]
        new_step = corpus.tool_turn_openai(f"f{rep}", "Bash", corpus.pytest_verbose(300, 900 + rep))
        elapsed, _, _ = gateway.compress(base + new_step, model, session=session)
        follow_times.append(elapsed)
    cold, follow = percentile(cold_times, 50), percentile(follow_times, 50)
    return {"history_tokens": tokens, "cold_p50_ms": 1000 * cold,
            "follow_up_p50_ms": 1000 * follow, "follow_up_p95_ms": 1000 * percentile(
                follow_times, 95), "speedup": cold / follow}  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def machine() -> dict[str, Any]:
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())  # fmt: skip
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(int(memory) / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform()}  # fmt: skip


def optional(name: str, run: Any) -> dict[str, Any]:
    """Benchmarks of other targets, when their prerequisites are on this machine."""
    try:
        return run()
    except Exception as error:  # a missing server binary must not lose the other results
        print(f"  {name}: not run ({type(error).__name__}: {error})")
        return {"skipped": f"{type(error).__name__}: {error}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument("--skip-targets", action="store_true", help="sidecar only")
    parser.add_argument("--skip-overload", action="store_true", help="no overload section")
    args = parser.parse_args()
    apply_offline_environment()
    raw_compress(request_for("json", 10_000, "openai", 1), "gpt-4o")  # import + warm raw side

    results: dict[str, Any] = {"machine": machine(), "command": "make bench"}
    with tempfile.TemporaryDirectory() as data, Sidecar({"HEADROOM_DATA_DIR": data}) as sidecar:
        time.sleep(1)
        results["startup"] = {"ready_seconds": sidecar.ready_after,
                              "idle_rss_mb": sidecar.rss_bytes() / 2**20}  # fmt: skip
        print(f"sidecar ready in {sidecar.ready_after:.2f} s, idle RSS "
              f"{results['startup']['idle_rss_mb']:.0f} MB")  # fmt: skip
        gateway = Gateway(sidecar)
        print("content kinds (gateway over HTTP vs raw headroom.compress()):")
        results["content"] = bench_content(gateway, args.repetitions)
        print("40-turn sessions:")
        assert sidecar.process is not None
        cpu_before, wall_before = cpu_seconds(sidecar.process.pid), time.perf_counter()
        results["sessions"] = bench_sessions(gateway, args.turns)
        gateway_turns = 4 * args.turns  # two formats x (with, without session id)
        results["startup"]["session_cpu_ms_per_turn"] = (
            1000 * (cpu_seconds(sidecar.process.pid) - cpu_before) / gateway_turns
        )
        results["startup"]["session_wall_seconds"] = time.perf_counter() - wall_before
        print("follow-up turn on a long session:")
        results["follow_up"] = bench_follow_up(gateway, args.repetitions)
        print(f"  {results['follow_up']}")
        assert sidecar.process is not None
        results["startup"]["peak_rss_mb"] = peak_rss_bytes(sidecar.process.pid) / 2**20

    from tests.bench import fidelity

    # core in process: facts (real pytest, make + gcc, git log -p), flagged sessions, cold
    results["fidelity"] = optional("fidelity", lambda: fidelity.run(args.turns))

    if not args.skip_targets:
        from tests.bench import targets

        results["replicas"] = optional("replicas", targets.replicas)
        results["lambda"] = optional("lambda", targets.lambda_function)
        results["kompress"] = optional("kompress", targets.kompress)
        results["ledger"] = optional("ledger", targets.ledger)
        results["dashboard"] = optional("dashboard", targets.dashboard)
        results["policy"] = optional("policy", targets.policy)

    if not args.skip_overload:
        from tests.bench import overload

        results["overload"] = optional("overload", overload.run)
        results["proxy"] = optional("proxy", targets.proxy)

    args.out.mkdir(exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    report = render(results)
    if "skipped" not in results["fidelity"]:
        report += "\n" + render_fidelity(results | results["fidelity"])
    (args.out / "BENCHMARKS.md").write_text(report)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
