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
    if "proxy" in results and "skipped" not in results["proxy"]:
        from tests.bench.proxy_bench import render_proxy

        out += ["", render_proxy(results["proxy"])]
    for name in ("replicas", "lambda", "kompress", "dashboard", "policy"):
        if name in results:
            out += ["", f"### {name}", _table(["measure", "value"],
                    [[k, _fmt(v)] for k, v in _flat(results[name]).items()])]  # fmt: skip
    if "overload" in results:
        from tests.bench.overload import render as render_overload

        out += render_overload(results["overload"])
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


def render_fidelity(results: dict[str, Any]) -> str:
    """The fidelity, flagged-session and cache-cold tables (tests/bench/fidelity.py)."""
    from tests.bench.fidelity import totals

    m = results["machine"]
    out = [
        f"Command: `{results['command']}`. Machine: {m['cpus']} cores ({m['cpu']}), "
        f"{m['memory_gb']} GB, Python {m['python']}, {m['platform']}.",
        "",
        "### Fidelity: facts an agent needs, per tool output, format and mode",
        "kept = shown verbatim (lines under their own header); retrievable = only in the stored",
        "original a ccr marker points at; lost = neither. `is_error` = sent flagged, as Claude",
        "Code flags a non-zero exit. `upstream compress()` = headroom-ai 0.42.0's own",
        "`compress(messages, model, protect_recent=0)` on the same request: its markers point",
        "into its own store, so a fact it does not show counts as lost there.",
        "",
    ]
    rows = results["fidelity"]
    out.append(_table(
        ["tool output", "format", "mode", "is_error", "saved", "facts", "kept", "retrievable",
         "lost"],
        [[r["item"], r["format"], r["mode"], "yes" if r["is_error"] else "", f"{r['saved']:.1%}",
          str(r["facts"]), str(r["kept"]), "n/a" if r["retrievable"] is None
          else str(r["retrievable"]), str(r["lost"])]
         for r in rows],
    ))  # fmt: skip
    out += ["", "Totals:", ""]
    out.append(_table(
        ["format", "mode", "facts", "kept", "retrievable", "lost"],
        [[fmt, mode, str(t["facts"]), str(t["kept"]), str(t["retrievable"]), str(t["lost"])]
         for (fmt, mode), t in totals(rows).items()],
    ))  # fmt: skip
    out += ["", "### 40-turn sessions with failing logs flagged `is_error` (Anthropic format)",
            "Bill = provider cost with prompt caching (identical prefix 0.1x, the rest 1.25x),",
            "relative to sending the same history uncompressed.", ""]  # fmt: skip
    out.append(_table(
        ["session", "format", "mode", "results flagged is_error", "saved (last turn)",
         "prefix kept byte-identical", "bill", "turn p50 ms"],
        [[r["session"], r["format"], r["mode"], str(r["flagged_is_error"]), f"{r['saved']:.1%}",
          f"{r['prefix_stability']:.1%}", f"{r['bill']:.3f}", f"{r['turn_p50_ms']:.1f}"]
         for r in results["sessions"]],
    ))  # fmt: skip
    out += [
        "",
        "### Cache-cold compaction: 40-turn session with idle gaps",
        "Reads of files edited or read again later, and reruns of the same command; a",
        "10-30 min break every 10 turns. Bill as above, except that the cached prefix",
        "expires after 5 idle minutes (a cold turn pays 1.25x for everything). Prefix",
        "stability is measured over warm turns (a cold turn may rewrite on purpose).",
        "",
    ]
    out.append(_table(
        ["format", "mode", "cold compaction", "cold turns", "saved (last turn)",
         "warm-turn prefix kept", "bill"],
        [[r["format"], r["mode"], "on" if r["cold_compaction"] else "off", str(r["cold_turns"]),
          f"{r['saved']:.1%}", f"{r['warm_prefix_stability']:.1%}", f"{r['bill']:.3f}"]
         for r in results["cold"]],
    ))  # fmt: skip
    return "\n".join(out) + "\n"
