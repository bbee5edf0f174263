"""Two gateway replicas sharing Redis sessions and S3 originals behind one base URL, as in
service mode: turns may land on either, and the prefix and the retrieve loop do not care."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from tests import corpus
from tests.fake_provider import MARKER, FakeProvider, Reply
from tests.integration.helpers import wire
from tests.integration.proxy.models import looking_then_retrieve
from tests.integration.servers import SIDECAR_TIMEOUTS, shared_state_env
from tests.processes import Sidecar


@pytest.fixture(scope="module")
def pair(
    provider: FakeProvider,
    redis_url: str,
    s3_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sidecar, Sidecar]]:
    env = shared_state_env(redis_url, s3_endpoint, cluster_id=f"proxy-{uuid.uuid4().hex[:8]}")
    env.update(SIDECAR_TIMEOUTS)
    env["HEADROOM_ANTHROPIC_API_URL"] = provider.url
    root: Path = tmp_path_factory.mktemp("proxy-replicas")
    sidecars = (Sidecar(env, workdir=root / "a"), Sidecar(env, workdir=root / "b"))
    try:
        for sidecar in sidecars:
            sidecar.start()
        yield sidecars
    finally:
        for sidecar in sidecars:
            sidecar.stop()


def clients(pair: tuple[Sidecar, Sidecar], tenant: str) -> list[anthropic.Anthropic]:
    return [
        anthropic.Anthropic(
            base_url=s.url,
            api_key="k",
            max_retries=0,
            default_headers={"x-headroom-user-id": tenant},
        )
        for s in pair
    ]


def test_turns_alternating_between_replicas_keep_a_byte_stable_prefix(
    provider: FakeProvider, pair: tuple[Sidecar, Sidecar], tenant: str
) -> None:
    provider.model = lambda exchange: Reply.say("ok")
    replicas = clients(pair, tenant)
    snapshots = corpus.agent_session(10, fmt="anthropic", seed=31)
    for turn, history in enumerate(snapshots):
        replicas[turn % 2].messages.create(
            model="claude-sonnet-4-5",
            max_tokens=8,
            messages=history,  # type: ignore[arg-type]
            extra_headers={"X-Claude-Code-Session-Id": "r1"},
        )
    requests = provider.generations()
    for before, now in zip(requests, requests[1:], strict=False):
        head = b",".join(wire(m).encode() for m in before.json()["messages"])
        assert b'"messages":[' + head + b"," in now.body
    assert MARKER.search(requests[-1].body.decode()), "lossy blocks carry markers (ccr)"


def test_a_marker_from_one_replica_is_resolved_by_the_other(
    provider: FakeProvider, pair: tuple[Sidecar, Sidecar], tenant: str
) -> None:
    first, second = clients(pair, tenant)
    original = corpus.kubectl_pods_json(60)
    history = [
        {"role": "user", "content": "Why?"},
        *corpus.tool_turn_anthropic("toolu_1", "Bash", original),
    ]
    provider.model = lambda exchange: Reply.say("ok")
    first.messages.create(model="m", max_tokens=8, messages=history)  # type: ignore[arg-type]
    [key] = MARKER.findall(json.dumps(provider.generations()[0].json()))
    provider.model = looking_then_retrieve
    with second.messages.stream(model="m", max_tokens=64, messages=history) as stream:  # type: ignore[arg-type]
        text = stream.get_final_text()
    assert text == f"Let me look closer.Retrieved {key}={len(original)} chars."
    continuation = provider.generations()[-1].json()["messages"][-1]
    assert continuation["content"][0]["content"] == original
