"""Messages the gateway leaves alone go back exactly as they came: the caller's own bytes.

Re-serialising a parsed message changes its spelling (`1e9` becomes `1000000000.0`, `\\u00e9`
becomes `é`, big integers with a fraction lose digits), which both breaks "unchanged" and, for
a provider's prompt cache, is a change. So the adapter hands the core each message's exact
text, and any message that was not rewritten (passed through, bypassed, failed open, or
replayed as unchanged) is answered with that text. Only rewritten messages are serialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import replay


def passthrough(messages: Sequence[Any], raw: Sequence[str] | None) -> list[str]:
    """The whole input as sent (or, without the raw texts, serialised surrogate-safely)."""
    if raw is not None and len(raw) == len(messages):
        return list(raw)
    return [replay.wire(m) for m in messages]


def texts(
    entries: Sequence[replay.Entry],
    digests: Sequence[bytes],
    messages: Sequence[Any],
    raw: Sequence[str] | None,
) -> list[str]:
    """The text of each answered message: the input's own for unchanged ones (an entry whose
    output is its input), the entry's recorded bytes for rewritten ones."""
    exact = raw is not None and len(raw) == len(messages)
    answered = []
    for i, entry in enumerate(entries):
        if entry.output_digest == digests[i].hex():
            answered.append(raw[i] if exact and raw is not None else replay.wire(messages[i]))
        else:
            answered.append(entry.message_json)
    return answered


def compressible(text: str, max_chars: int) -> bool:
    """Whether an engine may see `text`: small enough that its cost is bounded, and encodable
    (a lone surrogate has no UTF-8 form, so no engine or hash can read it: kept as is)."""
    if len(text) > max_chars:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
