"""A real PostgreSQL for the ledger tests, started once per session on a free port.

`HEADROOM_TEST_DATABASE_URL` points the suite at a server that already runs (tests that stop
and restart the server then skip). Without PostgreSQL installed the tests fail loudly:
tests/tools/install.sh (run by `make test`) installs it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.postgres_server import PostgresServer, pg_bindir

DATABASE_ENV = "HEADROOM_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    if os.environ.get(DATABASE_ENV):
        yield None
        return
    if pg_bindir() is None:
        pytest.fail("PostgreSQL is not installed: run tests/tools/install.sh (apt postgresql)")
    server = PostgresServer()
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def database_url(postgres: PostgresServer | None) -> str:
    """A fresh, empty database per test."""
    if postgres is None:
        import psycopg

        base = os.environ[DATABASE_ENV]
        name = f"hgw_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return base.rsplit("/", 1)[0] + "/" + name
    return postgres.create_database(f"hgw_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def postgres_control(postgres: PostgresServer | None) -> Iterator[PostgresServer]:
    """The suite's own server, to stop and restart; running again after the test."""
    if postgres is None:
        pytest.skip(f"{DATABASE_ENV} points at a server this suite cannot stop")
    yield postgres
    if not postgres.running:
        postgres.start()
