"""Local Kompress on CPU with a tiny model built here: loading, providers, compression."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="Kompress needs onnxruntime (pip install '.[dev]')")
pytest.importorskip("onnx", reason="the tiny test model is built with onnx (pip install '.[dev]')")

from adapters.bootstrap import text_compressor_for as build_text_compressor
from adapters.kompress.local import (
    KompressUnavailable,
    LocalKompress,
    UnavailableKompress,
    select_providers,
)
from adapters.kompress.model import CPU, CUDA
from adapters.kompress.remote import RemoteKompress
from adapters.settings import Settings
from tests import corpus
from tests.kompress_tiny import ONNX_FILE, build_tiny_kompress, keeps, vocabulary

KNOWN = frozenset(vocabulary())


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_kompress(tmp_path_factory.mktemp("kompress"))


@pytest.fixture(scope="module")
def kompress(model_dir: Path) -> LocalKompress:
    compressor = LocalKompress(model_dir, "cpu")
    compressor.warm()
    return compressor


def expected(text: str) -> str:
    """What the tiny model must return: its kept words, one output line per source line."""
    lines = [[w for w in line.split() if keeps(w, KNOWN)] for line in text.split("\n")]
    return "\n".join(" ".join(words) for words in lines if words)


# -- execution providers --------------------------------------------------------------------


def test_cpu_never_asks_for_cuda() -> None:
    assert select_providers("cpu", [CUDA, CPU]) == ([CPU], None)


def test_auto_prefers_cuda_when_onnxruntime_offers_it() -> None:
    providers, why_not = select_providers("auto", [CUDA, CPU])
    assert providers[0][0] == CUDA and providers[-1] == CPU and why_not is None


def test_auto_falls_back_to_cpu_and_says_why() -> None:
    assert select_providers("auto", [CPU]) == ([CPU], "cuda unavailable")


def test_cuda_insists_on_cuda() -> None:
    with pytest.raises(KompressUnavailable, match="onnxruntime-gpu"):
        select_providers("cuda", [CPU])


def test_loads_on_cpu(kompress: LocalKompress) -> None:
    assert (kompress.status, kompress.backend) == ("kompress:cpu", "cpu")
    assert kompress.model_name == f"{kompress.model_dir.name}/{ONNX_FILE}"


def test_auto_without_cuda_runs_on_cpu_and_says_so(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.kompress"):
        compressor = LocalKompress(model_dir, "auto")
        compressor.warm()
    assert compressor.status == "kompress:cpu (cuda unavailable)"
    assert compressor.backend == "cpu"
    assert any("cuda unavailable" in r.getMessage() for r in caplog.records)
    assert compressor.compress(corpus.prose(3), None) is not None


def test_cuda_requested_without_cuda_is_unavailable_not_slow(
    model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="adapters.kompress"):
        compressor = LocalKompress(model_dir, "cuda")
        compressor.warm()
    assert compressor.backend == "unavailable"
    assert compressor.status.startswith("kompress:unavailable (cuda requested;")
    assert any("CUDAExecutionProvider" in r.getMessage() for r in caplog.records)
    assert compressor.compress(corpus.prose(3), None) is None


@pytest.mark.parametrize("mode", ["auto", "cuda"])
def test_cuda_listed_but_not_starting_is_detected_from_the_session(
    model_dir: Path, mode: str
) -> None:
    # This onnxruntime build has no CUDA: asked for it anyway, it builds a CPU session, as
    # onnxruntime-gpu does when the CUDA libraries are missing. The session says where it runs.
    compressor = LocalKompress(model_dir, mode, available_providers=[CUDA, CPU])  # type: ignore[arg-type]
    compressor.warm()
    failed = "CUDAExecutionProvider failed to initialise"
    if mode == "auto":
        assert compressor.status == f"kompress:cpu (cuda unavailable: {failed})"
    else:
        assert compressor.status.startswith("kompress:unavailable (cuda requested;")
        assert compressor.status.endswith(f"{failed})")


# -- compression ------------------------------------------------------------------------------


def test_compress_keeps_exactly_the_words_the_model_scores_high(kompress: LocalKompress) -> None:
    text = corpus.prose(3)
    out = kompress.compress(text, None)
    assert out == expected(text)
    assert len(out) < 0.85 * len(text)


def test_compress_is_deterministic_across_instances(
    model_dir: Path, kompress: LocalKompress
) -> None:
    text = corpus.prose(5, seed=21)
    other = LocalKompress(model_dir, "cpu")
    assert other.compress(text, None) == kompress.compress(text, None) == expected(text)


def test_long_prose_is_chunked_and_batched_without_losing_a_word(kompress: LocalKompress) -> None:
    text = corpus.prose(60, seed=3)  # ~4000 words: a dozen 350-word chunks, two batches
    assert len(text.split()) > 8 * 350
    assert kompress.compress(text, None) == expected(text)


def test_words_cut_by_the_512_token_window_start_the_next_chunk(kompress: LocalKompress) -> None:
    # Each word is 7 tokens (request ~ pod ~ node ~ cache): 350 words would be ~2450 tokens,
    # so every chunk is truncated and the words past the cut must be scored in the next one.
    words = ["request~pod~node~cache" if i % 3 else "pod~node~cache~queue" for i in range(900)]
    text = " ".join(words)
    assert kompress.compress(text, None) == " ".join(w for w in words if w.startswith("request"))


def test_target_ratio_keeps_that_share_of_the_best_scoring_words(kompress: LocalKompress) -> None:
    text = corpus.prose(4, seed=5)
    words = text.split()
    assert 64 <= len(words) <= 350  # one chunk
    kept = kompress.compress(text, 0.3).split()  # type: ignore[union-attr]
    assert len(kept) == int(len(words) * 0.3)
    dropped = Counter(words) - Counter(kept)
    assert min(len(w.strip(".")) for w in kept) >= max(len(w.strip(".")) for w in dropped)


def test_numbers_negations_and_paths_are_always_kept(kompress: LocalKompress) -> None:
    text = " ".join(["pod cache node queue 42 not /var/log/app.log retry index"] * 10)
    out = kompress.compress(text, None)
    assert out is not None
    assert out.split() == ["42", "not", "/var/log/app.log"] * 10


def test_short_text_is_left_alone(kompress: LocalKompress) -> None:
    assert kompress.compress("pod cache node " * 20, None) is None  # 60 words < 64


# -- unavailable models never stop the gateway --------------------------------------------------


def test_missing_model_dir_passes_prose_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "nowhere"
    with caplog.at_level(logging.ERROR, logger="adapters.kompress"):
        compressor = LocalKompress(missing, "auto")
        compressor.warm()
        assert compressor.compress(corpus.prose(3), None) is None
    assert compressor.status == f"kompress:unavailable (model dir not found: {missing})"
    assert any("prose passes through" in r.getMessage() for r in caplog.records)


def test_unset_model_dir_is_named_in_the_status() -> None:
    compressor = LocalKompress(None, "auto")
    assert compressor.compress(corpus.prose(3), None) is None  # loads lazily, fails softly
    assert compressor.status == "kompress:unavailable (HEADROOM_KOMPRESS_MODEL_DIR is not set)"


def test_dir_without_weights_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("no weights here\n")  # what the GPU image ships
    compressor = LocalKompress(tmp_path, "cpu")
    compressor.warm()
    assert compressor.status == f"kompress:unavailable (no tokenizer.json in {tmp_path})"


def test_broken_artifact_falls_through_to_the_next_candidate(tmp_path: Path) -> None:
    build_tiny_kompress(tmp_path)
    (tmp_path / "onnx" / "kompress-int8-wo.onnx").write_bytes(b"not an onnx graph")
    compressor = LocalKompress(tmp_path, "cpu")
    compressor.warm()
    assert compressor.model_name == f"{tmp_path.name}/onnx/kompress-fp32.onnx"
    (tmp_path / "onnx" / "kompress-fp32.onnx").write_bytes(b"also broken")
    broken = LocalKompress(tmp_path, "cpu")
    broken.warm()
    assert broken.status.startswith("kompress:unavailable (no ONNX file loads: kompress-int8-wo")


# -- settings --------------------------------------------------------------------------------


def test_settings_pick_the_compressor(model_dir: Path) -> None:
    assert build_text_compressor(Settings(kompress="off")) is None
    local = build_text_compressor(Settings(kompress="cuda", kompress_model_dir=model_dir))
    assert isinstance(local, LocalKompress) and local.mode == "cuda"
    assert local.status == "kompress:loading"  # nothing is loaded before warm()
    service = build_text_compressor(Settings(profile="service", proxy_token="t"))
    assert isinstance(service, LocalKompress) and service.mode == "auto"
    remote = build_text_compressor(
        Settings(kompress="remote", kompress_endpoint="http://gpu.internal:8787/")
    )
    assert isinstance(remote, RemoteKompress) and remote.url == "http://gpu.internal:8787/compress"


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [(None, "HEADROOM_KOMPRESS_ENDPOINT is not set"),
     ("gpu.internal:8787", "HEADROOM_KOMPRESS_ENDPOINT is not an http(s) URL")],
)  # fmt: skip
def test_remote_without_a_usable_endpoint_is_unavailable(endpoint: str | None, reason: str) -> None:
    remote = build_text_compressor(Settings(kompress="remote", kompress_endpoint=endpoint))
    assert isinstance(remote, UnavailableKompress)
    assert remote.status.startswith(f"kompress:unavailable ({reason}")
    assert remote.compress(corpus.prose(3), None) is None
