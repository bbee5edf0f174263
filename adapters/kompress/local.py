"""Kompress in this process: ONNX Runtime on CUDA or CPU, chosen from the requested mode.

Kompress never stops the gateway from starting: a missing directory, a broken model or an
absent GPU leaves a compressor whose `status` says why and whose `compress` returns None, so
prose passes through. `status` is what /ready shows under `engines.text`; `backend` is the
short form the metrics use.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.settings import KompressMode

if TYPE_CHECKING:
    from adapters.kompress.model import KompressModel

log = logging.getLogger(__name__)

NAME = "kompress"
#: Run once by `warm()` so the first request pays no first-inference cost: >64 words.
_WARM_TEXT = " ".join(
    ["The gateway keeps the exact bytes it sent last turn and replays them, so the provider's"
     " prompt cache still matches; only new tool output is compressed."] * 4
)  # fmt: skip


class KompressUnavailable(RuntimeError):
    """Kompress cannot run as configured; the message becomes the status."""


def select_providers(mode: KompressMode, available: list[str]) -> tuple[list[Any], str | None]:
    """Execution providers to ask ONNX Runtime for, and why CUDA is not among them.

    "cpu" never tries CUDA; "auto" takes CUDA when this onnxruntime build offers it; "cuda"
    insists on it: a service sized for a GPU should not quietly serve prose at CPU speed.
    """
    from adapters.kompress.model import CPU, CUDA

    if mode == "cpu":
        return [CPU], None
    if CUDA in available:
        return [(CUDA, {"device_id": 0}), CPU], None
    if mode == "cuda":
        raise KompressUnavailable(
            "cuda requested; onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
        )
    return [CPU], "cuda unavailable"


class LocalKompress:
    """Kompress in this process, loaded by `warm()` (or by the first `compress()`)."""

    name = NAME

    def __init__(
        self,
        model_dir: Path | None,
        mode: KompressMode,
        budget_seconds: float | None = 10.0,
        available_providers: list[str] | None = None,
    ) -> None:
        """`available_providers` replaces onnxruntime's own list (for tests and diagnosis)."""
        self.model_dir = model_dir
        self.mode = mode
        self._budget = budget_seconds
        self._available = available_providers
        self._lock = threading.Lock()
        self._model: Any = None
        self._backend = "loading"
        self._status = f"{NAME}:loading"

    @property
    def status(self) -> str:
        """e.g. "kompress:cuda", "kompress:cpu (cuda unavailable)", "kompress:unavailable (...)"."""
        return self._status

    @property
    def backend(self) -> str:
        """loading, cpu, cuda or unavailable."""
        return self._backend

    @property
    def model_name(self) -> str | None:
        return self._model.name if self._model is not None else None

    def warm(self) -> None:
        """Load the model and run it once; idempotent, never raises."""
        with self._lock:
            if self._backend != "loading":
                return
            started = time.perf_counter()
            try:
                model, placed, status = self._load()
                model.compress(_WARM_TEXT, None)
            except Exception as error:  # KompressUnavailable, ModelUnavailable, or a bug
                self._backend = "unavailable"
                self._status = f"{NAME}:unavailable ({_reason(error)})"
                log.error("Kompress is unavailable, prose passes through uncompressed: %s",
                          _reason(error))  # fmt: skip
                return
            self._model, self._backend, self._status = model, placed, status
            log.info("Kompress loaded from %s: %s in %.0f ms", model.name, status,
                     (time.perf_counter() - started) * 1000)  # fmt: skip

    def _load(self) -> tuple[Any, str, str]:
        """The model, where it runs (cpu or cuda), and the status line that says so."""
        from adapters.kompress.model import CPU, CUDA, ModelUnavailable, load_model

        if self.model_dir is None:
            raise KompressUnavailable("HEADROOM_KOMPRESS_MODEL_DIR is not set")
        available = self._available
        if available is None:
            try:
                import onnxruntime
            except ImportError as missing:
                raise KompressUnavailable("onnxruntime is not installed") from missing
            available = list(onnxruntime.get_available_providers())
        providers, why_not_cuda = select_providers(self.mode, available)
        try:
            model = load_model(Path(self.model_dir), providers)
        except ModelUnavailable as error:
            if self.mode != "auto" or why_not_cuda is not None:
                raise
            # Some CUDA setups fail at session build instead of falling back: "auto" then
            # tries once more on CPU (a missing directory simply fails again).
            model = load_model(Path(self.model_dir), [CPU])
            why_not_cuda = f"cuda unavailable: {_reason(error)}"[:300]
        placed = "cuda" if model.provider == CUDA else "cpu"
        if why_not_cuda is None and self.mode != "cpu" and placed != "cuda":
            why_not_cuda = "cuda unavailable: CUDAExecutionProvider failed to initialise"
            if self.mode == "cuda":
                raise KompressUnavailable(f"cuda requested; {why_not_cuda}")
        if why_not_cuda:
            log.warning("Kompress runs on CPU: %s (HEADROOM_KOMPRESS=%s)", why_not_cuda, self.mode)
        return model, placed, f"{NAME}:{placed}" + (f" ({why_not_cuda})" if why_not_cuda else "")

    def compress(self, text: str, target_ratio: float | None) -> str | None:
        """Kept words of `text`, or None (unavailable, too short, nothing dropped, failed)."""
        if self._backend == "loading":
            self.warm()
        model: KompressModel | None = self._model
        if model is None:
            return None
        try:
            return model.compress(text, target_ratio, self._budget)
        except Exception as error:  # fail open; the text itself is never logged
            log.warning("Kompress inference failed: %s", type(error).__name__)
            return None

    def close(self) -> None:
        """ONNX Runtime sessions are freed with the process; nothing to release early."""


class UnavailableKompress:
    """Kompress that cannot run as configured: says why, compresses nothing."""

    name = NAME
    backend = "unavailable"

    def __init__(self, reason: str) -> None:
        self.status = f"{NAME}:unavailable ({reason})"

    def warm(self) -> None:
        return None

    def compress(self, text: str, target_ratio: float | None) -> str | None:
        return None

    def close(self) -> None:
        return None


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__
