"""Keys and fingerprint mappings in the ledger's database (SQLite or PostgreSQL).

The CLI writes here; every gateway replica reads the active set into memory (KeyRing).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from adapters.identity.keys import key_hash, key_id_of, new_key
from adapters.ledger.database import Database
from core.tags import bounded


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    kind: str  # "key" (a gateway key) | "fingerprint" (a mapped provider key)
    user: str
    team: str
    project: str
    created_at: float
    revoked_at: float | None

    def public(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "kind": self.kind, "user": self.user, "team": self.team,
                "project": self.project, "created_at": self.created_at,
                "revoked": self.revoked_at is not None}  # fmt: skip


class KeyStore:
    def __init__(self, database: Database) -> None:
        self.db = database

    def create(self, user: str, team: str = "", project: str = "") -> tuple[str, KeyRecord]:
        """A new key for `user`; the key is returned once and only its hash is kept."""
        if not bounded(user):
            raise ValueError("a key needs a user")
        key = new_key()
        hashed = key_hash(key)
        record = KeyRecord(key_id_of(hashed), "key", bounded(user), bounded(team),
                           bounded(project), time.time(), None)  # fmt: skip
        self._insert(hashed, record)
        return key, record

    def map_fingerprint(self, fp: str, user: str, team: str = "", project: str = "") -> KeyRecord:
        """Name the owner of a bring-your-own provider key by its fingerprint."""
        fp = fp.strip().lower()
        if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
            raise ValueError("a fingerprint is 64 hex characters (keys fingerprint prints one)")
        self.db.execute("DELETE FROM hgw_api_keys WHERE key_hash = :h", {"h": fp})
        record = KeyRecord("f_" + fp[:10], "fingerprint", bounded(user), bounded(team),
                           bounded(project), time.time(), None)  # fmt: skip
        self._insert(fp, record)
        return record

    def _insert(self, hashed: str, r: KeyRecord) -> None:
        self.db.execute(
            "INSERT INTO hgw_api_keys (key_id, key_hash, kind, user_id, team, project, "
            "created_at, revoked_at) VALUES (:key_id, :key_hash, :kind, :user_id, :team, "
            ":project, :created_at, NULL)",
            {"key_id": r.key_id, "key_hash": hashed, "kind": r.kind, "user_id": r.user,
             "team": r.team, "project": r.project, "created_at": r.created_at},
        )  # fmt: skip

    def revoke(self, key_id: str) -> bool:
        return self.db.execute(
            "UPDATE hgw_api_keys SET revoked_at = :now WHERE key_id = :key_id "
            "AND revoked_at IS NULL", {"now": time.time(), "key_id": key_id},
        ) > 0  # fmt: skip

    def records(self) -> list[KeyRecord]:
        rows = self.db.query("SELECT key_id, kind, user_id, team, project, created_at, "
                             "revoked_at FROM hgw_api_keys ORDER BY created_at")  # fmt: skip
        return [_record(r) for r in rows]

    def by_hash(self) -> dict[str, KeyRecord]:
        """hash -> record of every key and mapping, revoked ones included (marked)."""
        rows = self.db.query("SELECT key_hash, key_id, kind, user_id, team, project, created_at,"
                             " revoked_at FROM hgw_api_keys")  # fmt: skip
        return {r["key_hash"]: _record(r) for r in rows}

    def fingerprint_key(self) -> bytes:
        """The per-database fingerprint key, made once, for operators who set none: every
        replica sharing the database agrees on it without extra configuration."""
        rows = self.db.query("SELECT value FROM hgw_meta WHERE name = 'fingerprint_key'")
        if not rows:
            self.db.execute(
                "INSERT INTO hgw_meta (name, value) VALUES ('fingerprint_key', :v) "
                "ON CONFLICT (name) DO NOTHING",
                {"v": secrets.token_hex(32)},
            )
            rows = self.db.query("SELECT value FROM hgw_meta WHERE name = 'fingerprint_key'")
        return bytes.fromhex(rows[0]["value"])


def _record(r: dict[str, Any]) -> KeyRecord:
    return KeyRecord(r["key_id"], r["kind"], r["user_id"], r["team"], r["project"],
                     float(r["created_at"]),
                     None if r["revoked_at"] is None else float(r["revoked_at"]))  # fmt: skip
