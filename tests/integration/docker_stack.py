"""pytest-docker fixtures for `docker-compose.yml`, gated on a Docker daemon that answers.

pytest-docker's own fixtures error at setup when no daemon runs; `docker_stack` checks first
(`docker info`, `docker compose version`, a few seconds at most) and skips with the reason.
The local-process fixtures in conftest.py stay the default path.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.servers import ensure_bucket, port_open

COMPOSE_FILE = Path(__file__).with_name("docker-compose.yml")


def docker_unavailable() -> str | None:
    """Why the Docker stack cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    for command in (["docker", "info", "--format", "{{.ServerVersion}}"],
                    ["docker", "compose", "version"]):  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"`{' '.join(command[:2])}` failed: {error}"
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).decode(errors="replace").strip()[:200]
            return f"`{' '.join(command[:2])}` failed: {detail or done.returncode}"
    return None


@dataclass(frozen=True)
class DockerStack:
    redis_url: str
    s3_endpoint_url: str


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return f"hgw-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session", name="docker_stack")
def docker_stack_fixture(request: pytest.FixtureRequest) -> DockerStack:
    reason = docker_unavailable()
    if reason is not None:
        pytest.skip(f"Docker stack skipped: {reason}")
    services = request.getfixturevalue("docker_services")
    redis_port = services.port_for("redis", 6379)
    s3_port = services.port_for("s3", 8333)
    deadline = time.monotonic() + 60
    while not (port_open(redis_port) and port_open(s3_port)):
        if time.monotonic() > deadline:
            pytest.fail("docker compose services never opened their ports")
        time.sleep(0.5)
    endpoint = f"http://127.0.0.1:{s3_port}"
    ensure_bucket(endpoint, timeout=60)
    return DockerStack(f"redis://127.0.0.1:{redis_port}/0", endpoint)
