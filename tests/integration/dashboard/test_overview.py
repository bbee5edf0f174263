"""The dashboard's overview in headless Chromium, against a gateway that served real traffic.

Three users on two teams (gateway keys issued with the real CLI) send compress requests of
several kinds and models through a real sidecar with its embedded SQLite ledger. The page,
loaded with the operator token, must show exactly what /stats says for the same filters:
every KPI, the tables by team, user, model and engine, the recent requests; changing the
team or the window must change them the way /stats changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import corpus
from tests.integration.dashboard.browser import chromium, console_errors, screenshot, wait_for
from tests.processes import REPO, Sidecar

pytestmark = pytest.mark.integration
TOKEN = "dashboard-operator-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
USERS = {"alice": "payments", "bob": "payments", "carol": "search"}
FAST = {"HEADROOM_PROXY_TOKEN": TOKEN, "HEADROOM_LEDGER_FLUSH_SECONDS": "0.05",
        "HEADROOM_KEYS_REFRESH_SECONDS": "0.2"}  # fmt: skip


def issue_key(data_dir: Path, user: str, team: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}
    env["HEADROOM_DATA_DIR"] = str(data_dir)
    done = subprocess.run([sys.executable, "-m", "sidecar", "keys", "create", "--user", user,
                           "--team", team], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    return done.stdout.split()[0]


def traffic(base: str, keys: dict[str, str]) -> int:
    """Requests of several kinds, models and modes per user; returns how many were sent."""
    kinds = [("json", 60, "gpt-4o", None), ("app_log", 200, "claude-sonnet-4-5", "ccr"),
             ("pytest", 150, "gpt-4o", None), ("grep", 150, "claude-sonnet-4-5", None)]  # fmt: skip
    sent = 0
    with httpx.Client(timeout=60) as client:
        for n, (user, key) in enumerate(keys.items()):
            for i, (kind, size, model, mode) in enumerate(kinds[: 2 + n]):
                output = corpus.CONTENT[kind](size, seed=n * 10 + i)
                messages = [{"role": "user", "content": f"{user} turn {i}"},
                            *corpus.tool_turn_openai(f"c{i}", "Bash", output)]  # fmt: skip
                body: dict[str, Any] = {"model": model, "messages": messages}
                if mode:
                    body["config"] = {"mode": mode}
                response = client.post(f"{base}/v1/compress", json=body,
                                       headers={"authorization": f"Bearer {key}"})  # fmt: skip
                assert response.status_code == 200, response.text
                sent += 1
    return sent


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    workdir = tmp_path_factory.mktemp("dashboard-gateway")
    keys = {user: issue_key(workdir / "data", user, team) for user, team in USERS.items()}
    with Sidecar(FAST, workdir=workdir) as sidecar:
        sent = traffic(sidecar.url, keys)
        deadline = time.monotonic() + 20
        while stats(sidecar.url)["summary"]["api_requests"] < sent:
            assert time.monotonic() < deadline, "the ledger did not record the traffic"
            time.sleep(0.1)
        yield sidecar


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as session:
        yield session


def stats(base: str, path: str = "/stats", **params: str) -> dict[str, Any]:
    response = httpx.get(base + path, headers=AUTH, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def expected_kpis(body: dict[str, Any]) -> dict[str, float | None]:
    """The KPIs as defined on the page, computed here from the same /stats JSON."""
    s = body["summary"]
    c, usage = s["compression"], s["provider_usage"]
    outcomes = {row["outcome"]: row["requests"] for row in body["by_outcome"]}

    def ratio(part: float, whole: float) -> float | None:
        return part / whole if whole > 0 else None

    seen = usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
    return {
        "requests": s["api_requests"],
        "tokens-saved": c["total_tokens_removed"],
        "dollars-saved": s["cost"]["total_saved_usd"],
        "compression-rate": ratio(c["total_tokens_removed"], c["tokens_before"]),
        "replay-rate": ratio(c["messages_replayed"], c["messages_replayed"] + c["messages_new"]),
        "cache-hit-rate": ratio(usage["cache_read_tokens"], seen),
        "fail-open-rate": ratio(outcomes.get("failed_open", 0), s["api_requests"]),
        "shed-rate": ratio(outcomes.get("shed", 0), s["api_requests"]),
    }


def shown_kpis(browser: Any) -> dict[str, float | None]:
    values = browser.execute_script(
        "const out = {}; document.querySelectorAll('.kpi .value').forEach("
        "(el) => { out[el.id.slice(4)] = el.dataset.value; }); return out;"
    )
    return {name: (float(v) if v != "" else None) for name, v in values.items()}


def column(browser: Any, table: str, index: int = 0) -> list[str]:
    return list(browser.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')].map("
        f"(tr) => tr.children[{index}].dataset.value);"
    ))  # fmt: skip


def open_dashboard(browser: Any, base: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(base + "/dashboard")
    field = browser.find_element(By.ID, "token")
    field.clear()
    field.send_keys(TOKEN)
    browser.find_element(By.ID, "token-save").click()
    wait_until_loaded(browser, "?window=24h")


def wait_until_loaded(browser: Any, query: str) -> None:
    wait_for(browser, lambda b: b.execute_script(
        "return document.body.dataset.loaded === arguments[0] && "
        "document.getElementById('status').dataset.state === 'ready';", query))  # fmt: skip


def test_kpis_and_tables_are_the_stats_numbers(gateway: Sidecar, browser: Any) -> None:
    open_dashboard(browser, gateway.url)
    body = stats(gateway.url, window="24h")
    assert shown_kpis(browser) == expected_kpis(body)
    assert body["summary"]["api_requests"] == 2 + 3 + 4  # every request of the traffic
    assert body["summary"]["compression"]["total_tokens_removed"] > 0
    assert column(browser, "table-team") == [r["team"] for r in body["by_team"]]
    assert sorted(column(browser, "table-user")) == ["alice", "bob", "carol"]
    assert column(browser, "table-user", 3) == [str(r["tokens_saved"]) for r in body["by_user"]]
    assert set(column(browser, "table-model")) == {"gpt-4o", "claude-sonnet-4-5"}
    engines = stats(gateway.url, "/stats/insights", window="24h")["engines"]
    assert set(column(browser, "table-engine")) == set(engines) and engines
    assert len(column(browser, "table-recent")) == len(body["recent_requests"])
    bars = browser.execute_script("return [...document.querySelectorAll('#chart rect.bar')]"
                                  ".map((r) => Number(r.dataset.tokens));")  # fmt: skip
    assert sum(bars) == sum(h["tokens_saved"] for h in body["hourly"]) > 0
    text = browser.execute_script("return document.getElementById('kpi-requests').textContent;")
    assert text == f"{body['summary']['api_requests']:,}"
    browser.set_window_size(1400, 2200)  # the whole page, recent requests included
    screenshot(browser, "overview")
    browser.set_window_size(1400, 1000)
    assert not console_errors(browser), console_errors(browser)


def test_filters_change_the_numbers_as_stats_does(gateway: Sidecar, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_dashboard(browser, gateway.url)
    everyone = shown_kpis(browser)
    Select(browser.find_element(By.ID, "team")).select_by_value("search")
    wait_until_loaded(browser, "?window=24h&team=search")
    search = stats(gateway.url, window="24h", team="search")
    assert shown_kpis(browser) == expected_kpis(search)
    assert shown_kpis(browser)["requests"] == 4 != everyone["requests"]
    assert column(browser, "table-user") == ["carol"]
    assert column(browser, "table-team") == ["search"]
    screenshot(browser, "overview-team-search")

    Select(browser.find_element(By.ID, "team")).select_by_value("payments")
    wait_until_loaded(browser, "?window=24h&team=payments")
    assert shown_kpis(browser) == expected_kpis(stats(gateway.url, window="24h", team="payments"))
    assert sorted(column(browser, "table-user")) == ["alice", "bob"]

    Select(browser.find_element(By.ID, "team")).select_by_value("")
    Select(browser.find_element(By.ID, "window")).select_by_value("")
    wait_until_loaded(browser, "?")
    assert shown_kpis(browser) == expected_kpis(stats(gateway.url))
