"""A JSON response that no string can make unencodable.

Strings parsed from `\\ud800`-style escapes may hold lone UTF-16 surrogates, which UTF-8
cannot encode; Starlette's JSONResponse then raises mid-response. Such bodies are written
with ASCII escapes instead, which every JSON reader turns back into the same string.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


def dumps_safe(content: Any) -> bytes:
    """Compact UTF-8 JSON, or ASCII-escaped JSON when the content holds lone surrogates."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps_safe(content)
