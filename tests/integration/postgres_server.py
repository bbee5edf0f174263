"""A real PostgreSQL (Debian's postgresql 15) for ledger tests and benchmarks.

initdb into a temporary directory, served on a free loopback port with a Unix socket in the
same directory, started and stopped with `pg_ctl` (by its pidfile, never by name), and
restartable on the same port for outage tests. PostgreSQL refuses to run as root, so as root
every command runs as the `postgres` user via runuser. Nothing here depends on pytest.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.integration.servers import free_ports, port_open, wait_until


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/N/bin holding initdb, or PATH's."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """Its directory is made here, directly under the system temporary directory: the
    postgres user must be able to reach it, which pytest's per-user 0700 tree forbids."""

    def __init__(self, port: int | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="hgw-pg-"))
        self.port = port or free_ports(1)[0]
        self.data = self.workdir / "data"
        self.bindir = pg_bindir()
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        assert self.bindir is not None, "PostgreSQL is not installed (tests/tools/install.sh)"
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)  # fmt: skip

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "--no-sync")  # fmt: skip

    def start(self, timeout: float = 30.0) -> None:
        self.init()
        options = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=100")  # fmt: skip
        log = str(self.workdir / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w",
                  "-t", str(int(timeout)), "start")  # fmt: skip
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False
        wait_until(lambda: not port_open(self.port), 10, what="postgres port to close")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A fresh database on this server; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
