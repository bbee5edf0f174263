"""CCR (compress, cache, retrieve): markers for dropped detail and the retrieve tool.

Markers use upstream headroom's `Retrieve original: hash=<hex>` form, so existing clients
(LiteLLM, the TypeScript SDK) recognise and resolve them unchanged.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from core.errors import InvalidRequest

HASH_LENGTH = 24
TOOL_NAME = "headroom_retrieve"
_HASH = re.compile(r"^[0-9a-f]{12,24}$")
_MARKER_HASH = re.compile(r"(?:Retrieve (?:more|original): hash=|<<ccr:)([0-9a-f]{12,24})\b")


def content_hash(original: str) -> str:
    """Content address of an original: lowercase hex, as callers validate."""
    return hashlib.sha256(original.encode()).hexdigest()[:HASH_LENGTH]


def with_marker(compressed: str, key: str, original_chars: int) -> str:
    """The compressed text plus a marker telling the model how to get the rest back."""
    return (
        f"{compressed}\n[headroom: compressed from {original_chars} chars. "
        f"Retrieve original: hash={key}]"
    )


def hashes_in(text: str) -> list[str]:
    return _MARKER_HASH.findall(text)


def is_valid_hash(key: str) -> bool:
    return bool(_HASH.match(key))


def parse_tool_call(body: Any) -> tuple[str, str, str]:
    """(provider, tool_call_id, hash) from a `headroom_retrieve` call in either format."""
    if not isinstance(body, dict) or not isinstance(body.get("tool_call"), dict):
        raise InvalidRequest("body must be an object with a 'tool_call' object")
    call = body["tool_call"]
    provider = body.get("provider", "anthropic")
    if provider not in ("anthropic", "openai"):
        raise InvalidRequest("'provider' must be 'anthropic' or 'openai'")
    if isinstance(call.get("function"), dict):
        name = call["function"].get("name")
        try:
            arguments = json.loads(call["function"].get("arguments") or "{}")
        except (TypeError, ValueError, RecursionError):  # deep nesting exhausts the parser
            raise InvalidRequest("tool_call.function.arguments must be a JSON object") from None
    else:
        name, arguments = call.get("name"), call.get("input")
    if name != TOOL_NAME or not isinstance(arguments, dict):
        raise InvalidRequest(f"not a {TOOL_NAME} call")
    key = arguments.get("hash")
    if not isinstance(key, str) or not is_valid_hash(key):
        raise InvalidRequest("tool_call hash must be 12-24 lowercase hex characters")
    return provider, str(call.get("id", "")), key


def tool_result(provider: str, call_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The retrieval result shaped as the provider expects a tool result."""
    content = json.dumps(data, indent=2)
    if provider == "openai":
        return {"role": "tool", "tool_call_id": call_id, "content": content}
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


_TOOL_DESCRIPTION = (
    "Retrieve the original, uncompressed content behind a marker of the form "
    "'Retrieve original: hash=<hex>' in an earlier tool result. Call it only when the "
    "compressed content lacks a detail you need."
)
_TOOL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "hash": {"type": "string", "description": "the hash from the marker"},
        "query": {"type": "string", "description": "optional: only lines with these words"},
    },
    "required": ["hash"],
}


def retrieve_tool(provider: str) -> dict[str, Any]:
    """The `headroom_retrieve` tool definition in a provider's shape: `anthropic` (Messages),
    `openai` (Chat Completions) or `openai_responses` (Responses). A fresh dict each call,
    always the same content, so a request that declares it keeps a byte-stable prefix."""
    parameters = json.loads(json.dumps(_TOOL_PARAMETERS))
    if provider == "anthropic":
        return {"name": TOOL_NAME, "description": _TOOL_DESCRIPTION, "input_schema": parameters}
    if provider == "openai":
        return {"type": "function", "function": {"name": TOOL_NAME,
                "description": _TOOL_DESCRIPTION, "parameters": parameters}}  # fmt: skip
    if provider == "openai_responses":
        return {"type": "function", "name": TOOL_NAME, "description": _TOOL_DESCRIPTION,
                "parameters": parameters}  # fmt: skip
    raise ValueError(f"unknown provider {provider!r}")


def retrieval_text(key: str, original: str | None, query: str | None = None) -> str:
    """What the model reads back from a `headroom_retrieve` call the proxy answers itself:
    the original (or, with a query, its matching lines), or why there is none."""
    if original is None:
        return f"No original found for hash={key}: it is unknown or has expired."
    if query:
        terms = [t.lower() for t in query.split() if t]
        lines = [line for line in original.splitlines() if any(t in line.lower() for t in terms)]
        if lines:
            return "\n".join(lines)
    return original
