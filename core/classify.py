"""Which engine fits a tool output, decided from the text alone in well under a millisecond.

headroom's own router classifies `pytest -v` and cargo output as prose and passes it through
untouched; these cheap structural checks send every test and build log to the log engine.
"""

from __future__ import annotations

import json
import re
from typing import Literal

Kind = Literal["json", "log", "search", "diff", "html", "text"]

_SAMPLE_LINES = 400
#: `path/to/file.ext:123:` (grep -n, ripgrep); a path has a slash or a dot, a timestamp does not
#: start one.
_SEARCH_LINE = re.compile(r"^(?!\d{4}-\d\d-\d\d)[\w@+-]*[/.][^\s:]*:\d+[:-]")
_LOG_LINE = re.compile(
    r"PASSED|FAILED|ERROR|SKIPPED|XFAIL|\.\.\. (ok|FAILED|ignored)|^\s*Compiling |^\s*Running |"
    r"\b(INFO|DEBUG|WARN|WARNING|TRACE|FATAL)\b|^\s*\[\s*\d+|^\d{4}-\d\d-\d\d[T ]\d\d:\d\d|"
    r"^(warning|error)(\[\w+\])?:|^> Task |^npm (ERR|WARN)|^\s*at [\w$.]+\(|^test result:|"
    r"^\s*(CC|CXX|LD|AR|AS)\s{2,}\S|:\d+(:\d+)?: (warning|error|note|fatal error):|"
    r"^make(\[\d+\])?: |^=== (RUN|PAUSE|CONT) |^--- (PASS|FAIL|SKIP): "
)
_HTML_TAG = re.compile(r"<(html|head|body|div|p|a|span|script|style|section|nav|table)\b", re.I)


def classify(text: str) -> Kind:
    """Best-fitting content kind; "text" when nothing structural matches."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and _is_json(stripped):
        return "json"
    head = stripped[:200].lower()
    if head.startswith(("<!doctype html", "<html")) or len(_HTML_TAG.findall(text[:5000])) > 10:
        return "html"
    lines = [line for line in text.splitlines()[:_SAMPLE_LINES] if line.strip()]
    if not lines:
        return "text"
    if any(line.startswith("diff --git") for line in lines) or (
        any(line.startswith("@@ ") for line in lines)
        and any(line.startswith("+++ ") for line in lines)
    ):
        return "diff"
    if sum(1 for line in lines if _SEARCH_LINE.match(line)) >= 0.6 * len(lines):
        return "search"
    if len(lines) >= 10 and sum(1 for line in lines if _LOG_LINE.search(line)) >= 0.3 * len(lines):
        return "log"
    return "text"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
