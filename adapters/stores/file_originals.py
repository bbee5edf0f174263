"""The embedded CCR original store: one file per original under the data directory.

Layout `<dir>/<tenant digest>/<hash[:2]>/<hash>`; the tenant is hashed so no header value
can steer a path, and a tenant can only ever open files under its own directory. A file's
mtime is set to its expiry time; reads check it, and `sweep()` (run in the background)
removes expired files nobody reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from adapters.stores.shared import tenant_digest
from core.ccr import is_valid_hash
from core.ports import StoreUnavailable


class FileOriginalStore:
    """Implements core.ports.OriginalStore on the local filesystem (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def put_many(self, tenant: str, items: Mapping[str, str], ttl_seconds: int) -> None:
        try:
            await asyncio.to_thread(self._write, tenant, dict(items), ttl_seconds)
        except OSError as error:
            raise StoreUnavailable(f"cannot write originals: {error.strerror}") from error

    async def get(self, tenant: str, key: str) -> str | None:
        if not is_valid_hash(key):
            return None
        return await asyncio.to_thread(self._read, tenant, key)

    async def ping(self) -> bool:
        return os.access(self._root, os.W_OK) if self._root.exists() else True

    async def aclose(self) -> None:
        return None

    async def sweep(self) -> None:
        """Delete expired originals (and directories left empty), off the event loop."""
        await asyncio.to_thread(self._sweep, time.time())

    def _sweep(self, now: float) -> None:
        if not self._root.is_dir():
            return
        for directory, _, files in os.walk(self._root, topdown=False):
            for name in files:
                if not is_valid_hash(name):  # a write in progress (temporary name)
                    continue
                path = Path(directory, name)
                try:
                    if path.stat().st_mtime <= now:
                        path.unlink()
                except FileNotFoundError:  # read and removed meanwhile
                    continue
            if Path(directory) != self._root:
                with contextlib.suppress(OSError):  # not empty: kept
                    Path(directory).rmdir()

    def _path(self, tenant: str, key: str) -> Path:
        return self._root / tenant_digest(tenant) / key[:2] / key

    def _write(self, tenant: str, items: dict[str, str], ttl_seconds: int) -> None:
        expires = time.time() + ttl_seconds
        for key, original in items.items():
            path = self._path(tenant, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as handle:
                handle.write(original)
            os.utime(handle.name, (expires, expires))
            os.replace(handle.name, path)  # atomic: readers see all of it or nothing

    def _read(self, tenant: str, key: str) -> str | None:
        path = self._path(tenant, key)
        try:
            if path.stat().st_mtime <= time.time():
                path.unlink(missing_ok=True)
                return None
            return path.read_text()
        except FileNotFoundError:
            return None
