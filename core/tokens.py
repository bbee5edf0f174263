"""Token counts with the model's own tokenizer, per message so replayed counts can be reused."""

from __future__ import annotations

import json
import threading
from typing import Any


class TokenCounter:
    """Resolves headroom's per-model tokenizer once per model name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_model: dict[str, Any] = {}

    def count_message(self, model: str, message: dict[str, Any]) -> int:
        tokenizer = self._tokenizer(model)
        try:
            return int(tokenizer.count_messages([message]))
        except UnicodeEncodeError:  # a lone surrogate: count it as the U+FFFD it stands for
            return int(tokenizer.count_messages([_encodable(message)]))

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
