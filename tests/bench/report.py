"""Renders bench results as the markdown kept in BENCHMARKS.md."""

from __future__ import annotations

import statistics
from typing import Any


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"Command: `{results['command']}`. Machine: {m['cpus']} cores ({m['cpu']}), "
        f"{m['memory_gb']} GB, Python {m['python']}, {m['platform']}.",
        "",
        "### Savings by content kind (50k-token tool output, gateway vs raw compress())",
    ]
    content = results["content"]
    rows = []
    for kind in dict.fromkeys(r["kind"] for r in content):
        for fmt in ("openai", "anthropic"):
            r = next(x for x in content if x["kind"] == kind and x["format"] == fmt
                     and x["tokens"] == 50_000)  # fmt: skip
            rows.append([kind, fmt, f"{r['saved_gateway']:.1%}", f"{r['saved_raw']:.1%}"])
    out.append(_table(["kind", "format", "gateway saved", "raw compress() saved"], rows))

    out += ["", "### Latency over HTTP vs raw compress() in process (same payloads)"]
    rows = []
    for tokens in sorted({r["tokens"] for r in content}):
        group = [r for r in content if r["tokens"] == tokens]
        rows.append([
            f"{tokens:,}",
            f"{statistics.median(r['gateway_p50_ms'] for r in group):.1f}",
            f"{max(r['gateway_p95_ms'] for r in group):.1f}",
            f"{max(r['gateway_p99_ms'] for r in group):.1f}",
            f"{statistics.median(r['raw_p50_ms'] for r in group):.1f}",
            f"{statistics.median(r['ratio_p50'] for r in group):.2f}x",
        ])  # fmt: skip
    out.append(_table(["tool output tokens", "gateway p50 ms (median of kinds)",
                       "gateway p95 ms (worst kind)", "gateway p99 ms (worst kind)",
                       "raw p50 ms (median of kinds)", "gateway / raw at p50"], rows))  # fmt: skip

    out += ["", "### 40-turn agent session, whole history resent each turn",
            "Bill = provider cost with prompt caching (identical prefix 0.1x, the rest 1.25x),",
            "relative to sending the same history uncompressed.", ""]  # fmt: skip
    out.append(_table(
        ["format", "run", "saved (last turn)", "prefix kept byte-identical", "bill",
         "turn p50 ms", "turn p99 ms"],
        [[r["format"], r["run"], f"{r['saved_last_turn']:.1%}", f"{r['prefix_stability']:.1%}",
          f"{r['bill']:.2f}", f"{r['turn_p50_ms']:.1f}", f"{r['turn_p99_ms']:.1f}"]
         for r in results["sessions"]],
    ))  # fmt: skip

    f = results["follow_up"]
    s = results["startup"]
    out += ["", "### Follow-up turn and process footprint",
            _table(["measure", "value"], [
                ["history tokens", f"{f['history_tokens']:,}"],
                ["cold compress p50", f"{f['cold_p50_ms']:.0f} ms"],
                ["follow-up (one new tool result) p50", f"{f['follow_up_p50_ms']:.1f} ms"],
                ["follow-up p95", f"{f['follow_up_p95_ms']:.1f} ms"],
                ["replay speed-up", f"{f['speedup']:.0f}x"],
                ["sidecar ready after start", f"{s['ready_seconds']:.2f} s"],
                ["sidecar idle RSS", f"{s['idle_rss_mb']:.0f} MB"],
                ["sidecar peak RSS (whole bench)", f"{s['peak_rss_mb']:.0f} MB"],
                ["sidecar CPU per session turn", f"{s['session_cpu_ms_per_turn']:.1f} ms"],
            ])]  # fmt: skip
    for name in ("replicas", "lambda", "kompress", "dashboard", "policy"):
        if name in results:
            out += ["", f"### {name}", _table(["measure", "value"],
                    [[k, _fmt(v)] for k, v in _flat(results[name]).items()])]  # fmt: skip
    return "\n".join(out) + "\n"


def _flat(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested results as dotted keys, one table row each."""
    rows: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            rows |= _flat(value, f"{prefix}{key}.")
        else:
            rows[f"{prefix}{key}"] = value
    return rows


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
