"""Kompress latency on 1k- and 10k-token prose, on the execution provider this machine has.

Times `LocalKompress.compress` end to end (word split, tokenization, chunking, ONNX Runtime,
word selection, join) in process. No registry ships the real weights, so unless a model
directory is given (`--model-dir`, or HEADROOM_KOMPRESS_MODEL_DIR) the model is the tiny test
model from tests/kompress_tiny.py: its graph is a table lookup, so those numbers are the
pipeline's cost around the model, not ModernBERT inference. The result says which it was and
whether a GPU took part.

    python -m tests.bench.kompress_bench [--model-dir DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.offline import apply_offline_environment
from tests import corpus

SIZES = (1_000, 10_000)
TINY_MODEL = ("tiny test model (tests/kompress_tiny.py: WordLevel tokenizer, one Gather-lookup "
              "ONNX graph; not ModernBERT)")  # fmt: skip


def run_kompress_bench(repeats: int = 20, model_dir: Path | None = None) -> dict[str, Any]:
    """Latency per size (p50/p95/min/max ms), the model, the provider, and a GPU statement."""
    apply_offline_environment()
    import onnxruntime
    from headroom.transforms.kompress_compressor import payload_tokens

    from adapters.kompress.local import LocalKompress
    from tests.kompress_tiny import build_tiny_kompress

    with tempfile.TemporaryDirectory() as scratch:
        directory = model_dir or build_tiny_kompress(Path(scratch) / "tiny-kompress")
        compressor = LocalKompress(directory, "auto", budget_seconds=None)
        started = time.perf_counter()
        compressor.warm()
        warm_ms = (time.perf_counter() - started) * 1000
        if compressor.backend == "unavailable":
            raise SystemExit(f"cannot benchmark: {compressor.status}")
        sizes = {}
        for target in SIZES:
            text = corpus.prose(max(1, target // corpus.TOKENS_PER_UNIT["prose"]), seed=target)
            compressed = compressor.compress(text, None) or text
            timings = []
            for _ in range(repeats):
                begun = time.perf_counter()
                compressor.compress(text, None)
                timings.append((time.perf_counter() - begun) * 1000)
            timings.sort()
            sizes[f"{target // 1000}k"] = {
                "tokens_before": payload_tokens(text),
                "tokens_after": payload_tokens(compressed),
                "words": len(text.split()),
                "repeats": repeats,
                "p50_ms": round(statistics.median(timings), 2),
                "p95_ms": round(timings[round(0.95 * (len(timings) - 1))], 2),
                "min_ms": round(timings[0], 2),
                "max_ms": round(timings[-1], 2),
            }  # fmt: skip
        available = list(onnxruntime.get_available_providers())
        gpu = compressor.backend == "cuda"
        return {
            "model": compressor.model_name if model_dir else TINY_MODEL,
            "real_weights": model_dir is not None,
            "status": compressor.status,
            "provider": compressor.backend,
            "onnxruntime": onnxruntime.__version__,
            "available_providers": available,
            "gpu_used": gpu,
            "gpu_statement": (
                "measured on CUDA" if gpu else
                "No GPU was available for this measurement: CPU only "
                f"({os.cpu_count()} cores, {platform.processor() or platform.machine()}); "
                "CUDA numbers need a GPU node and the real weights"
            ),
            "load_and_warm_ms": round(warm_ms, 1),
            "sizes": sizes,
        }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path,
                        default=os.environ.get("HEADROOM_KOMPRESS_MODEL_DIR") or None)  # fmt: skip
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run_kompress_bench(args.repeats, args.model_dir), indent=2))


if __name__ == "__main__":
    main()
