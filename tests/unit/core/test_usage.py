"""The usage record and the fan-out every accounting sink hangs off."""

from __future__ import annotations

import asyncio

import pytest

from core.ports import RequestReport
from core.service import CompressRequest
from core.usage import FanOut, UsageRecord, provider_usage_fields
from tests.unit.conftest import ServiceKit


class Listing:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, usage: UsageRecord) -> None:
        self.records.append(usage)


class Broken:
    def record(self, usage: UsageRecord) -> None:
        raise RuntimeError("sink down")


def test_fan_out_reaches_every_sink_even_past_a_failing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, last = Listing(), Listing()
    usage = UsageRecord(user="alice", tokens_before=10, tokens_after=4)
    FanOut([first, Broken(), last]).record(usage)
    assert first.records == [usage] and last.records == [usage]
    assert "Broken" in caplog.text


def test_record_from_report_keeps_counts_and_takes_tags() -> None:
    report = RequestReport(outcome="compressed", fmt="anthropic", tokens_before=900,
                           tokens_after=300, replayed_tokens_before=500, replayed_tokens_after=200,
                           messages_replayed=3, messages_new=2, engines={"json": 1},
                           latency_seconds=0.25)  # fmt: skip
    usage = UsageRecord.from_report(report, user="alice", team="payments", model="gpt-4o",
                                    started_at=1.5)  # fmt: skip
    assert (usage.user, usage.team, usage.model, usage.format) == (
        "alice", "payments", "gpt-4o", "anthropic")  # fmt: skip
    assert (usage.tokens_saved, usage.replayed_tokens_before, usage.replayed_tokens_after) == (
        600, 500, 200)  # fmt: skip
    assert usage.engines == {"json": 1} and not usage.has_provider_usage


def test_service_reports_the_replayed_prefix_tokens(kit: ServiceKit) -> None:
    first = [{"role": "user", "content": "list pods"},
             {"role": "assistant", "content": "ok " * 50}]  # fmt: skip
    asyncio.run(kit.service.compress(CompressRequest(first, "gpt-4o", session_id="s")))
    assert kit.telemetry.last.replayed_tokens_before == 0
    sent = kit.telemetry.last.tokens_after
    second = first + [{"role": "user", "content": "and services"}]
    asyncio.run(kit.service.compress(CompressRequest(second, "gpt-4o", session_id="s")))
    report = kit.telemetry.last
    assert report.messages_replayed == 2
    assert report.replayed_tokens_after == sent
    assert report.replayed_tokens_before == sent  # plain prose: nothing was compressed
    assert report.tokens_before > report.replayed_tokens_before


def test_provider_usage_from_anthropic_keeps_cache_reads_and_writes_apart() -> None:
    usage = {"input_tokens": 50, "cache_read_input_tokens": 30_000,
             "cache_creation_input_tokens": 8_000, "output_tokens": 900,
             "cache_creation": {"ephemeral_5m_input_tokens": 6_000,
                                "ephemeral_1h_input_tokens": 2_000}}  # fmt: skip
    assert provider_usage_fields(usage) == {
        "provider_input_tokens": 50, "provider_cache_read_tokens": 30_000,
        "provider_cache_write_tokens": 8_000, "provider_cache_write_1h_tokens": 2_000,
        "provider_output_tokens": 900}  # fmt: skip


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 12_000, "completion_tokens": 300, "total_tokens": 12_300,
         "prompt_tokens_details": {"cached_tokens": 10_000}},  # chat completions
        {"input_tokens": 12_000, "output_tokens": 300, "total_tokens": 12_300,
         "input_tokens_details": {"cached_tokens": 10_000}},  # responses
    ],
)  # fmt: skip
def test_provider_usage_from_openai_takes_cached_tokens_out_of_input(
    usage: dict[str, object],
) -> None:
    fields = provider_usage_fields(usage)
    assert fields == {"provider_input_tokens": 2_000, "provider_cache_read_tokens": 10_000,
                      "provider_cache_write_tokens": 0, "provider_cache_write_1h_tokens": 0,
                      "provider_output_tokens": 300}  # fmt: skip
    assert UsageRecord(**fields).has_provider_usage  # type: ignore[arg-type]


def test_provider_usage_tolerates_missing_and_odd_numbers() -> None:
    assert provider_usage_fields({"input_tokens": None, "output_tokens": "7"}) == {
        "provider_input_tokens": 0, "provider_cache_read_tokens": 0,
        "provider_cache_write_tokens": 0, "provider_cache_write_1h_tokens": 0,
        "provider_output_tokens": 0}  # fmt: skip
