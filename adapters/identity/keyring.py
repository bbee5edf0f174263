"""The active keys in memory, refreshed from the database by a background thread.

Checking a key costs a hash and a dict lookup, never a database round trip; a revoked key
stops working everywhere within `refresh_seconds`. While the database is down the last
loaded set keeps serving (a gateway does not lock everyone out because PostgreSQL blinked).
"""

from __future__ import annotations

import logging
import threading

from adapters.identity.keys import fingerprint, key_hash
from adapters.identity.store import KeyRecord, KeyStore
from adapters.ledger.database import LedgerUnavailable

log = logging.getLogger(__name__)


class KeyRing:
    def __init__(self, store: KeyStore, refresh_seconds: float = 10.0,
                 fingerprint_key: bytes | None = None) -> None:  # fmt: skip
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.loaded = False
        self._fingerprint_key = fingerprint_key
        self._records: dict[str, KeyRecord] = {}
        self._has_keys = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def has_keys(self) -> bool:
        """Whether a key was ever issued (revoking every key does not open the gateway)."""
        return self._has_keys  # worked out at each refresh, read on every request

    def lookup(self, key: str) -> KeyRecord | None:
        """The active key's record; None for unknown and revoked keys."""
        record = self._records.get(key_hash(key))
        if record is None or record.kind != "key" or record.revoked_at is not None:
            return None
        return record

    def fingerprint(self, provider_key: str) -> str | None:
        """The keyed fingerprint of a provider key, or None before the key is known."""
        if self._fingerprint_key is None:
            return None
        return fingerprint(provider_key, self._fingerprint_key)

    def owner_of_fingerprint(self, fp: str) -> KeyRecord | None:
        record = self._records.get(fp)
        if record is None or record.kind != "fingerprint" or record.revoked_at is not None:
            return None
        return record

    def refresh(self) -> bool:
        try:
            if not self.loaded:  # the tables must exist before the first read
                self.store.db.migrate()
            records = self.store.by_hash()
            if self._fingerprint_key is None:
                self._fingerprint_key = self.store.fingerprint_key()
        except LedgerUnavailable as error:
            log.warning("key refresh failed (%s); keeping %d known keys", error,
                        len(self._records))  # fmt: skip
            return False
        self._records = records
        self._has_keys = any(r.kind == "key" for r in records.values())
        self.loaded = True
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="key-refresh", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.store.db.close()
