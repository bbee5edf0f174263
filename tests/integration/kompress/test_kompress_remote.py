"""The GPU-service shape on CPU: one gateway runs Kompress (a tiny model) and answers upstream's
remote Kompress contract; a second gateway uses it through HEADROOM_KOMPRESS=remote. Both are
real `python -m sidecar serve` processes on loopback ports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("onnxruntime", reason="Kompress needs onnxruntime (pip install '.[dev]')")
pytest.importorskip("onnx", reason="the tiny test model is built with onnx (pip install '.[dev]')")

from tests import corpus
from tests.kompress_tiny import ONNX_FILE, build_tiny_kompress, keeps, vocabulary
from tests.processes import Sidecar

TOKEN = "kompress-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KNOWN = frozenset(vocabulary())
RESPONSE_FIELDS = {"compressed", "original_tokens", "compressed_tokens", "compression_ratio",
                   "model_used"}  # fmt: skip


def expected(text: str) -> str:
    lines = [[w for w in line.split() if keeps(w, KNOWN)] for line in text.split("\n")]
    return "\n".join(" ".join(words) for words in lines if words)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_kompress(tmp_path_factory.mktemp("kompress"))


@pytest.fixture(scope="module")
def service(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """The GPU service profile, on CPU: Kompress local, the /compress route on."""
    env = {"HEADROOM_PROFILE": "service", "HEADROOM_HOST": "127.0.0.1",
           "HEADROOM_PROXY_TOKEN": TOKEN, "HEADROOM_KOMPRESS": "cpu",
           "HEADROOM_KOMPRESS_MODEL_DIR": str(model_dir),
           "HEADROOM_DATA_DIR": str(tmp_path_factory.mktemp("service"))}  # fmt: skip
    with Sidecar(env) as running:
        yield running


@pytest.fixture(scope="module")
def remote(service: Sidecar, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    """A CPU sidecar whose prose goes to `service`."""
    env = {"HEADROOM_PROXY_TOKEN": TOKEN, "HEADROOM_KOMPRESS": "remote",
           "HEADROOM_KOMPRESS_ENDPOINT": service.url,
           "HEADROOM_DATA_DIR": str(tmp_path_factory.mktemp("remote"))}  # fmt: skip
    with Sidecar(env) as running:
        yield running


def kompress(
    sidecar: Sidecar, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{sidecar.url}/compress", content=data,
                      headers=AUTH if headers is None else headers, timeout=30)  # fmt: skip


def prose_request(seed: int) -> dict:
    """A prose tool result (a design doc `cat` in Bash): only Kompress can shrink it."""
    messages = [{"role": "user", "content": "Summarise the design."},
                *corpus.tool_turn_openai("c1", "Bash", corpus.prose(6, seed=seed))]  # fmt: skip
    return {"messages": messages, "model": "gpt-4o"}


def engines(sidecar: Sidecar) -> dict:
    return httpx.get(f"{sidecar.url}/ready", timeout=10).json()["engines"]


# -- the service answers upstream's remote Kompress contract ------------------------------------


def test_route_answers_upstreams_contract(service: Sidecar, model_dir: Path) -> None:
    text = corpus.prose(4, seed=31)
    response = kompress(service, {"content": text, "target_ratio": None})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESPONSE_FIELDS
    assert body["compressed"] == expected(text)
    assert body["original_tokens"] == len(text.split())
    assert body["compressed_tokens"] == len(expected(text).split())
    assert body["compression_ratio"] == round(body["compressed_tokens"] / len(text.split()), 4)
    assert body["model_used"] == f"{model_dir.name}/{ONNX_FILE}"
    assert engines(service) == {"text": "kompress:cpu"}


def test_route_honours_target_ratio_and_leaves_short_text_alone(service: Sidecar) -> None:
    text = corpus.prose(4, seed=32)
    body = kompress(service, {"content": text, "target_ratio": 0.25}).json()
    assert body["compressed_tokens"] == int(len(text.split()) * 0.25)
    short = kompress(service, {"content": "pod cache node queue", "target_ratio": None}).json()
    assert short["compressed"] == "pod cache node queue" and short["compression_ratio"] == 1.0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", {"target_ratio": 0.5}, {"content": 42},
     {"content": "x", "target_ratio": 0}, {"content": "x", "target_ratio": 1.5},
     {"content": "x", "target_ratio": "half"}, {"content": "x", "target_ratio": True}],
)  # fmt: skip
def test_route_rejects_bad_input_with_a_json_400(service: Sidecar, body: object) -> None:
    response = kompress(service, body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request"


def test_route_needs_the_token(service: Sidecar) -> None:
    assert kompress(service, {"content": "x"}, headers={}).status_code == 401
    wrong = kompress(service, {"content": "x"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_metrics_show_the_backend(service: Sidecar) -> None:
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    assert 'headroom_kompress_backend{backend="cpu",requested="cpu"} 1.0' in text
    assert 'headroom_kompress_backend{backend="cuda",requested="cpu"} 0.0' in text


def test_upstreams_own_remote_client_talks_to_the_route(
    service: Sidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    # headroom refuses to build its remote client under HEADROOM_OFFLINE (the gateway itself
    # uses its own client); lifted here for this client only.
    monkeypatch.delenv("HEADROOM_OFFLINE", raising=False)
    from headroom.transforms.kompress_compressor import KompressConfig
    from headroom.transforms.kompress_remote import RemoteKompressCompressor

    config = KompressConfig(enable_ccr=False)
    client = RemoteKompressCompressor(service.url, token=TOKEN, config=config)
    try:
        text = corpus.prose(4, seed=33)
        result = client.compress(text)
        assert result.compressed == expected(text)
        assert result.compressed_tokens < result.original_tokens == len(text.split())
        assert result.model_used.endswith(ONNX_FILE)
        unauthorised = RemoteKompressCompressor(service.url, token="nope", config=config)
        assert unauthorised.compress(text).compressed == text  # fails open on 401
        unauthorised.close()
    finally:
        client.close()


def test_model_dir_missing_still_starts_and_passes_prose_through(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-weights"
    env = {"HEADROOM_PROFILE": "service", "HEADROOM_HOST": "127.0.0.1",
           "HEADROOM_PROXY_TOKEN": TOKEN, "HEADROOM_KOMPRESS_MODEL_DIR": str(missing),
           "HEADROOM_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    with Sidecar(env) as broken:  # kompress=auto, the service profile's default
        response = kompress(broken, {"content": corpus.prose(4), "target_ratio": None})
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "unavailable"
        assert engines(broken)["text"] == f"kompress:unavailable (model dir not found: {missing})"
        request = prose_request(seed=34)
        body = httpx.post(f"{broken.url}/v1/compress", json=request, headers=AUTH,
                          timeout=30).json()  # fmt: skip
        assert body["messages"] == request["messages"] and body["tokens_saved"] == 0


# -- a CPU sidecar compresses prose through the service -----------------------------------------


def test_remote_sidecar_compresses_prose_through_the_service(
    service: Sidecar, remote: Sidecar
) -> None:
    assert engines(remote) == {"text": "kompress:remote"}
    metrics = httpx.get(f"{remote.url}/metrics", timeout=10).text
    assert 'headroom_kompress_backend{backend="remote",requested="remote"} 1.0' in metrics
    assert kompress(remote, {"content": "x"}).status_code == 404  # only a local model serves
    request = prose_request(seed=35)
    response = httpx.post(f"{remote.url}/v1/compress", json=request, headers=AUTH, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["tokens_saved"] > 0 and "text:kompress" in body["transforms_applied"]
    original = request["messages"][-1]["content"]
    assert body["messages"][-1]["content"] == expected(original)  # the service's words


def test_remote_sidecar_passes_prose_through_when_the_service_is_down(
    service: Sidecar, remote: Sidecar
) -> None:
    service.stop()  # last test of the module: the shared service is gone after this
    request = prose_request(seed=36)
    response = httpx.post(f"{remote.url}/v1/compress", json=request, headers=AUTH, timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["messages"] == request["messages"]
    assert body["tokens_saved"] == 0 and "text:kompress" not in body["transforms_applied"]
    assert engines(remote) == {"text": "kompress:remote (endpoint failing)"}
