"""Prefix replay: the exact bytes sent last turn, found again from the conversation itself.

Each message gets a key that hashes the whole conversation up to and including it (a hash
chain), scoped by tenant and session. The key of message i therefore says "this exact
history, up to i", whether or not the caller sent a session id, and all keys of a request
are known before any lookup, so a shared store answers them in one round trip.

An entry holds the message exactly as it was returned (serialised JSON text), its token
counts and the CCR hashes it carries. Replayed messages are emitted from that text, so
they are byte-identical by construction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.policy import CompressOptions


@dataclass(frozen=True)
class Entry:
    """One message as it was returned, with what it cost and what it references."""

    message_json: str
    output_digest: str  # hex digest of the returned message's canonical form
    tokens_before: int
    tokens_after: int
    ccr_hashes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    variant: str = ""  # the output-shaping options it was made under (see `variant`)

    def encode(self) -> bytes:
        record = [self.message_json, self.output_digest, self.tokens_before, self.tokens_after,
                  list(self.ccr_hashes), list(self.labels), self.variant]  # fmt: skip
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Entry | None:
        """None for anything unreadable: a corrupt entry only costs a recompression."""
        try:
            message_json, digest, before, after, hashes, labels, *rest = json.loads(raw)
            return cls(message_json, str(digest), int(before), int(after), tuple(hashes),
                       tuple(labels), str(rest[0]) if rest else "")  # fmt: skip
        except (ValueError, TypeError):
            return None


def canonical(message: Any) -> str:
    """The serialisation used for identity (sorted keys) — not the one sent back."""
    return json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(message: Any) -> bytes:
    """Identity of a message: the hash of its canonical form (lone surrogates included)."""
    return hashlib.sha256(canonical(message).encode("utf-8", "surrogatepass")).digest()


def wire(message: Any) -> str:
    """The serialisation sent back to the caller, and so replayed byte for byte. A message
    holding a lone surrogate (no UTF-8 form) is written with ASCII escapes instead."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(message, separators=(",", ":"))
    return text


def variant(options: CompressOptions) -> str:
    """The options, besides the mode, that shape what a rewritten message becomes: an entry
    that rewrote a message under other ones is not replayed ("" for the defaults)."""
    parts = ["user"] if options.compress_user_messages else []
    if options.target_ratio is not None:
        parts.append(f"ratio={options.target_ratio!r}")
    if options.protected_tools:  # the operator's policy (core/org_policy.py)
        names = "\x00".join(sorted(options.protected_tools)).encode("utf-8", "surrogatepass")
        parts.append(f"protect={hashlib.sha256(names).hexdigest()[:16]}")
    if not options.kompress:
        parts.append("kompress=off")
    return "+".join(parts)


def scope_of(tenant: str, session_id: str | None, mode: str = "default") -> bytes:
    """Tenants never share keys; a session id narrows the scope further when given. The mode
    is part of it because it changes the contract (markers or none) of what was sent."""
    key = f"{tenant}\x00{session_id or ''}\x00{mode}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def usable_prefix(
    entries: Sequence[Entry | None],
    digests: Sequence[bytes],
    options: CompressOptions,
) -> int:
    """How many leading entries may be replayed under this request's options. An entry that
    left its message unchanged always may (sending the input is never wrong, and keeps the
    provider's cache). One that rewrote it may only if it was made under the same shaping
    options, and if this request neither freezes (`frozen_message_count`) nor protects
    (`protect_recent`) that position; otherwise the prefix ends and it is decided afresh."""
    protected_from = len(digests) - options.protect_recent
    wanted = variant(options)
    for i, entry in enumerate(entries):
        if entry is None:
            return i
        if entry.output_digest == digests[i].hex():
            continue
        if entry.variant != wanted or not options.frozen_message_count <= i < protected_from:
            return i
    return len(entries)


def chain_keys(scope: bytes, digests: list[bytes]) -> list[str]:
    """One key per message: the hash of the scope and every message digest up to it."""
    keys = []
    state = scope
    for message_digest in digests:
        state = hashlib.sha256(state + message_digest).digest()
        keys.append(state.hex()[:40])
    return keys
