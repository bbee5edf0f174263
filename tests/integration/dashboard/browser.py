"""Headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium.

No driver is downloaded: Selenium is pointed at the Debian chromedriver, which CI installs
with tests/tools/install.sh. A missing browser fails the tests that need it, loudly: the
dashboard's tests are the only check that the page works in a real browser.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.processes import REPO

ARTIFACTS = REPO / "test-artifacts" / "dashboard"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver",)
INSTALL_HINT = "apt-get install chromium chromium-driver (tests/tools/install.sh does)"


def _which(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                       else None)  # fmt: skip
        if found:
            return found
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium session with a fresh profile; closed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = _which(CHROMIUM_CANDIDATES), _which(DRIVER_CANDIDATES)
    if browser is None or driver is None:
        raise RuntimeError(f"chromium or chromedriver missing: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run",
                     "--disable-default-apps", "--disable-sync",
                     f"--user-data-dir={profile}", f"--window-size={width},{height}"):  # fmt: skip
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        try:
            yield session
        finally:
            session.quit()


def wait_for(session: Any, check: Callable[[Any], Any], timeout: float = 20.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(session, timeout, poll_frequency=0.05).until(check)


def screenshot(session: Any, name: str) -> Path:
    """A PNG of the page under test-artifacts/dashboard/ (gitignored; CI keeps it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    session.save_screenshot(str(path))
    return path


def console_errors(session: Any) -> list[str]:
    """Errors the page logged (a CSP violation shows up here)."""
    return [e["message"] for e in session.get_log("browser") if e.get("level") == "SEVERE"]
