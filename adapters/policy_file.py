"""The operator's policy file (HEADROOM_POLICY_FILE): read, validate, watch, reload.

Kubernetes updates a mounted ConfigMap by swapping a symlink (`..data`), so the file's own
mtime is not a reliable signal: every poll reads the bytes and compares their SHA-256. A
file that does not parse or validate is refused with one clear log line and a metric, and
the last good policy stays in force; at startup there is no last good policy, so a bad file
stops the process (a replica that ignored the operator's kill switch would be worse).

Every replica reading the same bytes computes the same policy and the same hash; the hash
is shown at /v1/config and as `headroom_policy_info{hash}` so operators can compare them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge

from core.org_policy import OrgPolicy, PolicyError

log = logging.getLogger(__name__)
MAX_POLICY_BYTES = 1 * 2**20


@dataclass(frozen=True)
class Loaded:
    """A policy in force, with where it came from."""

    policy: OrgPolicy
    digest: str
    loaded_at: float


def parse_policy(raw: bytes) -> OrgPolicy:
    """Bytes of YAML (or JSON, a subset) to a validated policy; PolicyError otherwise."""
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"the file is larger than {MAX_POLICY_BYTES} bytes")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise PolicyError(f"not valid YAML{where}: {problem}") from None
    return OrgPolicy.parse(data)


class PolicyMetrics:
    """`headroom_policy_*`: reloads, refusals, and which version is in force."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reloads = Counter("headroom_policy_reloads", "Policy files loaded and applied.",
                               registry=registry)  # fmt: skip
        self.errors = Counter("headroom_policy_reload_errors",
                              "Policy files refused (unreadable or invalid); the last good "
                              "policy stayed in force.", registry=registry)  # fmt: skip
        self.ok = Gauge(
            "headroom_policy_last_reload_ok",
            "1 when the file on disk is the policy in force.",
            registry=registry,
        )
        self.info = Gauge("headroom_policy_info", "The policy in force, by content hash.",
                          ["hash"], registry=registry)  # fmt: skip

    def applied(self, digest: str) -> None:
        self.reloads.inc()
        self.ok.set(1)
        self.info.clear()
        self.info.labels(digest[:16]).set(1)


class PolicyFile:
    """The policy in force, reloaded from `path` when its content changes."""

    def __init__(
        self,
        path: Path | None,
        registry: CollectorRegistry,
        poll_seconds: float = 1.0,
    ) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self.metrics = PolicyMetrics(registry)
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.checked_at: float | None = None
        self._refused: tuple[str, str | None] | None = None
        self._loaded = Loaded(OrgPolicy(), "", time.time())

    @property
    def policy(self) -> OrgPolicy:
        return self._loaded.policy

    def load_initial(self) -> None:
        """Load the file before serving; raises PolicyError (with the path) if it is bad."""
        if self.path is None:
            return
        if not self.reload():
            raise PolicyError(f"{self.path}: {self.last_error}")

    def reload(self) -> bool:
        """Read the file; apply it if it changed and is valid. False if it was refused."""
        assert self.path is not None
        self.checked_at = time.time()
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            return self._refuse(f"cannot read the file: {error.strerror or error}")
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self._loaded.digest:
            self._recovered()
            return True
        try:
            policy = parse_policy(raw)
        except PolicyError as error:
            return self._refuse(str(error), digest)
        self._loaded = Loaded(policy, digest, time.time())
        self._recovered()
        self.metrics.applied(digest)
        log.info("policy %s loaded from %s (%d teams, kill switch %s)", digest[:16],
                 self.path, len(policy.teams), "on" if policy.kill_switch else "off")  # fmt: skip
        return True

    async def watch(self) -> None:
        """Poll until cancelled (a lifespan task); reading is off the event loop."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await asyncio.to_thread(self.reload)
            except Exception as error:  # the watcher must outlive any surprise
                log.error("policy reload failed: %s", type(error).__name__)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Run `watch()` for the duration of the block (the app's lifespan)."""
        if self.path is None:
            yield
            return
        task = asyncio.create_task(self.watch(), name="policy-watch")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def describe(self) -> dict[str, Any]:
        """What /v1/config shows the operator."""
        loaded = self._loaded
        return {
            "source": str(self.path) if self.path else None,
            "hash": loaded.digest or None,
            "loaded_at": loaded.loaded_at if loaded.digest else None,
            "checked_at": self.checked_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "policy": loaded.policy.as_dict(),
        }

    def _refuse(self, message: str, digest: str | None = None) -> bool:
        self.metrics.ok.set(0)
        if self._refused != (message, digest):  # once per bad version, not once per poll
            self._refused = (message, digest)
            self.metrics.errors.inc()
            log.error("policy file %s refused, keeping policy %s: %s", self.path,
                      self._loaded.digest[:16] or "(none)", message)  # fmt: skip
        # last: whoever sees the error in /v1/config also sees it counted and logged
        self.last_error, self.last_error_at = message, time.time()
        return False

    def _recovered(self) -> None:
        self.last_error, self._refused = None, None
        self.metrics.ok.set(1)
