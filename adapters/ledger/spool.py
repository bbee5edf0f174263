"""Append-only spool files: where ledger rows wait while the database is down.

Rows are JSON lines, appended under a lock (the request path may append when the queue is
full, so an append is one short write, never a wait on the database). Replay claims a file
by renaming it (atomic, to a name never used before), inserts it in batches, and deletes it
only once every batch is in; a failed replay leaves the claimed file for the next attempt,
and inserts are idempotent by row id, so a retried batch never counts twice. Files of a
process that died are adopted.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from adapters.ledger.row import UsageRow

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.pid = os.getpid()
        safe = "".join(c if c.isalnum() else "_" for c in name)[:64] or "gateway"
        self.path = directory / f"spool-{safe}-{self.pid}.jsonl"
        self._lock = threading.Lock()

    def append(self, rows: Sequence[UsageRow], sync: bool = True) -> None:
        """Append rows; `sync` also waits for the disk (the writer thread does, the request
        path, spilling one row from a full queue, does not)."""
        if not rows:
            return
        data = "".join(row.to_json() + "\n" for row in rows)
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as spool:
                spool.write(data)
                spool.flush()
                if sync:
                    os.fsync(spool.fileno())

    def pending(self) -> bool:
        return any(True for _ in self._claimable()) or any(self._claimed())

    def replay(self, insert: Callable[[Sequence[UsageRow]], None], batch_size: int) -> int:
        """Insert every spooled row; the count replayed. Raises what `insert` raises."""
        with self._lock:
            for path in self._claimable():
                # a unique name: a claimed file that failed to replay is still there
                claimed = path.with_name(f"{path.stem}.{time.time_ns()}.{self.pid}.replay")
                try:
                    path.rename(claimed)
                except FileNotFoundError:  # another process claimed it first
                    continue
        replayed = 0
        for path in sorted(self._claimed()):
            for batch in _batches(path, batch_size):
                insert(batch)
                replayed += len(batch)
            path.unlink()
        return replayed

    def _claimable(self) -> Iterator[Path]:
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("spool-*.jsonl"):
            pid = path.stem.rsplit("-", 1)[-1]
            if path == self.path or not (pid.isdigit() and _alive(int(pid))):
                yield path

    def _claimed(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.glob("spool-*.replay")
                if p.suffixes[-2:-1] == [f".{self.pid}"] or not _alive(_pid_of(p))]  # fmt: skip


def _batches(path: Path, size: int) -> Iterator[list[UsageRow]]:
    batch: list[UsageRow] = []
    with open(path, encoding="utf-8") as spool:
        for line in spool:
            try:
                batch.append(UsageRow.from_json(line))
            except (ValueError, TypeError):  # a line torn by a crash mid-append
                log.warning("skipping an unreadable ledger spool line in %s", path.name)
                continue
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _pid_of(path: Path) -> int:
    suffix = path.suffixes[-2] if len(path.suffixes) >= 2 else ""
    return int(suffix[1:]) if suffix[1:].isdigit() else 0


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
