"""Fixtures for the Lambda target: the packaged zip under AWS's runtime client, and the
repo's handler module loaded in this process."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from .lambda_events import function_url
from .lambda_harness import (
    ROOT,
    Invocation,
    LambdaRuntime,
    build_artifact,
    find_python312,
    runtime_client,
    unpack,
)

#: Settings an outer environment might carry that would change what the lambda profile means.
_PROFILE_OVERRIDES = (
    "HEADROOM_PROFILE", "HEADROOM_MAX_BODY_BYTES", "HEADROOM_WORKSPACE_DIR",
    "HEADROOM_REDIS_URL", "HEADROOM_S3_BUCKET", "HEADROOM_PROXY_TOKEN",
)  # fmt: skip


@pytest.fixture(scope="session")
def python312() -> str:
    python = find_python312()
    if python is None:
        pytest.skip("needs CPython 3.12 (the Lambda runtime's version) on PATH or in pyenv")
    return python


@pytest.fixture(scope="session")
def lambda_zip(python312: str) -> Path:
    """The x86_64 zip from lambda/build_zip.py (cached under build/ by source digest)."""
    return build_artifact("x86_64")


@pytest.fixture(scope="session")
def task_root(lambda_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(lambda_zip, tmp_path_factory.mktemp("var-task"))


@dataclass
class Container:
    """A warm container, with what its init and its very first invocation looked like."""

    runtime: LambdaRuntime
    init_seconds: float
    first_ready: Invocation


@contextmanager
def container(task_root: Path, python: str, scratch: Path,
              env: dict[str, str] | None = None) -> Iterator[Container]:  # fmt: skip
    """The artifact under awslambdaric: init, then `GET /ready` as the first invocation."""
    runtime = LambdaRuntime(task_root, python, runtime_client(python), scratch, env)
    runtime.start()
    try:
        init_seconds = runtime.wait_initialised()
        yield Container(runtime, init_seconds, runtime.invoke(function_url("GET", "/ready")))
    finally:
        runtime.stop()


@pytest.fixture(scope="session")
def lambda_container(
    task_root: Path, python312: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """One warm container shared by the runtime tests, as Lambda reuses one."""
    with container(task_root, python312, tmp_path_factory.mktemp("lambda-runtime")) as warm:
        yield warm


class RepoHandler:
    """The module's `handler`, called as the runtime client calls it, on Mangum's loop.

    Mangum runs each invocation on the thread's current event loop; other tests' calls to
    `asyncio.run()` unset it, so the loop Mangum made at import is put back for each call.
    """

    def __init__(self, module: ModuleType, loop: asyncio.AbstractEventLoop) -> None:
        self.module = module
        self.loop = loop

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        asyncio.set_event_loop(self.loop)
        context = SimpleNamespace(aws_request_id="local", function_name="headroom-gateway",
                                  get_remaining_time_in_millis=lambda: 30_000)  # fmt: skip
        return self.module.handler(event, context)


@pytest.fixture(scope="session")
def repo_handler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RepoHandler]:
    """lambda/handler.py imported here; `lambda` is a keyword, so it is loaded by path."""
    with pytest.MonkeyPatch.context() as env:
        for name in _PROFILE_OVERRIDES:
            env.delenv(name, raising=False)
        env.setenv("HEADROOM_DATA_DIR", str(tmp_path_factory.mktemp("lambda-data")))
        spec = importlib.util.spec_from_file_location(
            "headroom_lambda_handler", ROOT / "lambda" / "handler.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loop = asyncio.get_event_loop_policy().get_event_loop()
    try:
        yield RepoHandler(module, loop)
    finally:
        module.services.executor.shutdown(wait=True)
        loop.close()
        asyncio.set_event_loop(None)
