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
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One message as it was returned, with what it cost and what it references."""

    message_json: str
    output_digest: str  # hex digest of the returned message's canonical form
    tokens_before: int
    tokens_after: int
    ccr_hashes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    def encode(self) -> bytes:
        record = [self.message_json, self.output_digest, self.tokens_before, self.tokens_after,
                  list(self.ccr_hashes), list(self.labels)]  # fmt: skip
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Entry | None:
        """None for anything unreadable: a corrupt entry only costs a recompression."""
        try:
            message_json, digest, before, after, hashes, labels = json.loads(raw)
            return cls(message_json, str(digest), int(before), int(after), tuple(hashes),
                       tuple(labels))  # fmt: skip
        except (ValueError, TypeError):
            return None


def canonical(message: Any) -> str:
    """The serialisation used for identity (sorted keys) — not the one sent back."""
    return json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(message: Any) -> bytes:
    """Identity of a message: the hash of its canonical form."""
    return hashlib.sha256(canonical(message).encode()).digest()


def wire(message: Any) -> str:
    """The serialisation sent back to the caller, and so replayed byte for byte."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def scope_of(tenant: str, session_id: str | None, mode: str = "default") -> bytes:
    """Tenants never share keys; a session id narrows the scope further when given. The mode
    is part of it because it changes the contract (markers or none) of what was sent."""
    return hashlib.sha256(f"{tenant}\x00{session_id or ''}\x00{mode}".encode()).digest()


def chain_keys(scope: bytes, digests: list[bytes]) -> list[str]:
    """One key per message: the hash of the scope and every message digest up to it."""
    keys = []
    state = scope
    for message_digest in digests:
        state = hashlib.sha256(state + message_digest).digest()
        keys.append(state.hex()[:40])
    return keys
