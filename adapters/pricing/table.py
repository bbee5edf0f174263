"""The price table from litellm's bundled model price map, overridden by the operator's file.

litellm (a headroom-ai dependency) ships `model_prices_and_context_window_backup.json`, a
maintained per-model price map. We read that file directly: importing litellm is slow and its
default is to fetch a newer map from the network, which the gateway never does.

The operator's file (`HEADROOM_PRICING_FILE`, YAML or JSON) may add or change models and map
names to them; prices there are USD per million tokens:

    models:
      claude-sonnet-4-5: {input: 3, output: 15, cache_read: 0.3, cache_write_5m: 3.75,
                          cache_write_1h: 6}
      acme-llama-70b: {input: 0.6, output: 0.6}
      default: {input: 3, output: 15}       # optional: prices any model not found
    aliases:
      "acme-claude-*": claude-sonnet-4-5    # shell-style patterns or exact names
    replace_shipped: false                  # true: only the models of this file
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.pricing import PriceTable

log = logging.getLogger(__name__)
BUNDLED_NAME = "model_prices_and_context_window_backup.json"


class PricingFileError(ValueError):
    """The operator's pricing file is unreadable or malformed; the gateway refuses to start."""


def bundled_price_map_path() -> Path | None:
    """litellm's bundled price map, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BUNDLED_NAME
        if candidate.is_file():
            return candidate
    return None


def load_price_table(
    pricing_file: Path | None = None, *, shipped: bool = True, price_map: Path | None = None
) -> PriceTable:
    """The shipped prices (unless `shipped` is False) with the operator's file applied.

    `price_map`: litellm's map at this path (the Lambda zip ships a copy and no litellm),
    else the one inside the installed litellm. A missing shipped map is logged and leaves
    only the operator's models; a bad operator file raises PricingFileError, since silently
    wrong prices would mislead chargeback.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # if litellm loads later
    operator = _read_operator_file(pricing_file) if pricing_file else {}
    entries: Mapping[str, Any] = {}
    sources = []
    if shipped and not operator.get("replace_shipped", False):
        if price_map is not None and not price_map.is_file():
            log.warning("price map %s not found; looking in the installed litellm", price_map)
            price_map = None
        path = price_map or bundled_price_map_path()
        if path is None:
            log.warning("litellm's bundled price map was not found; only operator prices apply")
        else:
            entries = _read_price_map(path)
            sources.append(f"litellm:{path.name}")
    if pricing_file:
        sources.append(f"file:{pricing_file}")
    try:
        return PriceTable.from_entries(
            {k: v for k, v in entries.items() if k != "sample_spec"},
            overrides=operator.get("models") or {},
            aliases=operator.get("aliases") or {},
            source=", ".join(sources) or "empty",
        )
    except (ValueError, TypeError) as error:
        raise PricingFileError(f"{', '.join(sources)}: {error}") from error


def _read_price_map(path: Path) -> Mapping[str, Any]:
    """litellm's map: an object of model name -> entry (HEADROOM_PRICE_MAP_FILE may name a
    file that is not one)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PricingFileError(f"price map {path}: {error}") from error
    if not isinstance(data, dict):
        raise PricingFileError(f"price map {path}: expected an object of model prices")
    return data


def _read_operator_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise PricingFileError(f"cannot read pricing file {path}: {error}") from error
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # YAML and JSON raise different types
        raise PricingFileError(f"pricing file {path} does not parse: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PricingFileError(f"pricing file {path}: expected a mapping at the top")
    unknown = set(data) - {"models", "aliases", "replace_shipped"}
    if unknown:
        raise PricingFileError(f"pricing file {path}: unknown keys {sorted(unknown)}")
    for key in ("models", "aliases"):
        if not isinstance(data.get(key) or {}, dict):
            raise PricingFileError(f"pricing file {path}: {key} must be a mapping")
    return data
