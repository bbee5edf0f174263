"""Two real sidecar processes sharing Redis and S3 answer as one.

A 40-turn agent session alternates between replica A and replica B, turn by turn. Every
message returned on turn t-1 must come back byte-identical on turn t from the other replica
(it can only know those bytes through Redis), and every CCR hash returned by A must resolve on
B (through S3), for the same tenant only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.corpus import agent_session
from tests.integration.helpers import compress, prefix_kept, retrieve
from tests.processes import Sidecar

pytestmark = pytest.mark.integration
TURNS = 40


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.mark.parametrize("with_session_id", [True, False], ids=["session-id", "derived"])
@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_alternating_replicas_keep_every_returned_message_byte_identical(
    replicas: tuple[Sidecar, Sidecar], http: httpx.Client, tenant: str, fmt: str,
    with_session_id: bool,
) -> None:  # fmt: skip
    session_id = f"s-{uuid.uuid4().hex}" if with_session_id else None
    previous: list[str] = []
    kept = compared = compressed_turns = 0
    for turn, messages in enumerate(agent_session(TURNS, fmt)):
        replica = replicas[turn % 2]
        answer = compress(http, replica.url, messages, fmt, tenant, session_id)
        assert answer.status == 200, replica.log_tail()
        assert len(answer.messages) == len(messages)
        same, total = prefix_kept(previous, answer.messages)
        kept, compared = kept + same, compared + total
        if turn:  # the other replica wrote those entries: only Redis could replay them
            assert answer.replayed == len(previous), (turn, answer.body["transforms_applied"])
        compressed_turns += answer.body["tokens_after"] < answer.body["tokens_before"]
        previous = answer.messages
    assert compared > 0 and kept == compared, f"{compared - kept} of {compared} messages changed"
    assert compressed_turns >= TURNS // 2  # the session really was compressed


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
def test_ccr_hashes_from_one_replica_resolve_on_the_other_for_that_tenant_only(
    replicas: tuple[Sidecar, Sidecar], http: httpx.Client, tenant: str, fmt: str
) -> None:
    a, b = replicas
    hashes: set[str] = set()
    previous: list[str] = []
    for turn, messages in enumerate(agent_session(16, fmt, seed=23)):
        replica = replicas[turn % 2]
        answer = compress(http, replica.url, messages, fmt, tenant, mode="ccr")
        assert answer.status == 200
        assert set(answer.markers) <= set(answer.body["ccr_hashes"])
        assert answer.messages[: len(previous)] == previous
        previous = answer.messages
        hashes.update(answer.body["ccr_hashes"])
        for key in answer.body["ccr_hashes"]:  # written by this replica, read by the other
            other = replicas[(turn + 1) % 2]
            found = retrieve(http, other.url, key, tenant)
            assert found.status_code == 200, (key, found.text)
            assert found.json()["hash"] == key and found.json()["original_content"]
    assert len(hashes) >= 3, "the session produced too few lossy blocks to test CCR"
    for key in sorted(hashes):
        assert retrieve(http, a.url, key, tenant).status_code == 200
        assert retrieve(http, b.url, key, f"{tenant}-other").status_code == 404
        assert retrieve(http, a.url, key, f"{tenant}-other").status_code == 404
