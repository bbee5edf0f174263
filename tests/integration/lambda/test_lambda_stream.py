"""The streaming Lambda image (lambda/Dockerfile.stream): Lambda Web Adapter in front of uvicorn.

No Docker daemon and no adapter binary here: the Dockerfile is read, and its entry point is
run as the image would run it (same environment, the zip's task root, the pinned server
packages from its RUN line, for CPython 3.12), then a streamed proxy call goes through it to
the fake provider and must arrive event by event, before the provider has finished.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fake_provider import FakeProvider, Reply
from tests.packaging.test_dockerfiles import Dockerfile, contract_offline_env, parse
from tests.processes import free_port, stop_process

from .lambda_harness import CACHE, ROOT

pytestmark = pytest.mark.integration

STREAM = ROOT / "lambda" / "Dockerfile.stream"


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(STREAM)


def server_packages(dockerfile: Dockerfile) -> list[str]:
    """The `name==version` arguments of the build stage's pip install into /build/server."""
    for run in dockerfile.stage("build").all("RUN"):
        words = shlex.split(run)
        if "/build/server" in words and "install" in words:
            return [w for w in words if "==" in w]
    raise AssertionError("no pip install into /build/server")


def test_adapter_is_pinned_and_installed_as_an_extension(dockerfile: Dockerfile) -> None:
    adapter = dockerfile.global_args["LAMBDA_ADAPTER_IMAGE"]
    assert re.fullmatch(r"public\.ecr\.aws/awsguru/aws-lambda-adapter:\d+\.\d+\.\d+", adapter)
    assert dockerfile.stages[0].base == "${LAMBDA_ADAPTER_IMAGE}"
    assert "--from=adapter /lambda-adapter /opt/extensions/lambda-adapter" in (
        dockerfile.final.all("COPY")
    )


def test_runtime_matches_the_buffered_image_and_streams(dockerfile: Dockerfile) -> None:
    buffered = parse(ROOT / "lambda" / "Dockerfile")
    assert dockerfile.global_args["LAMBDA_IMAGE"] == buffered.global_args["LAMBDA_IMAGE"]
    assert dockerfile.final.base == "${LAMBDA_IMAGE}"
    env = dockerfile.final.env()
    for key, value in {**contract_offline_env(), **buffered.final.env()}.items():
        assert env.get(key) == value, key
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    entrypoint = json.loads(dockerfile.final.all("ENTRYPOINT")[-1])
    assert entrypoint[1:4] == ["-m", "sidecar", "serve"]
    assert entrypoint[entrypoint.index("--host") + 1] == "127.0.0.1", "loopback: no token needed"
    assert entrypoint[entrypoint.index("--port") + 1] == env["AWS_LWA_PORT"]
    assert env["AWS_LWA_READINESS_CHECK_PATH"] == "/live", "readiness never waits on Redis/S3"
    assert all(re.fullmatch(r"[a-z0-9]+==[\d.]+", p) for p in server_packages(dockerfile))
    assert "lambda/build_zip.py" in " ".join(dockerfile.stage("build").all("RUN"))
    lines = (ROOT / "lambda" / "Dockerfile.stream.dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".venv", "tests"} <= ignored
    assert not {"lambda", "core", "adapters", "sidecar", "pyproject.toml"} & ignored


@pytest.fixture(scope="module")
def server_dir(dockerfile: Dockerfile, python312: str) -> Path:
    """The image's /opt/server: its pinned packages, for CPython 3.12, cached under build/."""
    packages = server_packages(dockerfile)
    folder = CACHE / ("server-" + "-".join(sorted(packages)).replace("==", "_"))
    if not (folder / "uvicorn").is_dir():
        subprocess.run([python312, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--only-binary=:all:", "--target",
                        str(folder), *packages], check=True)  # fmt: skip
    return folder


@pytest.fixture
def entrypoint(
    dockerfile: Dockerfile,
    task_root: Path,
    server_dir: Path,
    python312: str,
    tmp_path: Path,
    fake_provider: FakeProvider,
) -> Iterator[str]:
    """The image's ENTRYPOINT with its ENV, paths mapped onto this machine; its base URL once
    the adapter's readiness path answers."""
    port = str(free_port())
    paths = {"/var/task": str(task_root), "/opt/server": str(server_dir), "/tmp": str(tmp_path)}
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEADROOM_")}
    image_paths = re.compile("|".join(re.escape(path) for path in paths))
    for key, value in dockerfile.final.env().items():
        # one pass: a mapped path under /tmp (a checkout there) must not be mapped again
        env[key] = image_paths.sub(lambda found: paths[found.group(0)], value)
    env.update({"HEADROOM_PORT": port, "HEADROOM_ANTHROPIC_API_URL": fake_provider.url})
    argv = json.loads(dockerfile.final.all("ENTRYPOINT")[-1])
    argv = [python312, *argv[1:]]
    argv[argv.index("--port") + 1] = port
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(argv, cwd=task_root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if httpx.get(url + env["AWS_LWA_READINESS_CHECK_PATH"]).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise TimeoutError("the image's server never became ready")
        yield url
    finally:
        stop_process(process, log)


def test_the_entrypoint_streams_a_proxied_call_event_by_event(
    entrypoint: str, fake_provider: FakeProvider
) -> None:
    fake_provider.chunk_delay = 0.1  # wide enough apart that a loaded reader sees each
    fake_provider.enqueue(Reply.say("streamed " * 12))
    body = {"model": "claude-x", "max_tokens": 64, "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
    arrivals: list[float] = []
    with httpx.stream("POST", entrypoint + "/v1/messages", json=body,
                      headers={"x-api-key": "sk-test"}, timeout=30) as response:  # fmt: skip
        assert response.status_code == 200
        for _ in response.iter_raw():
            arrivals.append(time.perf_counter())
    sent = fake_provider.generations()[0].sent_at
    assert len(sent) > 8
    assert arrivals[0] < sent[-1] - 0.2, "the first bytes arrived before the provider finished"
    assert len(arrivals) >= len(sent) / 2, "forwarded as it came, not in one piece"
