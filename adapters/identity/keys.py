"""Gateway keys and provider-key fingerprints: how they are made and how they are stored.

A gateway key is `hgw_` + 32 random bytes (URL-safe base64). It is stored as its SHA-256
only: with 256 bits of entropy nothing can be guessed from the hash, so no pepper is needed,
and any replica can check a key against the shared table with no secret of its own. (A
pepper earns its keep for low-entropy secrets such as passwords; these are not.)

A bring-your-own provider key is different: its format is public and the gateway must never
keep anything that could confirm a guess offline, so its fingerprint is an HMAC-SHA256 under
the operator's fingerprint key. The key itself is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "hgw_"
KEY_ID_CHARS = 12


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(hashed: str) -> str:
    """A short public name for a key (list, revoke, ledger rows): the head of its hash."""
    return hashed[:KEY_ID_CHARS]


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX) and 40 <= len(token) <= 64


def fingerprint(provider_key: str, fingerprint_key: bytes) -> str:
    """Keyed fingerprint of a provider key: stable per operator, useless to anyone else."""
    return hmac.new(fingerprint_key, provider_key.encode(), hashlib.sha256).hexdigest()
