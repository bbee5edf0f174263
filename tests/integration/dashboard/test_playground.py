"""The dashboard page itself and its playground, in headless Chromium against a real gateway.

The page must load nothing from outside the gateway and run under its own strict CSP; the
playground must compress a pasted tool output through /v1/compress and, in ccr mode, fetch
the original behind the marker from /v1/retrieve, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.dashboard.browser import (
    chromium,
    console_errors,
    screenshot,
    wait_for,
)
from tests.processes import Sidecar

pytestmark = pytest.mark.integration
TOKEN = "dashboard-test-token"
ASSETS = ("/dashboard", "/dashboard/app.js", "/dashboard/app.css")


@pytest.fixture(scope="module")
def gateway() -> Iterator[Sidecar]:
    with Sidecar({"HEADROOM_PROXY_TOKEN": TOKEN}) as sidecar:
        yield sidecar


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as session:
        yield session


def test_the_page_is_static_self_contained_and_sent_with_a_strict_csp(gateway: Sidecar) -> None:
    for path in ASSETS:
        response = httpx.get(gateway.url + path)  # no token: the files hold no data
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        # Nothing is fetched from elsewhere (the SVG namespace is a name, not a request).
        external = re.findall(r"https?://[^\s\"')]+", response.text)
        assert set(external) <= {"http://www.w3.org/2000/svg"}, (path, external)
    html = httpx.get(gateway.url + "/dashboard").text
    assert "<style" not in html and " style=" not in html and "onclick" not in html
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links == ["data:,", "/dashboard/app.css", "/dashboard/app.js"]  # data: = no favicon


def enter_token(browser: Any, url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url + "/dashboard")
    field = browser.find_element(By.ID, "token")
    field.clear()
    field.send_keys(TOKEN)
    browser.find_element(By.ID, "token-save").click()


def run_playground(browser: Any, example: str, mode: str) -> dict[str, str]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.find_element(By.ID, "tab-playground").click()
    Select(browser.find_element(By.ID, "example")).select_by_value(example)
    Select(browser.find_element(By.ID, "mode")).select_by_value(mode)
    browser.execute_script("document.getElementById('savings').dataset.tokensSaved = '';")
    browser.find_element(By.ID, "compress").click()
    savings = wait_for(browser, lambda b: b.find_element(By.ID, "savings")
                       if b.find_element(By.ID, "savings").get_attribute("data-tokens-saved")
                       else None)  # fmt: skip
    return {
        "saved": savings.get_attribute("data-tokens-saved"),
        "before": savings.get_attribute("data-tokens-before"),
        "output": browser.find_element(By.ID, "output").text,
        "input": browser.execute_script("return document.getElementById('input').value;"),
    }


def test_the_playground_compresses_and_retrieves_the_original(
    gateway: Sidecar, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    enter_token(browser, gateway.url)
    plain = run_playground(browser, "pytest -v", "default")
    assert int(plain["saved"]) > 0.5 * int(plain["before"])
    assert "Retrieve original" not in plain["output"]
    assert "test_case_117 FAILED" in plain["output"]  # the failure survives compression
    screenshot(browser, "playground-default")

    ccr = run_playground(browser, "kubectl get pods -o json", "ccr")
    assert int(ccr["saved"]) > 0
    marker = re.search(r"Retrieve original: hash=([0-9a-f]{24})", ccr["output"])
    assert marker, ccr["output"][-500:]
    check = wait_for(browser, lambda b: b.find_element(By.ID, "retrieved-check")
                     if b.find_element(By.ID, "retrieved-check").get_attribute("data-match")
                     else None)  # fmt: skip
    assert check.get_attribute("data-match") == "true"
    retrieved = browser.execute_script("return document.getElementById('retrieved').textContent;")
    assert retrieved == ccr["input"]
    assert browser.find_element(By.ID, "marker").text == marker.group(0)
    screenshot(browser, "playground-ccr")
    # The same hash through the API, with the same token: what the page showed is the original.
    api = httpx.get(f"{gateway.url}/v1/retrieve/{marker.group(1)}",
                    headers={"authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert api.json()["original_content"] == retrieved
    assert not [e for e in console_errors(browser) if "Content Security Policy" in e]


def test_a_wrong_token_is_reported_on_the_page(gateway: Sidecar, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(gateway.url + "/dashboard")
    browser.execute_script("sessionStorage.setItem('headroom.operatorToken', 'wrong');")
    browser.find_element(By.ID, "tab-playground").click()
    browser.find_element(By.ID, "compress").click()
    status = wait_for(browser, lambda b: b.find_element(By.ID, "status")
                      if b.find_element(By.ID, "status").get_attribute("data-state") == "error"
                      else None)  # fmt: skip
    assert "refused the token" in status.text
