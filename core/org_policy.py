"""Central policy: what the operator decides for everyone, and per team, over each request.

The operator's file (YAML in a ConfigMap; read by adapters/policy_file.py) becomes an
`OrgPolicy` here, from plain dicts and lists, so every replica that reads the same bytes
applies the same rules. Resolution is a pure function of (policy, team, request):

- `kill_switch` (for everyone, or for one team) turns compression off: the request passes
  through unchanged (outcome `bypassed`), which is the safe fallback an operator reaches
  for when something looks wrong.
- Where the policy sets a value it wins over the request's own `config` (`mode`,
  `compress_user_messages`, `kompress`); unset values leave the request's choice alone.
- `protected_tools` and `protect_recent` only ever make compression more careful: tools are
  added to the verbatim set, and `protect_recent` is the larger of the two.

A team's section is laid over the default section, field by field.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.service import CompressRequest

T = TypeVar("T")
POLICY_VERSION = 1
MAX_TEAMS = 10_000
MAX_PROTECTED_TOOLS = 256
_TEAM_NAME = re.compile(r"^[A-Za-z0-9_.@:/-]{1,128}$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")
_MODES = ("ccr", "default")
_TOP_KEYS = frozenset({"version", "kill_switch", "default", "teams"})
_RULE_KEYS = frozenset(
    {"mode", "protected_tools", "protect_recent", "compress_user_messages", "kompress",
     "kill_switch"}
)  # fmt: skip


class PolicyError(ValueError):
    """The operator's file says something invalid; the message names where."""


@dataclass(frozen=True)
class Rules:
    """One section of the file (`default` or a team). `None` means "not set here"."""

    mode: str | None = None
    protected_tools: frozenset[str] = frozenset()
    protect_recent: int | None = None
    compress_user_messages: bool | None = None
    kompress: bool | None = None
    kill_switch: bool | None = None

    def over(self, base: Rules) -> Rules:
        """This section laid over `base`: set values win, protected tools add up."""
        return Rules(
            mode=_first(self.mode, base.mode),
            protected_tools=base.protected_tools | self.protected_tools,
            protect_recent=_first(self.protect_recent, base.protect_recent),
            compress_user_messages=_first(self.compress_user_messages, base.compress_user_messages),
            kompress=_first(self.kompress, base.kompress),
            kill_switch=_first(self.kill_switch, base.kill_switch),
        )

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mode": self.mode,
            "protected_tools": sorted(self.protected_tools),
            "protect_recent": self.protect_recent,
            "compress_user_messages": self.compress_user_messages,
            "kompress": self.kompress,
            "kill_switch": self.kill_switch,
        }
        return data


@dataclass(frozen=True)
class OrgPolicy:
    """The whole file: a global kill switch, the default section and per-team sections."""

    kill_switch: bool = False
    default: Rules = Rules()
    teams: Mapping[str, Rules] = field(default_factory=dict)

    def for_team(self, team: str | None) -> Rules:
        """The effective rules of `team` (the default section when it has none)."""
        rules = self.default
        if team and team in self.teams:
            rules = self.teams[team].over(rules)
        if self.kill_switch:
            rules = dataclasses.replace(rules, kill_switch=True)
        return rules

    def as_dict(self) -> dict[str, Any]:
        """Every section resolved, as the operator sees it at /v1/config."""
        return {
            "version": POLICY_VERSION,
            "kill_switch": self.kill_switch,
            "default": self.for_team(None).as_dict(),
            "teams": {name: self.for_team(name).as_dict() for name in sorted(self.teams)},
        }

    @classmethod
    def parse(cls, data: Any) -> OrgPolicy:
        """Validate the file's parsed content; PolicyError says what and where."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise PolicyError("the policy file must be a mapping at the top level")
        _no_unknown(data, _TOP_KEYS, "top level")
        version = data.get("version", POLICY_VERSION)
        if version != POLICY_VERSION:
            raise PolicyError(f"version: only {POLICY_VERSION} is understood, got {version!r}")
        kill = _optional_bool(data, "kill_switch", "top level")
        teams_raw = data.get("teams") or {}
        if not isinstance(teams_raw, dict):
            raise PolicyError("teams: must be a mapping of team name to its policy")
        if len(teams_raw) > MAX_TEAMS:
            raise PolicyError(f"teams: at most {MAX_TEAMS} teams")
        teams: dict[str, Rules] = {}
        for name, section in teams_raw.items():
            if not isinstance(name, str) or not _TEAM_NAME.match(name):
                raise PolicyError(
                    f"teams: {name!r} is not a team name (1-128 of A-Z a-z 0-9 _ . @ : / -)"
                )
            teams[name] = _rules(section, f"teams.{name}")
        return cls(
            kill_switch=bool(kill),
            default=_rules(data.get("default"), "default"),
            teams=teams,
        )


def apply(policy: OrgPolicy, team: str | None, request: CompressRequest) -> CompressRequest:
    """The request as the policy of `team` says it must run."""
    rules = policy.for_team(team)
    if rules.kill_switch:
        return dataclasses.replace(request, bypass=True)
    options = request.options
    changed = dataclasses.replace(
        options,
        ccr=options.ccr if rules.mode is None else rules.mode == "ccr",
        protected_tools=options.protected_tools | rules.protected_tools,
        protect_recent=max(options.protect_recent, rules.protect_recent or 0),
        compress_user_messages=_first(
            rules.compress_user_messages, options.compress_user_messages
        ),  # fmt: skip
        kompress=_first(rules.kompress, options.kompress),
    )
    return request if changed == options else dataclasses.replace(request, options=changed)


def _rules(section: Any, where: str) -> Rules:
    if section is None:
        return Rules()
    if not isinstance(section, dict):
        raise PolicyError(f"{where}: must be a mapping")
    _no_unknown(section, _RULE_KEYS, where)
    mode = section.get("mode")
    if mode is not None and mode not in _MODES:
        raise PolicyError(f"{where}.mode: must be one of {', '.join(_MODES)}, got {mode!r}")
    tools = section.get("protected_tools") or []
    if not isinstance(tools, list) or len(tools) > MAX_PROTECTED_TOOLS:
        raise PolicyError(f"{where}.protected_tools: must be a list of at most "
                          f"{MAX_PROTECTED_TOOLS} tool names")  # fmt: skip
    for tool in tools:
        if not isinstance(tool, str) or not _TOOL_NAME.match(tool):
            raise PolicyError(f"{where}.protected_tools: {tool!r} is not a tool name")
    recent = section.get("protect_recent")
    if recent is not None and (isinstance(recent, bool) or not isinstance(recent, int)
                               or not 0 <= recent <= 10_000):  # fmt: skip
        raise PolicyError(f"{where}.protect_recent: must be an integer from 0 to 10000")
    return Rules(
        mode=mode,
        protected_tools=frozenset(tools),
        protect_recent=recent,
        compress_user_messages=_optional_bool(section, "compress_user_messages", where),
        kompress=_optional_bool(section, "kompress", where),
        kill_switch=_optional_bool(section, "kill_switch", where),
    )


def _optional_bool(section: dict[str, Any], key: str, where: str) -> bool | None:
    value = section.get(key)
    if value is not None and not isinstance(value, bool):
        raise PolicyError(f"{where}.{key}: must be true or false, got {value!r}")
    return value


def _no_unknown(section: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in section if key not in known)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(known))}")  # fmt: skip


def _first(value: T | None, fallback: T) -> T:
    return fallback if value is None else value
