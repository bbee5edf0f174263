"""The reads behind /stats and friends, over the hourly rollups (fast at any ledger size)
and, for the few views that list single requests, over the newest raw rows by index.

Views are computed in Python from one grouped rollup query, so /stats costs four small
queries whatever its number of breakdowns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.ledger.database import Database
from adapters.ledger.schema import ROLLUP_SUMS

RECENT_LIMIT = 100
HOURLY_LIMIT = 24
DIMS = ("user_id", "team", "project", "model", "client", "route", "outcome", "cluster")


@dataclass(frozen=True)
class StatsFilter:
    """Time window (epoch seconds, `until` exclusive) and who; None means any."""

    since: float | None = None
    until: float | None = None
    user: str | None = None
    team: str | None = None
    project: str | None = None

    def where(self, *, hourly: bool) -> tuple[str, dict[str, Any]]:
        clauses: list[str] = ["1 = 1"]
        params: dict[str, Any] = {}
        if self.since is not None:
            clauses.append("hour >= :since" if hourly else "ts >= :since")
            params["since"] = int(self.since // 3600 * 3600) if hourly else self.since
        if self.until is not None:
            clauses.append("hour < :until" if hourly else "ts < :until")
            params["until"] = self.until
        for column, value in (("user_id", self.user), ("team", self.team),
                              ("project", self.project)):  # fmt: skip
            if value is not None:
                clauses.append(f"{column} = :{column}")
                params[column] = value
        return " AND ".join(clauses), params

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _sums(group: Iterable[str]) -> str:
    cols = ", ".join(f"SUM({c}) AS {c}" for c in ROLLUP_SUMS)
    return f"{', '.join(group)}{', ' if group else ''}{cols}, MAX(best_pct) AS best_pct"


def _grouped(db: Database, where: str, params: dict[str, Any], group: tuple[str, ...],
             order: str = "") -> list[dict[str, Any]]:  # fmt: skip
    by = f" GROUP BY {', '.join(group)}" if group else ""
    rows = db.query(f"SELECT {_sums(group)} FROM hgw_usage_hourly WHERE {where}{by}{order}",
                    params)  # fmt: skip
    return [_numbers(r) for r in rows if r.get("requests")]


def _numbers(row: dict[str, Any]) -> dict[str, Any]:
    """Decimals (PostgreSQL SUM of BIGINT) as int/float, None as 0."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in DIMS or key == "hour":
            out[key] = value
        elif key.endswith(("usd", "_sum", "pct")):
            out[key] = float(value or 0)
        else:
            out[key] = int(value or 0)
    return out


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    for key in ROLLUP_SUMS:
        into[key] = into.get(key, 0) + row[key]
    into["best_pct"] = max(into.get("best_pct", 0.0), row["best_pct"])


def _summary(total: dict[str, Any], best_detail: str) -> dict[str, Any]:
    requests, compressed = total.get("requests", 0), total.get("compressed", 0)
    without, with_ = total.get("cost_without_usd", 0.0), total.get("cost_with_usd", 0.0)
    before, after = total.get("tokens_before", 0), total.get("tokens_after", 0)
    return {
        "api_requests": requests,
        "compression": {
            "requests_compressed": compressed,
            "avg_compression_pct": round(total.get("savings_pct_sum", 0.0) / compressed, 1)
            if compressed else 0.0,
            "total_tokens_removed": max(0, before - after),
            "best_compression_pct": round(total.get("best_pct", 0.0), 1),
            "best_detail": best_detail,
            "tokens_before": before,
            "tokens_after": after,
            "messages_replayed": total.get("messages_replayed", 0),
            "messages_new": total.get("messages_new", 0),
        },
        "uncompressed_requests": {"no_savings": requests - compressed},
        "cost": {
            "without_headroom_usd": round(without, 6),
            "with_headroom_usd": round(with_, 6),
            "total_saved_usd": round(without - with_, 6),
            "priced_requests": total.get("priced_requests", 0),
        },
        "provider_usage": {
            "input_tokens": total.get("provider_input_tokens", 0),
            "cache_read_tokens": total.get("provider_cache_read_tokens", 0),
            "cache_write_tokens": total.get("provider_cache_write_tokens", 0),
            "output_tokens": total.get("provider_output_tokens", 0),
        },
        "latency": {"avg_ms": round(total.get("latency_ms_sum", 0.0) / requests, 3)
                    if requests else 0.0},
    }  # fmt: skip


def _breakdown(rows: list[dict[str, Any]], column: str, label: str) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        _add(groups.setdefault(row[column], {}), row)
    out = []
    for name, total in groups.items():
        compressed = total["compressed"]
        out.append({
            label: name,
            "requests": total["requests"],
            "requests_compressed": compressed,
            "tokens_saved": max(0, total["tokens_before"] - total["tokens_after"]),
            "total_input": total["tokens_before"],
            "avg_compression_pct": round(total["savings_pct_sum"] / compressed, 1)
            if compressed else 0.0,
            "cost_without_usd": round(total["cost_without_usd"], 6),
            "cost_with_usd": round(total["cost_with_usd"], 6),
            "cost_saved_usd": round(total["cost_without_usd"] - total["cost_with_usd"], 6),
        })  # fmt: skip
    return sorted(out, key=lambda r: (-r["tokens_saved"], str(r[label])))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _hourly(db: Database, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = _grouped(db, where, params, ("hour",), f" ORDER BY hour DESC LIMIT {HOURLY_LIMIT}")
    return [{
        "hour": _iso(r["hour"])[:19],
        "requests": r["requests"],
        "compressed": r["compressed"],
        "tokens_saved": max(0, r["tokens_before"] - r["tokens_after"]),
        "avg_pct": round(r["savings_pct_sum"] / r["compressed"], 1) if r["compressed"] else 0.0,
        "cost_saved_usd": round(r["cost_without_usd"] - r["cost_with_usd"], 6),
    } for r in rows]  # fmt: skip


def _recent_item(r: dict[str, Any]) -> dict[str, Any]:
    before, after = int(r["tokens_before"]), int(r["tokens_after"])
    without, with_ = r["cost_without_usd"], r["cost_with_usd"]
    tags = {"user-id": r["user_id"], "team": r["team"], "project": r["project"],
            "cluster": r["cluster"], "instance": r["instance"], "client": r["client"],
            "route": r["route"]}  # fmt: skip
    tags.update(json.loads(r["extra_tags"] or "{}"))
    return {
        "request_id": r["id"],
        "timestamp": _iso(r["ts"]),
        "provider": {"anthropic": "anthropic", "openai": "openai"}.get(r["fmt"], "unknown"),
        "model": r["model"],
        "format": r["fmt"],
        "route": r["route"],
        "client": r["client"],
        "outcome": r["outcome"],
        "input_tokens_original": before,
        "input_tokens_optimized": after,
        "tokens_saved": max(0, before - after),
        "savings_percent": round(100 * (before - after) / before, 1) if before > after else 0.0,
        "messages_replayed": r["messages_replayed"],
        "messages_new": r["messages_new"],
        "engines": json.loads(r["engines"] or "{}"),
        "provider_input_tokens": r["provider_input_tokens"],
        "provider_cache_read_tokens": r["provider_cache_read_tokens"],
        "provider_cache_write_tokens": r["provider_cache_write_tokens"],
        "provider_output_tokens": r["provider_output_tokens"],
        "cost_without_usd": without,
        "cost_with_usd": with_,
        "cost_saved_usd": round(without - with_, 6) if without is not None and with_ is not None
        else 0.0,
        "tags": {k: v for k, v in tags.items() if v},
        "total_latency_ms": float(r["latency_ms"]),
    }  # fmt: skip


def recent(db: Database, flt: StatsFilter, limit: int = RECENT_LIMIT,
           compressed_only: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Newest requests first from the index on ts."""
    where, params = flt.where(hourly=False)
    if compressed_only:
        where += " AND tokens_after < tokens_before"
    rows = db.query(f"SELECT * FROM hgw_usage WHERE {where} ORDER BY ts DESC LIMIT {int(limit)}",
                    params)  # fmt: skip
    return [_recent_item(r) for r in rows]


def lifetime(db: Database) -> dict[str, Any]:
    rows = _grouped(db, "1 = 1", {}, ())
    total = rows[0] if rows else {}
    saved = total.get("cost_without_usd", 0.0) - total.get("cost_with_usd", 0.0)
    return {
        "requests": total.get("requests", 0),
        "tokens_saved": max(0, total.get("tokens_before", 0) - total.get("tokens_after", 0)),
        "compression_savings_usd": round(saved, 6),
    }


def stats(db: Database, flt: StatsFilter) -> dict[str, Any]:
    """The seed gateway's /stats, aggregated over every replica, plus breakdowns."""
    where, params = flt.where(hourly=True)
    rows = _grouped(db, where, params,
                    ("user_id", "team", "project", "model", "client", "outcome"))  # fmt: skip
    total: dict[str, Any] = {}
    best: tuple[float, str] = (0.0, "")
    for row in rows:
        _add(total, row)
        if row["best_pct"] > best[0]:
            best = (row["best_pct"], f"{row['best_pct']:.1f}% ({row['model']}, {row['user_id']})")
    recent_rows = recent(db, flt)
    return {
        "summary": _summary(total, best[1]),
        "recent_requests": list(reversed(recent_rows)),  # oldest first, as the seed
        "by_user": _breakdown(rows, "user_id", "user"),
        "by_team": _breakdown(rows, "team", "team"),
        "by_project": _breakdown(rows, "project", "project"),
        "by_model": _breakdown(rows, "model", "model"),
        "by_client": _breakdown(rows, "client", "client"),
        "by_outcome": _breakdown(rows, "outcome", "outcome"),  # the dashboard's fail-open/shed
        "hourly": _hourly(db, where, params),
        "lifetime": lifetime(db),
        "filters": flt.describe(),
        "generated_at": _iso(time.time()),
    }


def insights(db: Database, flt: StatsFilter, sample: int = 1000) -> dict[str, Any]:
    """The seed's /stats/insights; engine counts from the newest `sample` rows."""
    where, params = flt.where(hourly=True)
    rows = _grouped(db, where, params, ("user_id", "model"))
    total = sum(r["requests"] for r in rows)
    raw_where, raw_params = flt.where(hourly=False)
    detail: dict[str, int] = {}
    engine_rows = db.query(f"SELECT engines FROM hgw_usage WHERE {raw_where} "
                           f"ORDER BY ts DESC LIMIT {int(sample)}", raw_params)  # fmt: skip
    for r in engine_rows:
        for label, count in json.loads(r["engines"] or "{}").items():
            detail[label] = detail.get(label, 0) + int(count)
    engines: dict[str, int] = {}  # per engine family (json, log, search, diff, text, html)
    for label, count in detail.items():
        family = label.split(":", 1)[0]
        engines[family] = engines.get(family, 0) + count
    return {
        "total_requests": total,
        "engines": engines,
        "transforms_detail": detail,
        "engines_sample_requests": len(engine_rows),
        "by_model": _breakdown(rows, "model", "model"),
        "by_user": _breakdown(rows, "user_id", "user"),
        "hourly": _hourly(db, where, params),
        "filters": flt.describe(),
    }


def history(db: Database, flt: StatsFilter) -> dict[str, Any]:
    """The seed's /stats-history: lifetime totals and the newest compressed requests."""
    return {
        "lifetime": lifetime(db),
        "history": [
            {
                "timestamp": r["timestamp"],
                "model": r["model"],
                "user": r["tags"].get("user-id", ""),
                "total_tokens_saved": r["tokens_saved"],
                "compression_savings_usd": r["cost_saved_usd"],
            }
            for r in recent(db, flt, compressed_only=True)
        ],  # fmt: skip
        "filters": flt.describe(),
    }


def sessions(db: Database, ttl_seconds: int, flt: StatsFilter, max_sessions: int = 0
             ) -> dict[str, Any]:  # fmt: skip
    """Who was active within the session lifetime, per user (the seed's /sessions)."""
    now = time.time()
    window = StatsFilter(since=now - ttl_seconds, user=flt.user, team=flt.team,
                         project=flt.project)  # fmt: skip
    where, params = window.where(hourly=False)
    rows = db.query(
        "SELECT user_id, MAX(ts) AS last_ts, COUNT(*) AS requests, "
        "SUM(messages_replayed) AS replayed, SUM(messages_new) AS new_messages, "
        "SUM(CASE WHEN tokens_before > tokens_after THEN tokens_before - tokens_after ELSE 0 END)"
        f" AS saved FROM hgw_usage WHERE {where} GROUP BY user_id ORDER BY last_ts DESC",
        params,
    )
    return {
        "active_sessions": len(rows),
        "max_sessions": max_sessions,
        "session_ttl_seconds": ttl_seconds,
        "sessions": [
            {
                "user_id": r["user_id"],
                "last_active_seconds_ago": round(now - float(r["last_ts"])),
                "requests": int(r["requests"]),
                "cache_hits": int(r["replayed"] or 0),
                "cache_misses": int(r["new_messages"] or 0),
                "tokens_saved": int(r["saved"] or 0),
            }
            for r in rows
        ],  # fmt: skip
    }


EXPORT_COLUMNS = ("period", "cluster", "team", "project", "user", "model", "requests",
                  "requests_compressed", "tokens_before", "tokens_after", "tokens_saved",
                  "provider_input_tokens", "provider_cache_read_tokens",
                  "provider_cache_write_tokens", "provider_output_tokens",
                  "cost_without_usd", "cost_with_usd", "cost_saved_usd")  # fmt: skip


def export_rows(db: Database, flt: StatsFilter, period: str) -> list[list[Any]]:
    """Chargeback rows per period (hour, day, month), cluster, team, project, user, model."""
    where, params = flt.where(hourly=True)
    group = ("hour", "cluster", "team", "project", "user_id", "model")
    # days (and months, from days) are summed in the database: 24x fewer rows come back
    bucket = "hour" if period == "hour" else "hour - hour % 86400"
    rows = db.query(f"SELECT {bucket} AS bucket, {_sums(group[1:])} FROM hgw_usage_hourly "
                    f"WHERE {where} GROUP BY bucket, {', '.join(group[1:])}", params)  # fmt: skip
    buckets: dict[tuple[Any, ...], dict[str, Any]] = {}
    for raw in rows:
        row = _numbers(raw)
        stamp = _iso(int(raw["bucket"]))
        label = {"hour": stamp[:13] + ":00Z", "day": stamp[:10], "month": stamp[:7]}[period]
        _add(buckets.setdefault((label, *(row[c] for c in group[1:])), {}), row)
    out = []
    for key in sorted(buckets):
        t = buckets[key]
        without, with_ = round(t["cost_without_usd"], 6), round(t["cost_with_usd"], 6)
        out.append([*key, t["requests"], t["compressed"], t["tokens_before"], t["tokens_after"],
                    max(0, t["tokens_before"] - t["tokens_after"]), t["provider_input_tokens"],
                    t["provider_cache_read_tokens"], t["provider_cache_write_tokens"],
                    t["provider_output_tokens"], without, with_,
                    round(without - with_, 6)])  # fmt: skip
    return out
