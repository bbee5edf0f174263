"""headroom's compression engines behind one call: text and kind in, smaller text out.

Each block is compressed on its own, with no query and no cross-message state, so the same
tool output always becomes the same bytes: in any process, on any replica, on any turn.
That determinism is what lets a session lost from the store be rebuilt without busting the
provider's prompt cache. Every engine offers a lossless form (always safe to emit) and,
where it can do better, a lossy form (emitted marker-free by default, or with a CCR marker
once its original is stored). Lossy forms drop only records that carry no signal (passing
tests, progress and INFO lines, healthy array items, diff context), and say what they dropped:
logs and error output go through core.logs, diffs through core.diffs, and a sampled JSON array
is used only when core.arrays finds every anomalous item in it.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import arrays
from core.classify import Kind, classify
from core.diffs import filter_diff
from core.logs import filter_lines
from core.ports import TextCompressor

_SAMPLED = re.compile(r"\((\d+)->(\d+)\)")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
#: Output must be at least this much smaller than the input to be worth a rewrite.
_MIN_GAIN = 0.05
#: Lines kept verbatim at each end of a log: the command's banner and its final summary.
LOG_EDGE_LINES = 5
#: The same for error output, where the first and last lines are most often the diagnosis.
ERROR_EDGE_LINES = 10


@dataclass(frozen=True)
class Candidate:
    """One engine's proposal for a block: the text, a label for metrics, and its fidelity."""

    text: str
    label: str
    lossy: bool


@dataclass(frozen=True)
class Compressed:
    """The proposals for one block: `lossless` is always safe, `lossy` may drop detail."""

    kind: Kind
    lossless: Candidate | None
    lossy: Candidate | None


class HeadroomEngines:
    """Builds headroom's compressors on first use and remembers recent results.

    Construction is cheap; `warm()` does the imports and first runs so that the first real
    request does not pay for them.
    """

    def __init__(
        self, text_compressor: TextCompressor | None = None, cache_chars: int = 64_000_000
    ) -> None:
        self._text_compressor = text_compressor
        self._lock = threading.Lock()
        self._built: dict[str, Any] = {}
        #: (sha256, lossless_only, target_ratio, error, kompress) -> proposals
        self._cache: OrderedDict[tuple[bytes, bool, float | None, bool, bool], Compressed] = (
            OrderedDict()
        )
        self._cache_chars = cache_chars
        self._cached_chars = 0

    @property
    def text_compressor(self) -> TextCompressor | None:
        return self._text_compressor

    def warm(self) -> None:
        """Import and exercise every engine once (a few hundred ms, at startup)."""
        if self._text_compressor is not None:  # load the prose model before readiness
            self._text_compressor.warm()
        sample_log = "\n".join(f"tests/test_a.py::test_{i} PASSED [ {i}%]" for i in range(60))
        samples = [
            json.dumps([{"id": i, "name": f"pod-{i}", "ready": True} for i in range(40)]),
            sample_log,
            "\n".join(f"src/a.py:{i}:    x = store.get(key)" for i in range(40)),
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n",
        ]
        for text in samples:
            self.compress(text, lossless_only=False)
        with self._lock:
            self._cache.clear()
            self._cached_chars = 0

    def compress(
        self,
        text: str,
        lossless_only: bool,
        target_ratio: float | None = None,
        error: bool = False,
        kompress: bool = True,
    ) -> Compressed:
        """Lossless and (unless `lossless_only`) lossy proposals for `text`; cached.

        `error` marks error output: its only lossy form keeps every line that carries signal
        plus a longer head and tail, whatever the kind of content. `kompress=False` keeps prose
        away from the text compressor (operator policy)."""
        key = (hashlib.sha256(text.encode()).digest(), lossless_only, target_ratio, error, kompress)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        kind = classify(text)
        lossless = _smaller(text, self._lossless(kind, text))
        if lossless_only:
            lossy = None
        elif error:  # error JSON is only folded losslessly: no line of it is noise
            lossy = (
                None
                if kind == "json"
                else _smaller(text, _signal_lines(text, ERROR_EDGE_LINES, "error:signal"))
            )
        else:
            lossy = _smaller(text, self._lossy(kind, text, target_ratio, kompress))
        if lossy is not None and lossless is not None and len(lossless.text) <= len(lossy.text):
            lossy = None  # a lossless result that is as small wins outright
        result = Compressed(kind, lossless, lossy)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = result
                self._cached_chars += _size(result)
            while self._cached_chars > self._cache_chars and self._cache:
                self._cached_chars -= _size(self._cache.popitem(last=False)[1])
        return result

    # -- lossless forms: every byte recoverable -------------------------------------------

    def _lossless(self, kind: Kind, text: str) -> Candidate | None:
        from headroom.transforms import lossless_compaction as fold

        if kind == "json":
            return self._json_lossless(text)
        if kind == "search":
            return Candidate(fold.search_heading(text), "search:fold", lossy=False)
        if kind == "log":
            return Candidate(fold.collapse_runs(fold.strip_ansi(text)), "log:fold", lossy=False)
        return None

    def _json_lossless(self, text: str) -> Candidate | None:
        minified = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
        crushed = self._engine("json_lossless", _json_crusher(lossless_only=True)).crush(text)
        table = crushed.compressed if crushed.was_modified else text
        if len(table) < len(minified):
            return Candidate(table, "json:table", lossy=False)
        return Candidate(minified, "json:minify", lossy=False)

    # -- lossy forms: smaller, recoverable only through CCR --------------------------------

    def _lossy(
        self, kind: Kind, text: str, target_ratio: float | None, kompress: bool = True
    ) -> Candidate | None:
        if kind == "json":
            crushed = self._engine("json_lossy", _json_crusher(lossless_only=False)).crush(text)
            counts = _SAMPLED.search(crushed.strategy or "")
            if not crushed.was_modified or counts is None:
                return None
            if not arrays.all_kept(json.loads(text), crushed.compressed):
                return None  # a sample that hides an anomalous item is not worth its savings
            # Tell the model the array is a sample, so it does not reason over it as complete,
            # and what the sample holds (all_kept below makes that true).
            note = (
                f"\n[headroom: {counts[2]} of {counts[1]} array items shown, including every "
                "item with an unusual value in a field the others share; the rest omitted]"
            )
            return Candidate(crushed.compressed + note, "json:sample", lossy=True)
        if kind == "log":
            return _signal_lines(text, LOG_EDGE_LINES, "log:signal")
        if kind == "search":
            return Candidate(self._engine("search", _search_compressor).compress(text).compressed,
                             "search:top", lossy=True)  # fmt: skip
        if kind == "diff":
            filtered = filter_diff(text)
            return Candidate(filtered[0], "diff:headers", lossy=True) if filtered else None
        if kind == "html":
            return self._html(text)
        if self._text_compressor is not None and kompress:
            shrunk = self._text_compressor.compress(text, target_ratio)
            if shrunk is not None:
                return Candidate(shrunk, f"text:{self._text_compressor.name}", lossy=True)
        return None

    def _html(self, text: str) -> Candidate | None:
        try:
            extractor = self._engine("html", _html_extractor)
        except ImportError:  # trafilatura missing: HTML passes through
            return None
        extracted = extractor.extract(text).extracted
        if not extracted:
            return None
        title = _TITLE.search(text[:20_000])
        if title is not None:  # the extractor drops <title>, often the page's only name
            name = " ".join(html.unescape(title.group(1)).split())
            if name and name not in extracted[:500]:
                extracted = f"Title: {name}\n\n{extracted}"
        return Candidate(extracted, "html:extract", lossy=True)

    def _engine(self, name: str, build: Callable[[], Any]) -> Any:
        engine = self._built.get(name)
        if engine is None:
            with self._lock:
                engine = self._built.get(name)
                if engine is None:
                    engine = self._built[name] = build()
        return engine


def _signal_lines(text: str, edge: int, label: str) -> Candidate | None:
    filtered = filter_lines(text, head=edge, tail=edge)
    return Candidate(filtered.text, label, lossy=True) if filtered else None


def _size(result: Compressed) -> int:
    return sum(len(c.text) for c in (result.lossless, result.lossy) if c is not None)


def _smaller(original: str, candidate: Candidate | None) -> Candidate | None:
    if candidate is None or not candidate.text.strip():
        return None
    return candidate if len(candidate.text) <= (1 - _MIN_GAIN) * len(original) else None


def _json_crusher(lossless_only: bool) -> Callable[[], Any]:
    def build() -> Any:
        from headroom.config import CCRConfig
        from headroom.transforms.smart_crusher import SmartCrusher, SmartCrusherConfig

        return SmartCrusher(
            config=SmartCrusherConfig(use_feedback_hints=False),
            ccr_config=CCRConfig(enabled=False, inject_retrieval_marker=False),
            with_compaction=lossless_only,
            lossless_only=lossless_only,
        )

    return build


def _search_compressor() -> Any:
    from headroom.transforms.search_compressor import SearchCompressor, SearchCompressorConfig

    return SearchCompressor(SearchCompressorConfig(enable_ccr=False, group_by_file=True))


def _html_extractor() -> Any:
    if importlib.util.find_spec("trafilatura") is None:  # headroom's HTML extra is optional
        raise ImportError("trafilatura is not installed")
    from headroom.transforms.html_extractor import HTMLExtractor

    return HTMLExtractor()
