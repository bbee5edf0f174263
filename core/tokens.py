"""Token counts with the model's own tokenizer, per message so replayed counts can be reused."""

from __future__ import annotations

import json
import threading
from typing import Any

#: Messages with more text than this are estimated (chars / 4): exact counting costs ~1 s per
#: 15 MB, CPU a request that is passed through anyway should not hold.
EXACT_MAX_CHARS = 2_000_000


class TokenCounter:
    """Resolves headroom's per-model tokenizer once per model name."""

    def __init__(self, exact_max_chars: int = EXACT_MAX_CHARS) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, Any] = {}
        self._exact_max_chars = exact_max_chars

    def count_message(self, model: str, message: dict[str, Any]) -> int:
        chars = _text_chars(message, self._exact_max_chars)
        if chars > self._exact_max_chars:
            return chars // 4
        tokenizer = self._tokenizer(model)
        try:
            return int(tokenizer.count_messages([message]))
        except UnicodeEncodeError:  # a lone surrogate: count it as the U+FFFD it stands for
            return int(tokenizer.count_messages([_encodable(message)]))
        except (TypeError, AttributeError, KeyError, ValueError):  # a shape it cannot read
            return chars // 4 + 4

    def _tokenizer(self, model: str) -> Any:
        tokenizer = self._by_model.get(model)
        if tokenizer is None:
            from headroom.tokenizers import get_tokenizer

            tokenizer = get_tokenizer(model)
            with self._lock:
                if len(self._by_model) > 64:  # model names come from callers: stay bounded
                    self._by_model.clear()
                self._by_model[model] = tokenizer
        return tokenizer


def _encodable(message: dict[str, Any]) -> Any:
    text = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.loads(text.decode("utf-8", "replace"))


def _text_chars(message: Any, limit: int) -> int:
    """Characters of text in a message (strings only), counted until `limit` is passed."""
    total = 0
    stack = [message]
    while stack and total <= limit:
        node = stack.pop()
        if isinstance(node, str):
            total += len(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return total
