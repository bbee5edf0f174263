"""Composition of the accounting side (keys, identity, ledger) from settings.

Called by bootstrap; kept apart so the composition root stays one screen. Nothing here
touches the database synchronously except one bounded first key load, so a gateway starts
and serves with its database down (rows spool, known keys keep working).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from adapters.identity.keyring import KeyRing
from adapters.identity.resolve import IdentityResolver
from adapters.identity.store import KeyStore
from adapters.ledger.ledger import Ledger, open_database
from adapters.ledger.writer import Pricer, WriterConfig
from adapters.settings import Settings


@dataclass
class Accounting:
    resolver: IdentityResolver
    keyring: KeyRing
    ledger: Ledger | None
    instance: str

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
        self.keyring.close()


def database_url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


def build_accounting(settings: Settings, pricer: Pricer | None = None) -> Accounting:
    assert settings.data_dir is not None
    url = database_url(settings)
    instance = settings.instance_id or socket.gethostname()
    fp_key = settings.fingerprint_key.get_secret_value().encode() if settings.fingerprint_key \
        else None  # fmt: skip
    keyring = KeyRing(KeyStore(open_database(url, settings.data_dir)),
                      settings.keys_refresh_seconds, fp_key)  # fmt: skip
    keyring.refresh()
    keyring.start()
    resolver = IdentityResolver(
        keyring,
        settings.token(),
        settings.identity_headers,
        settings.trusted_networks,
        settings.require_keys,
        settings.admin_token.get_secret_value() if settings.admin_token else None,
    )
    ledger = None
    if settings.ledger:
        config = WriterConfig(
            queue_max=settings.ledger_queue_max,
            batch_size=settings.ledger_batch_size,
            flush_seconds=settings.ledger_flush_seconds,
            retention_days=settings.ledger_retention_days,
        )
        ledger = Ledger.open(url, settings.data_dir, instance, config, pricer)
        ledger.start()
    return Accounting(resolver, keyring, ledger, instance)
