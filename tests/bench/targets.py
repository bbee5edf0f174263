"""Entry points into the other targets' benchmarks (shared state, Lambda), imported lazily."""

from __future__ import annotations

from typing import Any


def replicas() -> dict[str, Any]:
    from tests.bench.replicas import run_replica_bench

    return run_replica_bench()


def lambda_function() -> dict[str, Any]:
    from tests.bench.lambda_bench import run_lambda_bench

    return run_lambda_bench()


def kompress() -> dict[str, Any]:
    from tests.bench.kompress_bench import run_kompress_bench

    return run_kompress_bench()


def ledger() -> dict[str, Any]:
    from tests.bench.ledger_bench import run_ledger_bench

    return run_ledger_bench()


def proxy() -> dict[str, Any]:
    from tests.bench.proxy_bench import run_proxy_bench

    return run_proxy_bench()


def dashboard() -> dict[str, Any]:
    from tests.bench.dashboard_bench import run_dashboard_bench

    return run_dashboard_bench()


def policy() -> dict[str, Any]:
    from tests.bench.policy_bench import run_policy_bench

    return run_policy_bench()
