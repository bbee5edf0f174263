"""What may be compressed, and how hard: per-request options and the per-block decision.

The defaults protect what an agent must see exactly: user and system text, small error
output, and the output of tools whose bytes the agent edits against (Read, Write, Edit, ...).
Large error output loses only its no-signal lines (`Action.ERROR`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.errors import InvalidRequest
from core.messages import Block

#: Tools whose output the agent patches against byte for byte: never rewritten.
VERBATIM_TOOLS = frozenset(
    {"Read", "Write", "Edit", "MultiEdit", "NotebookEdit", "NotebookRead", "view", "read_file",
     "str_replace_based_edit_tool", "headroom_retrieve", "caveman_retrieve"}
)  # fmt: skip
#: Tools whose output is kept recoverable in full: only lossless folds apply, except in ccr
#: mode, where a marker and the stored original keep it recoverable in full anyway.
LOSSLESS_TOOLS = frozenset({"Glob", "Grep", "LS", "WebSearch", "WebFetch"})

_MODES = {
    None: "default",
    "ccr": "ccr",
    "lossy_inline": "default",
    "lossless_then_lossy": "default",
}
_ERROR_START = re.compile(
    r"^\s*(error\b|fatal:|traceback \(most recent call last\)|exception\b|\w+error:|panic:)",
    re.IGNORECASE,
)
#: Error output (flagged `is_error`, or opening like an error) stays verbatim up to this size.
#: Beyond it, it is most often a failing test run or build (Claude Code flags every non-zero
#: exit), and only its no-signal lines may go: see `Action.ERROR`.
ERROR_VERBATIM_MAX_CHARS = 8000
MIN_BLOCK_CHARS = 500


class Action(Enum):
    KEEP = "keep"
    LOSSLESS = "lossless"
    COMPRESS = "compress"
    #: Error output: every error, failure, traceback and warning line stays, plus head and tail.
    ERROR = "error"


@dataclass(frozen=True)
class CompressOptions:
    """The request's `config` object, validated. Unknown keys are ignored, as upstream does."""

    ccr: bool = False
    frozen_message_count: int = 0
    protect_recent: int = 0
    compress_user_messages: bool = False
    target_ratio: float | None = None
    #: Requests smaller than this (whole conversation, in tokens) pass through (seed API).
    min_tokens_to_compress: int = 0
    #: Set by the operator's policy (core/org_policy.py), never by the request body.
    protected_tools: frozenset[str] = frozenset()
    kompress: bool = True

    @classmethod
    def parse(cls, config: Any) -> CompressOptions:
        if config is None:
            return cls()
        if not isinstance(config, dict):
            raise InvalidRequest("'config' must be an object")
        mode = config.get("mode")
        if mode not in _MODES:
            raise InvalidRequest(
                f"Invalid config.mode: {mode!r}. Valid values are: ccr, lossy_inline, "
                "lossless_then_lossy (or omit config.mode for the default marker-free mode)."
            )
        target = config.get("target_ratio")
        if target is not None and (
            isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1
        ):
            raise InvalidRequest("config.target_ratio must be a number in (0, 1]")
        return cls(
            ccr=_MODES[mode] == "ccr",
            frozen_message_count=_count(config, "frozen_message_count"),
            protect_recent=_count(config, "protect_recent"),
            compress_user_messages=_flag(config, "compress_user_messages"),
            target_ratio=float(target) if target is not None else None,
            min_tokens_to_compress=_count(config, "min_tokens_to_compress"),
        )


def decide(block: Block, options: CompressOptions) -> Action:
    """How one block of a message that is being compressed may change."""
    if block.kind == "tool_result":
        if block.tool_name in VERBATIM_TOOLS or block.tool_name in options.protected_tools:
            return Action.KEEP
        if block.is_error or looks_like_error(block.text):
            if len(block.text) <= ERROR_VERBATIM_MAX_CHARS:
                return Action.KEEP
            lossless = block.tool_name in LOSSLESS_TOOLS and not options.ccr
            return Action.LOSSLESS if lossless else Action.ERROR
    elif block.role != "user" or not options.compress_user_messages:
        return Action.KEEP
    if len(block.text) < MIN_BLOCK_CHARS:
        return Action.KEEP
    lossless = block.tool_name in LOSSLESS_TOOLS and not options.ccr
    return Action.LOSSLESS if lossless else Action.COMPRESS


#: Kinds whose lossy form drops whole records the agent may be looking for (grep hits): only
#: allowed where the dropped records stay retrievable, i.e. in ccr mode.
LOSSY_ONLY_WITH_CCR = frozenset({"search"})


def lossy_allowed(kind: str, options: CompressOptions) -> bool:
    return options.ccr or kind not in LOSSY_ONLY_WITH_CCR


def looks_like_error(text: str) -> bool:
    """Opens the way error output opens (for results the caller did not flag)."""
    return bool(_ERROR_START.match(text[:200]))


def _count(config: dict[str, Any], key: str) -> int:
    value = config.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(f"Invalid config.{key}: {value!r}. Expected a non-negative integer.")
    return value


def _flag(config: dict[str, Any], key: str) -> bool:
    value = config.get(key, False)
    if not isinstance(value, bool):
        raise InvalidRequest(f"config.{key} must be true or false")
    return value
