"""Start and stop real gateway processes on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Sidecar:
    """`python -m sidecar serve` in its own process; stopped by PID."""

    def __init__(self, env: Mapping[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HEADROOM_PORT": str(self.port), **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after = 0.0

    def start(self, timeout: float = 30.0) -> Sidecar:
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve"], cwd=REPO, env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                raise RuntimeError(f"sidecar exited: {error}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    self.ready_after = time.perf_counter() - self.started_at
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        self.stop()
        raise TimeoutError("sidecar did not become ready")

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
