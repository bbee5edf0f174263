"""Run one scenario of scenarios.py in a loopback-only namespace and load its report."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.agents import REPO, agent_binary, in_loopback_namespace


def run_scenario(name: str, cli: str, out: Path, timeout: float = 300.0) -> dict[str, Any]:
    """The report scenarios.py wrote; a missing CLI or a failed scenario fails loudly."""
    agent_binary(cli)
    argv = in_loopback_namespace([sys.executable, "-m", "tests.e2e.scenarios", name, str(out)])
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(argv, cwd=REPO, env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, f"scenario {name} failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def request_body(request: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(base64.b64decode(request["body"]))
    return body
