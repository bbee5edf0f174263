"""Which items of a JSON array are anomalous, so a sampled array never hides them.

An item is anomalous when, at some field where nearly every item agrees (a pod's `ready`,
its `phase`, its `restartCount`), it holds a different value: the pod that is not ready in a
list of healthy ones. headroom's SmartCrusher means to keep such items; this check proves it
did for each output, and the engines fall back to a lossless form when it did not.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

#: A field is "agreed" when at least this share of the items that have it share one value.
_AGREEMENT = 0.8
_MIN_ITEMS = 5


def anomalous_items(document: Any) -> list[Any]:
    """Items of every array of objects in `document` that break a near-unanimous field."""
    found: list[Any] = []
    for array in _arrays(document):
        leaves = [dict(_leaves(item)) for item in array]
        agreed: dict[str, str] = {}
        for path, (value, count) in _modes(leaves).items():
            have = sum(1 for item in leaves if path in item)
            if have >= _MIN_ITEMS and count >= _AGREEMENT * have and count < have:
                agreed[path] = value
        for item, flat in zip(array, leaves, strict=True):
            if any(path in flat and flat[path] != value for path, value in agreed.items()):
                found.append(item)
    return found


def all_kept(original: Any, compressed_text: str) -> bool:
    """True when every anomalous item of `original` appears whole in `compressed_text`."""
    wanted = anomalous_items(original)
    if not wanted:
        return True
    try:
        shown = {_canonical(item) for item in _objects(json.loads(compressed_text))}
    except ValueError:
        return False
    return all(_canonical(item) in shown for item in wanted)


def _arrays(node: Any) -> list[list[Any]]:
    found: list[list[Any]] = []
    if isinstance(node, list):
        if len(node) >= _MIN_ITEMS and all(isinstance(item, dict) for item in node):
            found.append(node)
        for item in node:
            found += _arrays(item)
    elif isinstance(node, dict):
        for value in node.values():
            found += _arrays(value)
    return found


def _leaves(node: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, f"{prefix}/{k}")]
    if isinstance(node, list):
        if len(node) > 8:  # long inner lists are data, not status fields
            return []
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, f"{prefix}/{i}")]
    return [(prefix, json.dumps(node))]


def _modes(leaves: list[dict[str, str]]) -> dict[str, tuple[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for item in leaves:
        for path, value in item.items():
            counts.setdefault(path, Counter())[value] += 1
    return {path: c.most_common(1)[0] for path, c in counts.items()}


def _objects(node: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for item in node:
            found += _objects(item)
    return found


def _canonical(node: Any) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"))
