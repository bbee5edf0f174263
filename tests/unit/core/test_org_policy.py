"""Central policy: validation of the operator's file and resolution over requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.org_policy import OrgPolicy, PolicyError, Rules, apply
from core.policy import CompressOptions
from core.service import CompressRequest
from tests import corpus
from tests.unit.conftest import ServiceKit, kit_with_text
from tests.unit.fakes import SlowTextCompressor

FILE = {
    "version": 1,
    "default": {"mode": "default", "protected_tools": ["Deploy"], "protect_recent": 1},
    "teams": {
        "payments": {"mode": "ccr", "protected_tools": ["Vault"], "kompress": False},
        "frozen": {"kill_switch": True},
        "careful": {"protect_recent": 6, "compress_user_messages": False},
    },
}


def request(**options: Any) -> CompressRequest:
    return CompressRequest(messages=[], model="m", options=CompressOptions(**options))


def test_a_team_section_lays_over_the_default_field_by_field() -> None:
    policy = OrgPolicy.parse(FILE)
    payments = policy.for_team("payments")
    assert payments == Rules(mode="ccr", protected_tools=frozenset({"Deploy", "Vault"}),
                             protect_recent=1, kompress=False)  # fmt: skip
    assert policy.for_team("nobody-knows") == policy.for_team(None) == policy.default
    assert policy.for_team("careful").protect_recent == 6


def test_policy_values_win_and_only_ever_add_protection() -> None:
    policy = OrgPolicy.parse(FILE)
    resolved = apply(policy, "payments", request(protect_recent=3, compress_user_messages=True,
                                                 protected_tools=frozenset({"Mine"})))  # fmt: skip
    assert resolved.options.ccr is True
    assert resolved.options.kompress is False
    assert resolved.options.protected_tools == {"Mine", "Deploy", "Vault"}
    assert resolved.options.protect_recent == 3  # the request's larger value stands
    assert resolved.options.compress_user_messages is True  # the policy leaves it unset
    assert apply(policy, "careful", request(compress_user_messages=True)).options == (
        CompressOptions(protect_recent=6, protected_tools=frozenset({"Deploy"}))
    )
    assert apply(policy, None, request(ccr=True)).options.ccr is False  # default: marker-free


def test_kill_switch_bypasses_one_team_or_everyone() -> None:
    policy = OrgPolicy.parse(FILE)
    assert apply(policy, "frozen", request()).bypass is True
    assert apply(policy, "payments", request()).bypass is False
    everyone = OrgPolicy.parse({**FILE, "kill_switch": True})
    assert all(apply(everyone, team, request()).bypass for team in (None, "payments", "x"))
    assert everyone.as_dict()["teams"]["payments"]["kill_switch"] is True


def test_an_empty_policy_changes_nothing() -> None:
    original = request(ccr=True, protect_recent=2)
    assert apply(OrgPolicy.parse(None), "any", original) is original
    assert apply(OrgPolicy.parse({}), None, original) is original


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ([], "top level"),
        ({"teams": {"a": {"mode": "lossy"}}}, "teams.a.mode"),
        ({"teams": {"a": {"kill_switch": "yes"}}}, "teams.a.kill_switch"),
        ({"default": {"protect_recent": -1}}, "default.protect_recent"),
        ({"default": {"protect_recent": True}}, "default.protect_recent"),
        ({"default": {"protected_tools": "Read"}}, "default.protected_tools"),
        ({"default": {"protected_tools": ["bad name"]}}, "default.protected_tools"),
        ({"teams": {"bad team!": {}}}, "teams"),
        ({"teams": ["a"]}, "teams"),
        ({"defaults": {}}, "unknown key(s) defaults"),
        ({"teams": {"a": {"mdoe": "ccr"}}}, "unknown key(s) mdoe"),
        ({"version": 2}, "version"),
        ({"kill_switch": 1}, "top level.kill_switch"),
    ],
)
def test_invalid_files_are_refused_with_where_and_why(data: Any, names: str) -> None:
    with pytest.raises(PolicyError, match=names.replace("(", r"\(").replace(")", r"\)")):
        OrgPolicy.parse(data)


def test_protected_tools_and_kompress_off_change_what_the_service_does(kit: ServiceKit) -> None:
    """The options the policy sets reach the engines: a protected tool stays verbatim, and
    with Kompress off prose is not handed to the text compressor."""
    history = [{"role": "user", "content": "look"}] + corpus.tool_turn_openai(
        "c1", "Deploy", corpus.kubectl_pods_json(80)
    )
    policy = OrgPolicy.parse({"default": {"protected_tools": ["Deploy"]},
                              "teams": {"payments": {"kompress": False}}})  # fmt: skip
    open_ = asyncio.run(kit.service.compress(apply(policy, "x", request_of(history, "Other"))))
    kept = asyncio.run(kit.service.compress(apply(policy, "x", request_of(history, "Deploy"))))
    assert open_.tokens_after < 0.5 * open_.tokens_before
    assert kept.tokens_after == kept.tokens_before
    assert kept.messages() == request_of(history, "Deploy").messages

    texty = kit_with_text(SlowTextCompressor(0), deadline=10)
    prose = [{"role": "user", "content": "read"}] + corpus.tool_turn_openai(
        "c1", "Bash", corpus.prose(12)
    )
    on = asyncio.run(texty.service.compress(apply(policy, "x", request_of(prose, "Bash"))))
    off = asyncio.run(texty.service.compress(apply(policy, "payments", request_of(prose, "Bash"))))
    assert any(t.startswith("text:") for t in on.transforms_applied)
    assert not any(t.startswith("text:") for t in off.transforms_applied)


def request_of(history: list[dict[str, Any]], tool: str) -> CompressRequest:
    renamed = [dict(m) for m in history]
    for message in renamed:
        for call in message.get("tool_calls") or ():
            call["function"] = {**call["function"], "name": tool}
    return CompressRequest(messages=renamed, model="gpt-4o")


def test_a_policy_change_stops_replay_of_messages_rewritten_under_the_old_one(
    kit: ServiceKit,
) -> None:
    """Protecting a tool takes effect on messages already sent: their rewritten form is not
    replayed under the new policy (they are decided afresh, here: kept verbatim)."""
    history = [{"role": "user", "content": "look"}] + corpus.tool_turn_openai(
        "c1", "Deploy", corpus.kubectl_pods_json(80)
    )
    before = OrgPolicy.parse({})
    after = OrgPolicy.parse({"default": {"protected_tools": ["Deploy"]}})
    first = asyncio.run(kit.service.compress(apply(before, None, request_of(history, "Deploy"))))
    again = asyncio.run(kit.service.compress(apply(before, None, request_of(history, "Deploy"))))
    assert again.messages_json == first.messages_json and first.tokens_after < first.tokens_before
    changed = asyncio.run(kit.service.compress(apply(after, None, request_of(history, "Deploy"))))
    assert changed.tokens_after == changed.tokens_before
    assert changed.messages() == request_of(history, "Deploy").messages
