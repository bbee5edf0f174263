"""Kompress weights on ONNX Runtime, read from a local directory: prose in, kept words out.

Follows the model contract of upstream headroom's Kompress (headroom-ai 0.42.0,
`headroom/transforms/kompress_compressor.py`), so the weights it publishes work unchanged:

    <model_dir>/tokenizer.json                    the ModernBERT tokenizer (fast-tokenizer JSON)
    <model_dir>/onnx/kompress-int8-wo.onnx        first that loads and runs of upstream's
    <model_dir>/onnx/kompress-fp32.onnx           candidates (HEADROOM_KOMPRESS_ONNX_FILENAME
    <model_dir>/onnx/kompress-int8.onnx           pins one, as upstream)

Both come from a Hugging Face cache the operator already has: the ONNX files from
`models--chopratejas--kompress-v2-base/snapshots/<rev>/onnx/`, tokenizer.json from
`models--answerdotai--ModernBERT-base/snapshots/<rev>/`.

The graph takes `input_ids` and `attention_mask` (int64, [batch, seq]) and returns
`final_scores` ([batch, seq], keep probability per token). Text is split into words, read in
chunks of 350 words of at most 512 tokens; a word's score is the best of its tokens; a word is
kept above 0.5, or, with a target ratio, the best-scoring share of each chunk is kept.
Numbers, paths, flags, negations and table rows are always kept. The word-level pieces
(splitting, truncation accounting, must-keep words, table rows, line-aware join) are
upstream's own functions, so both produce the same bytes for the same scores.

Upstream cannot be pointed at a directory or given execution providers (it resolves model
and tokenizer through the model hub and runs ONNX on CPU only), hence this loader.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
TOKENIZER_FILE = "tokenizer.json"
#: Chunks scored per ONNX Runtime call: one call per chunk wastes a GPU, a wide batch pads.
BATCH_ROWS = 8


class ModelUnavailable(RuntimeError):
    """The directory holds no loadable model; prose then passes through."""


@dataclass(frozen=True)
class _Chunk:
    start: int  # index of the chunk's first word in the whole text
    scored: int  # leading words the model saw whole
    ids: list[int]
    word_ids: list[int | None]


class KompressModel:
    """A loaded tokenizer and ONNX session; `compress` is safe to call from many threads."""

    def __init__(self, session: Any, tokenizer: Any, pad_id: int, name: str) -> None:
        from headroom.transforms.kompress_compressor import KompressConfig

        defaults = KompressConfig()
        self.name = name
        self.session = session
        self._tokenizer = tokenizer
        self._pad_id = pad_id
        self._chunk_words = defaults.chunk_words
        self._threshold = defaults.score_threshold
        self.min_words = max(10, defaults.min_input_words)
        # One inference at a time: ONNX Runtime already uses every core (or the whole GPU)
        # for one call, and concurrent calls only add memory.
        self._run_lock = threading.Lock()

    @property
    def provider(self) -> str:
        """The execution provider ONNX Runtime actually placed the graph on."""
        return str(self.session.get_providers()[0])

    def compress(
        self, text: str, target_ratio: float | None, budget_seconds: float | None = None
    ) -> str | None:
        """The kept words, line breaks preserved; None when nothing would be dropped.

        Past `budget_seconds` the words not yet scored are kept verbatim, so one huge
        block cannot hold a worker long after the request's deadline has passed.
        """
        from headroom.transforms import kompress_compressor as upstream

        words, line_ids = upstream._words_by_line(text)
        if len(words) < self.min_words:
            return None
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        kept: set[int] = set()
        chunks = self._chunks(words, kept)
        for first in range(0, len(chunks), BATCH_ROWS):
            batch = chunks[first : first + BATCH_ROWS]
            if deadline is not None and time.monotonic() > deadline:
                kept.update(range(batch[0].start, len(words)))
                break
            for chunk, scores in zip(batch, self._scores(batch), strict=True):
                self._select(chunk, scores, target_ratio, kept)
                upstream._add_kompress_must_keep_words(
                    kept, words[chunk.start : chunk.start + chunk.scored], chunk.start
                )
        protected = upstream._tabular_protected_line_ids(text)
        kept.update(i for i, line in enumerate(line_ids) if line in protected)
        if not kept or len(kept) == len(words):
            return None
        return upstream._join_kept_words_by_line(words, line_ids, kept)

    def _chunks(self, words: list[str], kept: set[int]) -> list[_Chunk]:
        """Chunks of at most 350 words and 512 tokens; a word cut by truncation starts the
        next chunk, and a word too long to fit a chunk alone is kept unscored."""
        from headroom.transforms.kompress_compressor import _words_seen_whole

        chunks: list[_Chunk] = []
        start = 0
        while start < len(words):
            part = words[start : start + self._chunk_words]
            encoding = self._tokenizer.encode(part, is_pretokenized=True)
            word_ids = list(encoding.word_ids)
            scored = _words_seen_whole(word_ids, len(word_ids), len(part))
            if scored == 0:
                kept.add(start)
                start += 1
                continue
            chunks.append(_Chunk(start, scored, list(encoding.ids), word_ids))
            start += scored
        return chunks

    def _scores(self, batch: Sequence[_Chunk]) -> Any:
        import numpy as np

        width = max(len(chunk.ids) for chunk in batch)
        input_ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, chunk in enumerate(batch):
            input_ids[row, : len(chunk.ids)] = chunk.ids
            attention_mask[row, : len(chunk.ids)] = 1
        with self._run_lock:
            (scores,) = self.session.run(
                ["final_scores"], {"input_ids": input_ids, "attention_mask": attention_mask}
            )
        return scores

    def _select(
        self, chunk: _Chunk, scores: Any, target_ratio: float | None, kept: set[int]
    ) -> None:
        best: dict[int, float] = {}
        for index, word in enumerate(chunk.word_ids):
            if word is None or word >= chunk.scored:
                continue
            score = float(scores[index])
            if word not in best or score > best[word]:
                best[word] = score
        if target_ratio is None:
            threshold = self._threshold
            kept.update(chunk.start + word for word, score in best.items() if score > threshold)
            return
        ranked = sorted(best, key=best.__getitem__, reverse=True)
        keep = max(1, int(len(ranked) * target_ratio))
        kept.update(chunk.start + word for word in ranked[:keep])


def load_model(model_dir: Path, providers: list[Any]) -> KompressModel:
    """Tokenizer and the first ONNX candidate that loads and runs; ModelUnavailable if none.

    Reads local files only: no model hub is ever consulted.
    """
    if not model_dir.is_dir():
        raise ModelUnavailable(f"model dir not found: {model_dir}")
    tokenizer_path = model_dir / TOKENIZER_FILE
    if not tokenizer_path.is_file():
        raise ModelUnavailable(f"no {TOKENIZER_FILE} in {model_dir}")
    candidates = onnx_candidates(model_dir)
    if not candidates:
        raise ModelUnavailable(f"no ONNX file in {model_dir} (expected onnx/kompress-*.onnx)")
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as missing:
        raise ModelUnavailable(f"{missing.name} is not installed") from missing

    from headroom.transforms.kompress_compressor import _KOMPRESS_MAX_TOKENS

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    pad_id = _pad_id(tokenizer)  # before no_padding(), which forgets the file's pad token
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=_KOMPRESS_MAX_TOKENS)
    errors = []
    for path in candidates:
        try:
            session = _session(onnxruntime, path, providers)
        except Exception as error:  # a broken or unsupported artifact: try the next one
            errors.append(f"{path.name}: {type(error).__name__}: {error}"[:300])
            continue
        name = f"{model_dir.name}/{path.relative_to(model_dir)}"
        return KompressModel(session, tokenizer, pad_id, name)
    raise ModelUnavailable("no ONNX file loads: " + "; ".join(errors))


def onnx_candidates(model_dir: Path) -> list[Path]:
    """Upstream's candidate files in upstream's order, then any other `onnx/*.onnx`."""
    from headroom.transforms.kompress_compressor import _onnx_filename_candidates

    named = [model_dir / name for name in _onnx_filename_candidates()]
    others = sorted((model_dir / "onnx").glob("*.onnx")) + sorted(model_dir.glob("*.onnx"))
    found: list[Path] = []
    for path in [*named, *others]:
        if path.is_file() and path not in found:
            found.append(path)
    return found


def _session(onnxruntime: Any, path: Path, providers: list[Any]) -> Any:
    """A session that has run once: some builds accept a graph and fail at execution."""
    import numpy as np
    from headroom.onnx_runtime import create_cpu_session_options

    with warnings.catch_warnings():
        # A provider this build lacks is a warning, then a CPU session; the caller reads
        # session.get_providers() and reports the fallback itself.
        warnings.simplefilter("ignore", UserWarning)
        session = onnxruntime.InferenceSession(
            str(path), create_cpu_session_options(onnxruntime), providers=providers
        )
    session.run(["final_scores"], {"input_ids": np.zeros((1, 2), dtype=np.int64),
                                   "attention_mask": np.ones((1, 2), dtype=np.int64)})  # fmt: skip
    return session


def _pad_id(tokenizer: Any) -> int:
    padding = tokenizer.padding
    if padding and padding.get("pad_id") is not None:
        return int(padding["pad_id"])
    for token in ("[PAD]", "<pad>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return int(found)
    return 0
