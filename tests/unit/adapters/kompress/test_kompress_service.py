"""Kompress inside the gateway: warmed before the service reports ready, used for prose."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="Kompress needs onnxruntime (pip install '.[dev]')")
pytest.importorskip("onnx", reason="the tiny test model is built with onnx (pip install '.[dev]')")

from adapters.bootstrap import bootstrap
from adapters.kompress.local import LocalKompress
from adapters.settings import Settings
from core.service import CompressRequest
from tests import corpus
from tests.kompress_tiny import build_tiny_kompress
from tests.unit.conftest import kit_with_text


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_kompress(tmp_path_factory.mktemp("kompress"))


def prose_step(seed: int) -> list[dict]:
    return [{"role": "user", "content": "read the design"},
            *corpus.tool_turn_openai("c1", "Bash", corpus.prose(6, seed=seed))]  # fmt: skip


def test_the_model_is_warm_before_the_service_is_ready(model_dir: Path, tmp_path: Path) -> None:
    settings = Settings(kompress="cpu", kompress_model_dir=model_dir, data_dir=tmp_path)
    services = bootstrap(settings)
    assert services.engine_status() == {"text": "kompress:loading"}
    services.warm()
    assert services.service.ready
    assert services.engine_status() == {"text": "kompress:cpu"}, (
        "HeadroomEngines.warm() must call the text compressor's warm() so that /startup and "
        "/ready wait for the model"
    )


def test_prose_tool_output_is_compressed_by_kompress(model_dir: Path) -> None:
    kit = kit_with_text(LocalKompress(model_dir, "cpu"), deadline=10)
    messages = prose_step(seed=41)
    response = asyncio.run(kit.service.compress(CompressRequest(messages=messages, model="gpt-4o")))
    report = kit.telemetry.last
    assert report.outcome == "compressed" and report.engines == {"text:kompress": 1}
    assert report.tokens_after < 0.85 * report.tokens_before
    assert response.messages()[-1]["content"] != messages[-1]["content"]
