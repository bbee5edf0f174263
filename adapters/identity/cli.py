"""`headroom-gateway keys ...`: issue, list and revoke gateway keys; map BYOK fingerprints.

Works against the same database the gateways use (HEADROOM_DATABASE_URL, else the SQLite
file under HEADROOM_DATA_DIR), applying migrations first. A new key is printed once, on
stdout alone so it can be piped into a secret store; nothing else ever shows it again.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from adapters.ledger.database import LedgerUnavailable
from adapters.settings import Settings


def add_keys_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="issue, list and revoke per-user gateway keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="issue a key (printed once)")
    create.add_argument("--user", required=True)
    create.add_argument("--team", default="")
    create.add_argument("--project", default="")
    actions.add_parser("list", help="keys and mappings (never the keys themselves)")
    revoke = actions.add_parser("revoke", help="revoke a key by its key_id")
    revoke.add_argument("key_id")
    actions.add_parser("fingerprint", help="print the fingerprint of a provider key (stdin)")
    mapping = actions.add_parser("map", help="name the owner of a provider-key fingerprint")
    mapping.add_argument("--fingerprint", required=True)
    mapping.add_argument("--user", required=True)
    mapping.add_argument("--team", default="")
    mapping.add_argument("--project", default="")


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.accounting import database_url
    from adapters.identity.keys import fingerprint
    from adapters.identity.store import KeyStore
    from adapters.ledger.ledger import open_database

    assert settings.data_dir is not None
    db = open_database(database_url(settings), settings.data_dir)
    store = KeyStore(db)
    try:
        db.migrate()
        command = args.keys_command
        if command == "create":
            key, record = store.create(args.user, args.team, args.project)
            print(key)
            print(f"key_id {record.key_id} for user {record.user!r}: store the key now, "
                  "it is not shown again", file=sys.stderr)  # fmt: skip
        elif command == "list":
            for record in store.records():
                print(json.dumps(record.public()))
        elif command == "revoke":
            if not store.revoke(args.key_id):
                print(f"no active key {args.key_id!r}", file=sys.stderr)
                return 1
            print(f"revoked {args.key_id}", file=sys.stderr)
        elif command == "fingerprint":
            provider_key = sys.stdin.readline().strip() if not sys.stdin.isatty() else \
                getpass.getpass("provider key: ")  # fmt: skip
            secret = settings.fingerprint_key
            fp_key = secret.get_secret_value().encode() if secret else store.fingerprint_key()
            print(fingerprint(provider_key, fp_key))
        elif command == "map":
            record = store.map_fingerprint(args.fingerprint, args.user, args.team, args.project)
            print(json.dumps(record.public()))
        return 0
    except (LedgerUnavailable, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        db.close()
