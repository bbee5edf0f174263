"""The signal-preserving line filter: what may go, what must stay, and how drops are told."""

from __future__ import annotations

import pytest

from core.logs import filter_lines, noise_kind
from tests import corpus


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("tests/test_a.py::test_decode_error PASSED                [ 12%]", "passing"),
        ("tests/test_a.py::TestX::test_y SKIPPED (no redis)        [ 13%]", "skipped"),
        ("test core::tests::fails_on_error ... ok", "passing"),
        ("   Compiling serde v1.0.188", "progress"),
        ("=== RUN   TestReplay/prefix", "progress"),
        ("--- PASS: TestReplay (0.00s)", "passing"),
        ("--- FAIL: TestCache (0.01s)", None),
        ("  CC      build/unit_004.o", "progress"),
        ("2026-11-22T10:00:01.000Z INFO  [api] request served latency_ms=3", "info"),
        ("2026-11-22T10:00:01.000Z INFO  [api] upstream request timed out", None),
        ("2026-11-22T10:00:01.000Z WARN  [api] retry budget low", None),
        ("tests/test_a.py::test_b FAILED                          [ 14%]", None),
        ("E       AssertionError: assert 1 == 2", None),
        ("src/core.rs:88:9: prefix changed", None),
        ("Traceback (most recent call last):", None),
        ("plain line of output", None),
    ],
)
def test_each_line_is_noise_only_when_it_carries_no_signal(line: str, kind: str | None) -> None:
    assert noise_kind(line) == kind


def test_passing_tests_go_with_a_count_and_failures_stay_in_order() -> None:
    log = corpus.pytest_verbose(400, seed=5)
    filtered = filter_lines(log)
    assert filtered is not None
    kept = filtered.text.splitlines()
    failing = [line for line in log.splitlines() if " FAILED " in line]
    assert [line for line in kept if " FAILED " in line] == failing
    assert filtered.dropped["passing"] == 400 - len(failing) - sum(
        1 for line in log.splitlines()[:5] + log.splitlines()[-5:] if " PASSED " in line
    )
    assert any(line.startswith("[headroom: ") and "passing tests omitted]" in line for line in kept)
    assert kept[-1] == log.splitlines()[-1]  # the final summary
    at = 0
    original = log.splitlines()
    for line in (line for line in kept if not line.startswith("[headroom:")):
        at = original.index(line, at) + 1  # raises if a kept line came out of order


def test_head_and_tail_stay_even_when_they_are_noise() -> None:
    lines = [f"   Compiling crate{i} v0.1.{i}" for i in range(50)]
    filtered = filter_lines("\n".join(lines), head=3, tail=2)
    assert filtered is not None
    out = filtered.text.splitlines()
    assert out[:3] == lines[:3] and out[-2:] == lines[-2:]
    assert out[3] == "[headroom: 45 progress lines omitted]"


def test_repeats_collapse_and_short_runs_stay() -> None:
    text = "\n".join(["start", *["same line again"] * 30, "WARN low", "x INFO y", "end", "", ""])
    filtered = filter_lines(text, head=1, tail=1)
    assert filtered is not None
    assert filtered.text.splitlines()[:4] == [
        "start",
        "same line again",
        "[headroom: 29 repeated lines omitted]",
        "WARN low",
    ]
    assert "x INFO y" in filtered.text  # one short line: a note would cost more


def test_nothing_to_drop_returns_none() -> None:
    assert filter_lines("\n".join(f"error {i}" for i in range(40))) is None
