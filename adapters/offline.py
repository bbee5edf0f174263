"""Keep headroom and its dependencies off the network at run time.

tiktoken downloads its vocabulary on first use and headroom sends telemetry beacons; both
are switched off here before headroom is imported. Values already set by the operator win.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

OFFLINE_ENV = {
    "HEADROOM_OFFLINE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HEADROOM_BEACON": "off",
    "HEADROOM_TELEMETRY": "off",
    "HEADROOM_TELEMETRY_DISABLED": "1",
    "HEADROOM_UPDATE_CHECK": "0",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_environment() -> None:
    """Set the offline switches and point tiktoken at vocabulary files shipped locally."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    vocabulary = local_tiktoken_cache()
    if vocabulary is not None:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(vocabulary))


def local_tiktoken_cache() -> Path | None:
    """litellm (a headroom-ai dependency) ships the cl100k/o200k vocabularies in tiktoken's
    cache layout; found without importing litellm, which is slow to import."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "litellm_core_utils" / "tokenizers"
        if candidate.is_dir():
            return candidate
    return None
