"""Request bodies read strictly, keeping the exact text of each message as it was sent.

Strict, so that what goes in is JSON any client can read back: UTF-8 only, no `NaN` or
`Infinity` literal, no number that only a float's infinity can hold, nesting at most
`MAX_DEPTH` deep (deeper trees would exhaust the interpreter's recursion later, in a copy or
an encoder, and come out as a 500). Exact, so that messages the gateway leaves alone go back
byte for byte: the text of each element of the top-level `messages` array is recorded while
parsing (json's own scanner, one pass), and `1e9` or `\\u00e9` come back as they were written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidRequest

#: Deepest nesting accepted anywhere in a body (objects and arrays); agents send under 20.
MAX_DEPTH = 128
_WS = re.compile(r"[ \t\n\r]*")
#: json's own string scanner (C where available); typeshed does not declare it.
_scanstring: Any = getattr(json.decoder, "scanstring")


@dataclass(frozen=True)
class Body:
    """A parsed JSON object body and, when it has a `messages` array, each element's text."""

    value: dict[str, Any]
    message_texts: tuple[str, ...] | None = None


def parse_object(raw: bytes) -> Body:
    """The body as a JSON object, or InvalidRequest saying why not (never another error)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("Request body is not valid UTF-8 JSON.") from None
    try:
        value, texts = _scan(text)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, StopIteration) as error:  # JSONDecodeError is a ValueError
        raise InvalidRequest(f"Invalid JSON in request body: {_reason(error)}") from None
    if not isinstance(value, dict):
        raise InvalidRequest("Request body must be a JSON object.")
    if _deeper_than(value, MAX_DEPTH):
        raise _too_deep()
    return Body(value, texts)


def _too_deep() -> InvalidRequest:
    return InvalidRequest(f"Request body nests deeper than {MAX_DEPTH} levels.")


def _reason(error: BaseException) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at position {error.pos}"
    if isinstance(error, StopIteration):  # the scanner found no value where one must be
        return f"expected a value at position {error.value}"
    return str(error)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise ValueError("number out of range of a 64-bit float")
    return value


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _scan(text: str) -> tuple[Any, tuple[str, ...] | None]:
    """Parse `text`; for a top-level object, also the exact text of `messages` elements."""
    decoder = _decoder()
    i = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if text[i : i + 1] != "{":
        return decoder.decode(text), None
    scan: Any = getattr(decoder, "scan_once")  # undeclared in typeshed
    body: dict[str, Any] = {}
    texts: tuple[str, ...] | None = None
    i = _skip(text, i + 1)
    if text[i : i + 1] == "}":
        return _end(text, i + 1, body), None
    while True:
        if text[i : i + 1] != '"':
            raise ValueError(f"expected a property name at position {i}")
        key, i = _scanstring(text, i + 1)
        i = _skip(text, i)
        if text[i : i + 1] != ":":
            raise ValueError(f"expected ':' at position {i}")
        i = _skip(text, i + 1)
        if key == "messages" and text[i : i + 1] == "[":
            body[key], texts, i = _array(text, i, scan)
        else:
            body[key], i = scan(text, i)
            if key == "messages":
                texts = None
        i = _skip(text, i)
        if text[i : i + 1] == "}":
            return _end(text, i + 1, body), texts
        if text[i : i + 1] != ",":
            raise ValueError(f"expected ',' or '}}' at position {i}")
        i = _skip(text, i + 1)


def _array(text: str, i: int, scan: Any) -> tuple[list[Any], tuple[str, ...], int]:
    """The array starting at `text[i] == '['`, its elements' texts, and the index after it."""
    items: list[Any] = []
    texts: list[str] = []
    i = _skip(text, i + 1)
    if text[i : i + 1] == "]":
        return items, (), i + 1
    while True:
        item, end = scan(text, i)
        items.append(item)
        texts.append(text[i:end])
        i = _skip(text, end)
        if text[i : i + 1] == "]":
            return items, tuple(texts), i + 1
        if text[i : i + 1] != ",":
            raise ValueError(f"expected ',' or ']' at position {i}")
        i = _skip(text, i + 1)


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]


def _end(text: str, i: int, body: dict[str, Any]) -> dict[str, Any]:
    if _skip(text, i) != len(text):
        raise ValueError(f"extra data at position {i}")
    return body


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` deep; iterative, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
