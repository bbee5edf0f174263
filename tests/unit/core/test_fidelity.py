"""CI guard: compression loses no fact an agent needs (tests/fidelity.py), in either mode.

Runs the checker on a real third-party test suite with an injected bug (simplejson's, from
its wheel) and on generated items; `make bench` runs the whole corpus and reports savings.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from core.policy import CompressOptions
from core.service import CompressRequest
from tests import corpus, fidelity
from tests.unit.conftest import ServiceKit


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[fidelity.Item]:
    real = fidelity.real_pytest(Path(tmp_path_factory.mktemp("pytest")))
    generated = {i.name: i for i in fidelity.generated_items()}
    wanted = ("pytest -v, 2000 tests", "application log", "kubectl get pods -o json",
              "CI build log")  # fmt: skip
    return [real, *(generated[name] for name in wanted)]


def compressed_text(kit: ServiceKit, item: fidelity.Item, fmt: str, ccr: bool) -> str:
    step = corpus.tool_turn_openai if fmt == "openai" else corpus.tool_turn_anthropic
    messages: list[dict[str, Any]] = [{"role": "user", "content": "go"},
                                      *step("c1", item.tool, item.output)]  # fmt: skip
    if fmt == "anthropic" and item.is_error:
        messages[-1]["content"][0]["is_error"] = True
    request = CompressRequest(messages, "gpt-4o", CompressOptions(ccr=ccr))
    last = asyncio.run(kit.service.compress(request)).messages()[-1]
    return last["content"] if fmt == "openai" else last["content"][0]["content"]


@pytest.mark.parametrize("fmt", ["openai", "anthropic"])
@pytest.mark.parametrize("ccr", [False, True])
def test_no_signal_fact_is_lost(
    kit: ServiceKit, items: list[fidelity.Item], fmt: str, ccr: bool
) -> None:
    for item in items:
        text = compressed_text(kit, item, fmt, ccr)
        assert len(text) < 0.8 * len(item.output), f"{item.name}: nothing was compressed"
        retrieve = (lambda key: kit.originals.items.get(("default", key))) if ccr else None
        tally = fidelity.check(item, text, retrieve)
        assert tally["lost"] == 0, (item.name, fidelity.lost_facts(item, text)[:3])
        assert tally["kept"] + tally["retrievable"] == len(item.facts) > 0


def test_real_pytest_facts_cover_every_failure(items: list[fidelity.Item]) -> None:
    real = items[0]
    failed = [f for f in real.facts if f.text.startswith("FAILED ")]
    attributed = [f for f in real.facts if f.under is not None]
    assert len(failed) >= 5 and len(attributed) >= 2 * len(failed)


def test_the_checker_catches_a_line_shown_under_another_header() -> None:
    fact = fidelity.Fact("a.py:3: AssertionError", under="___ test_a ___", before="___ test_b ___")
    right = "___ test_a ___\na.py:3: AssertionError\n___ test_b ___\nb.py:9: KeyError"
    wrong = "___ test_a ___\nb.py:9: KeyError\n___ test_b ___\na.py:3: AssertionError"
    assert fidelity.shown(fact, right) and not fidelity.shown(fact, wrong)
    item = fidelity.Item("x", right, (fact,))
    assert fidelity.check(item, wrong)["lost"] == 1
    assert fidelity.check(item, "[marker hash=0]", lambda key: right)["lost"] == 1  # no marker
