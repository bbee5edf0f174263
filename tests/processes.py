"""Start and stop real gateway processes on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes] | None, log: IO[Any] | None = None, timeout: float = 10.0
) -> None:
    """SIGTERM, then SIGKILL if it lingers; close its log. Safe on a process already gone."""
    if process is not None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout)
                break
            except subprocess.TimeoutExpired:
                continue
    if log is not None:
        log.close()


class Sidecar:
    """`python -m sidecar serve` in its own process, ready when /ready says "ready".

    The environment is this process's minus any HEADROOM_* setting, plus `env`; output goes
    to `<workdir>/sidecar.log` (a temporary directory unless given).
    """

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_after = 0.0
        self._log: IO[bytes] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def start(self, timeout: float = 60.0) -> Sidecar:
        if self.workdir is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="sidecar-")
            self.workdir = Path(self._scratch.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADROOM_")}
        env.update({"HEADROOM_DATA_DIR": str(self.workdir / "data"), "PYTHONUNBUFFERED": "1",
                    "HEADROOM_LOG_LEVEL": "WARNING", "HEADROOM_PORT": str(self.port)})  # fmt: skip
        env.update(self.env)
        self._log = open(self.workdir / "sidecar.log", "ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve", "--port", str(self.port)], cwd=REPO,
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready():
                self.ready_after = time.perf_counter() - started
                return self
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"sidecar :{self.port} not ready after {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        log, self._log = self._log, None
        stop_process(process, log, timeout)

    def log_tail(self, chars: int = 4000) -> str:
        path = (self.workdir or Path("/nonexistent")) / "sidecar.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"sidecar exited ({self.process.returncode}):\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(self.url + "/ready", timeout=2) as response:
                return response.status == 200 and json.loads(response.read())["status"] == "ready"
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return False

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._scratch is not None:
            self._scratch.cleanup()
